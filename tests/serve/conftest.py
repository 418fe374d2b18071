"""Fixtures for the serve tests: a root with a finished run, an app and its client on 127.0.0.1."""

import asyncio
import shutil
import warnings
from pathlib import Path
from urllib.parse import unquote

import pytest

pytest.importorskip("starlette")
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from starlette.testclient import TestClient  # noqa: E402

from zenlearn.serve.app import create_app  # noqa: E402

FIXTURE_RUN = Path(__file__).parents[1] / "fixtures" / "run-v0.1-logreg-mnist1d"
TOKEN = "test-token"
ORIGIN = "http://127.0.0.1:8765"


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    shutil.copytree(FIXTURE_RUN, root / "old")
    return root


@pytest.fixture
def client(root):
    with TestClient(create_app(root, token=TOKEN), base_url=ORIGIN) as c:
        yield c


@pytest.fixture
def post():
    return _post


@pytest.fixture
def raw_get():
    return _raw_get


def _post(client, url, json=None, **headers):
    """A same-origin POST with the token, as the pages send it (header overrides given as keywords)."""
    h = {"origin": ORIGIN, "x-zenlearn-token": TOKEN, **headers}
    return client.post(url, json=json, headers={k: v for k, v in h.items() if v is not None})


def _raw_get(app, raw_path: str, host: str = "127.0.0.1:8765") -> int:
    """The status of a GET whose path reaches the server exactly as written (no client-side normalising)."""
    path, _, query = raw_path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": unquote(path), "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", host.encode())], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8765)}
    status = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    asyncio.run(app(scope, receive, send))
    return status[0]
