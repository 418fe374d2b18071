"""The one middleware that keeps `zenlearn serve` local: Host allowlist, same-origin + token on every request
that changes something, files confined to the root, no cross-origin sharing, a strict content policy.

- **Host.** A request whose `Host` is not one the server answers to (127.0.0.1, localhost, ::1, or the
  `--host` it was given) is refused with 403: a DNS-rebinding page cannot reach the API under another name.
- **Changes** (any method but GET / HEAD): the `Origin` header must be this server's own origin and the
  request must carry the per-launch token, as the `X-Zenlearn-Token` header or the `zenlearn_token` cookie
  (set, SameSite=Strict, when a page is opened with `?token=…` — the URL printed at start, as Jupyter does).
  Otherwise 403. Its body must declare its length (`Content-Length`, else 411) and hold at most `MAX_BODY`
  bytes (else 413): an upload cannot fill the server's memory.
- **Files** (`/files/PATH`): PATH is decoded once by the server; `..`, absolute paths, NUL, backslashes and
  symlinks that leave the root all end outside it and get 404, as does anything that is not a file.
- No `Access-Control-Allow-Origin` header is ever sent; pages get a content security policy that allows
  only this origin (no outside URL can load), and files are served sandboxed.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import parse_qs

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_HEADER = "x-zenlearn-token"
TOKEN_COOKIE = "zenlearn_token"
SAFE_METHODS = ("GET", "HEAD")
MAX_BODY = 16 * 2**20
"""The largest request body accepted (an uploaded image, a form): 16 MiB."""
FILES = "/files/"
"""Where the root's files are served: `/files/RELATIVE/PATH`."""
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
FILE_POLICY = "sandbox; default-src 'self' data: 'unsafe-inline'; frame-ancestors 'self'"

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def new_token() -> str:
    """A fresh per-launch token (URL-safe, 128 bits)."""
    return secrets.token_urlsafe(16)


def inside(root: Path, rel: str) -> Path | None:
    """The existing path `rel` names inside `root`, resolved (symlinks followed), or None when it leaves `root`,
    is absolute, holds a NUL or a backslash, or does not exist: the one confinement check of the server."""
    if not rel or "\x00" in rel or "\\" in rel or rel.startswith("/"):
        return None
    root = root.resolve()
    try:
        path = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return path if path.is_relative_to(root) else None


def confine(root: Path, rel: str) -> Path | None:
    """The file `rel` names inside `root`, or None if it is outside (after symlinks) or not a file.

    Example:
        >>> confine(Path(run_dir), "config.yaml").name, confine(Path(run_dir), "../run/config.yaml").name
        ('config.yaml', 'config.yaml')
        >>> confine(Path(run_dir), "../photos/cats/0.png"), confine(Path(run_dir), "/etc/passwd")
        (None, None)
    """
    path = inside(root, rel)
    return path if path is not None and path.is_file() else None


def _hostname(host: str) -> str:
    if host.startswith("["):  # [::1]:8765
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware: the checks of this module's docstring, in front of every route.

    Args:
        app: The application.
        root: The folder `/files/` serves from.
        token: The per-launch token.
        hosts: Host names the server answers to. Defaults to `LOCAL_HOSTS`.
        max_body: The largest request body, in bytes. Defaults to `MAX_BODY`.
    """

    def __init__(self, app: ASGIApp, *, root: str | Path, token: str, hosts: Iterable[str] = LOCAL_HOSTS,
                 max_body: int = MAX_BODY) -> None:
        self.app, self.root, self.token, self.max_body = app, Path(root), token, max_body
        self.hosts = {h.lower() for h in hosts}

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if _hostname(host).lower() not in self.hosts:
            await _refuse(send, 403, "unknown Host header; open the URL that `zenlearn serve` printed")
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [None])[0]
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            scheme = scope.get("scheme", "http")
            if origin != f"{scheme}://{host}":
                await _refuse(send, 403, "cross-origin request refused")
                return
            sent = headers.get(TOKEN_HEADER) or _cookie(headers.get("cookie", ""), TOKEN_COOKIE) or ""
            if not hmac.compare_digest(sent.encode(), self.token.encode()):
                await _refuse(send, 403, "missing or wrong token; open the URL that `zenlearn serve` printed")
                return
            length = headers.get("content-length")
            if length is None and "transfer-encoding" in headers:
                await _refuse(send, 411, "send the body with a Content-Length")
                return
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                await _refuse(send, 413, f"the request body is over {self.max_body // 2**20} MiB; send a smaller file")
                return
        files = scope["path"].startswith(FILES)
        if files and confine(self.root, scope["path"][len(FILES):]) is None:
            await _refuse(send, 404, "not found")
            return
        set_cookie = given is not None and hmac.compare_digest(given.encode(), self.token.encode())

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"access-control-allow-origin"]
                out += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                        (b"content-security-policy", (FILE_POLICY if files else PAGE_POLICY).encode())]
                if set_cookie:
                    out.append((b"set-cookie", f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                                .encode()))
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


async def _refuse(send: Callable, status: int, message: str) -> None:
    body = message.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
