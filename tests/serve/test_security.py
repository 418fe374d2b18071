"""Safe by default, request by request: Host allowlist, same-origin + token on changes, files confined to ROOT,
no cross-origin sharing, no outside URL in any served page."""

import asyncio
import re
import sys
from pathlib import Path

import pytest

from zenlearn.serve import app as app_mod
from zenlearn.serve.app import STATIC, create_app
from zenlearn.serve.security import MAX_BODY

ORIGIN, TOKEN = "http://127.0.0.1:8765", "test-token"  # as in conftest.py


@pytest.mark.parametrize("host,status", [("127.0.0.1:8765", 200), ("localhost:8765", 200), ("[::1]:8765", 200),
                                         ("evil.example:8765", 403), ("127.0.0.1.evil.example", 403), ("", 403)])
def test_host_allowlist(client, host, status):
    assert client.get("/api/runs", headers={"host": host}).status_code == status


@pytest.mark.parametrize("headers", [{"origin": "http://evil.example"}, {"origin": None}, {"origin": "null"},
                                     {"origin": "http://127.0.0.1:9999"}, {"x-zenlearn-token": None},
                                     {"x-zenlearn-token": "wrong"}],
                         ids=["cross-origin", "no-origin", "null-origin", "other-port", "no-token", "wrong-token"])
@pytest.mark.parametrize("url", ["/api/launch", "/api/stop", "/api/resume"])
def test_changes_need_same_origin_and_token(client, root, post, url, headers):
    r = post(client, url, {"config": {"data": "mnist1d"}, "path": "old"}, **headers)
    assert r.status_code == 403
    assert sorted(p.name for p in root.iterdir()) == ["old"]  # nothing launched


def test_token_cookie_from_the_printed_url(client, post):
    assert post(client, "/api/stop", {"path": "old"}, **{"x-zenlearn-token": None}).status_code == 403
    r = client.get(f"/?token={TOKEN}")
    assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
    r = post(client, "/api/stop", {"path": "old"}, **{"x-zenlearn-token": None})  # the cookie carries it now
    assert r.status_code == 400 and "neither queued nor running" in r.json()["error"]
    assert "set-cookie" not in client.get("/?token=wrong").headers


def test_no_cross_origin_sharing(client, post):
    for r in (client.get("/api/runs", headers={"origin": "http://evil.example"}),
              client.options("/api/launch", headers={"origin": "http://evil.example",
                                                     "access-control-request-method": "POST"}),
              post(client, "/api/stop", {"path": "old"}, origin="http://evil.example")):
        assert not any(k.lower().startswith("access-control-") for k in r.headers)


@pytest.mark.parametrize("headers, status", [({"content-length": str(MAX_BODY + 1)}, 413), ({"content-length": "9x"}, 413),
                                             ({"transfer-encoding": "chunked"}, 411)],
                         ids=["too-large", "bad-length", "no-length"])
def test_request_bodies_are_bounded(root, headers, status):
    """A change's body must say its length and stay under MAX_BODY: refused before the app reads a byte."""
    app, read, sent = create_app(root, token=TOKEN), [], []
    h = {"host": "127.0.0.1:8765", "origin": ORIGIN, "x-zenlearn-token": TOKEN, **headers}
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/lab/upload", "raw_path": b"/api/lab/upload", "query_string": b"", "root_path": "",
             "headers": [(k.encode(), v.encode()) for k, v in h.items()], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8765)}

    async def receive():
        read.append(1)
        return {"type": "http.request", "body": b"x", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == status and not read


@pytest.fixture
def outside(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    return secret


TRAVERSALS = ["/files/../secret.txt", "/files/old/../../secret.txt", "/files/%2e%2e/secret.txt",
              "/files/%2E%2E%2Fsecret.txt", "/files/old/..%2f..%2fsecret.txt", "/files/%252e%252e/secret.txt",
              "/files/..%5csecret.txt", "/files//etc/passwd", "/files/%2Fetc%2Fpasswd", "/files/old/%00",
              "/files/link-out/secret.txt", "/files/file-link", "/files/old", "/files/", "/files/missing.txt"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_files_confined_to_root(root, outside, raw_get, path):
    (root / "link-out").symlink_to(outside.parent, target_is_directory=True)  # a folder link leaving ROOT
    (root / "file-link").symlink_to(outside)
    app = create_app(root, token=TOKEN)
    assert raw_get(app, path) == 404


def test_files_inside_root_are_served(client, root):
    (root / "old" / "link-in.csv").symlink_to(root / "old" / "metrics.csv")  # a link that stays inside is fine
    for name in ("metrics.csv", "link-in.csv"):
        r = client.get(f"/files/old/{name}")
        assert r.status_code == 200 and r.text == (root / "old" / "metrics.csv").read_text()
        assert "sandbox" in r.headers["content-security-policy"]


def test_no_outside_url_in_served_pages(client):
    """Every page and every static file they load: no http(s):// reference that is not the app itself."""
    pages = ["/", "/run?path=old", "/launch", "/compare?runs=old,old", "/lab/augment", "/lab/activations"]
    served = {p: client.get(p) for p in pages}
    served.update({f"/static/{f.relative_to(STATIC).as_posix()}": client.get(f"/static/{f.relative_to(STATIC).as_posix()}")
                   for f in STATIC.rglob("*") if f.is_file() and not f.name.endswith("LICENSE")})
    assert len(served) >= 12
    for url, r in served.items():
        assert r.status_code == 200, url
        text = re.sub(r"/\*.*?\*/|<!--.*?-->", "", r.text, flags=re.S)  # comments are not references
        text = re.sub(r"(?m)^\s*//.*$", "", text)
        urls = [u for u in re.findall(r"https?://[^\s\"'<>)`]*", text, flags=re.I) if not u.startswith(ORIGIN)]
        assert not urls, (url, urls)
    for p in pages:
        assert "default-src 'self'" in served[p].headers["content-security-policy"]
        srcs = re.findall(r'(?:src|href)="([^"]+)"', served[p].text)
        assert srcs and all(s.startswith(("/", "data:")) for s in srcs), srcs  # this origin, or inline


def test_binding_elsewhere_warns(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setitem(sys.modules, "uvicorn", type(sys)("uvicorn"))
    sys.modules["uvicorn"].run = lambda app, **kw: calls.append(kw)
    app_mod.serve(tmp_path / "r", host="0.0.0.0", port=9999)
    out, err = capsys.readouterr()
    assert "warning: serving on 0.0.0.0" in err and calls == [{"host": "0.0.0.0", "port": 9999, "log_level": "warning"}]
    assert re.search(r"http://127\.0\.0\.1:9999/\?token=[\w-]{20,}", out)
    app_mod.serve(tmp_path / "r")
    out, err = capsys.readouterr()
    assert err == "" and calls[-1]["host"] == "127.0.0.1" and ":8765/?token=" in out
    assert Path(tmp_path / "r").is_dir()
