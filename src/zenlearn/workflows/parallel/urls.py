"""Storage URLs as text: the password they may hold, masked (`***`) in anything printed or written, and the
database driver they name."""

from __future__ import annotations


def password(url: str) -> str | None:
    """The password in a storage URL, if it holds one."""
    try:
        from sqlalchemy.engine import make_url

        pw = make_url(url).password
    except Exception:  # noqa: BLE001 - an unparsable URL is reported by open_storage
        return None
    return str(pw) if pw else None


def mask(url: str) -> str:
    """The URL with its password replaced by `***`, for anything printed or written.

    Example:
        >>> mask("postgresql://me:secret@db.lan:5432/tune")
        'postgresql://me:***@db.lan:5432/tune'
    """
    for pw in _forms(url):
        url = url.replace(f":{pw}@", ":***@")
    return url


def scrub(text: str, url: str) -> str:
    """`text` (an error message, a log line) with the URL's password masked wherever it appears."""
    for pw in _forms(url):
        text = text.replace(pw, "***")
    return text


def _forms(url: str) -> list[str]:
    """The password as written in the URL (percent-encoded) and as sent, longest first."""
    pw = password(url)
    if not pw:
        return []
    from urllib.parse import quote

    return sorted({pw, quote(pw, safe="")}, key=len, reverse=True)


def with_driver(url: str) -> str:
    """`postgresql://` pinned to the installed driver (SQLAlchemy 2.0 defaults to psycopg2, 2.1 to psycopg 3).

    Example:
        >>> with_driver("sqlite:///x.db")
        'sqlite:///x.db'
    """
    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return url
    import importlib.util

    driver = "psycopg" if importlib.util.find_spec("psycopg") else "psycopg2"
    return f"postgresql+{driver}{sep}{rest}"
