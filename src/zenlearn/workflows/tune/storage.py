"""Where a study lives: an Optuna RDB storage URL (SQLite by default, PostgreSQL to share it between
machines), opened with heartbeats so that a killed worker's trial is failed and retried.

A URL may carry a password (`postgresql://user:secret@host/db`); it is only ever shown masked (`***`).
Keep it off the command line with libpq's `PGPASSWORD` or `~/.pgpass` (`postgresql://user@host/db`), or
put the whole URL in `$ZENLEARN_STORAGE`.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Any

from zenlearn.errors import UsageError
from zenlearn.io.rundir import STUDY_DB

STORAGE_ENV = "ZENLEARN_STORAGE"
"""The storage URL when `--storage` is not given (keeps a password out of the command line and shell history)."""
DB_FILE = STUDY_DB
HEARTBEAT_SECONDS = int(os.environ.get("ZENLEARN_HEARTBEAT", "5"))
"""How often a running trial tells the storage it is alive; it is failed and retried after 3 missed beats."""


def default_storage(out: str | Path, file: str = DB_FILE) -> str:
    """A SQLite file in the output folder: `sqlite:///OUT/study.db` (absolute, so any folder can open it)."""
    return f"sqlite:///{(Path(out) / file).resolve()}"


def resolve_storage(url: str | None, out: str | Path, file: str = DB_FILE) -> str:
    """`--storage`, else `$ZENLEARN_STORAGE`, else the SQLite file `file` in `out`."""
    return url or os.environ.get(STORAGE_ENV) or default_storage(out, file)


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
    pw = password(url)
    return url.replace(f":{pw}@", ":***@") if pw else url


def scrub(text: str, url: str) -> str:
    """`text` (an error message, a log line) with the URL's password masked wherever it appears."""
    pw = password(url)
    return text.replace(pw, "***") if pw else text


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


def open_storage(url: str, *, heartbeat: bool = True) -> Any:
    """Connect to the storage (creating its tables on first use); unreachable is a `UsageError`."""
    import optuna

    kwargs: dict[str, Any] = {}
    if heartbeat:
        retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or \
            optuna.storages.RetryFailedTrialCallback
        key = "heartbeat_stale_trial_callback" if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback") \
            else "failed_trial_callback"
        kwargs = {"heartbeat_interval": HEARTBEAT_SECONDS, "grace_period": 3 * HEARTBEAT_SECONDS,
                  key: retry(max_retry=3)}
    engine = {"connect_args": {"connect_timeout": 10}} if url.startswith("postgres") else {}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}  # several workers write to one file
    for attempt in range(4):
        try:
            storage = optuna.storages.RDBStorage(with_driver(url), engine_kwargs=engine, **kwargs)
            if url.startswith("sqlite"):
                serialize_sqlite(storage.engine)
            return storage
        except Exception as e:  # noqa: BLE001 - any driver error means: cannot use this storage
            if attempt < 3 and "already exists" in str(e):  # another machine is creating the tables right now
                time.sleep(1 + attempt)
                continue
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise UsageError(f"--storage {mask(url)}: cannot open it ({scrub(first, url)}); check the URL, that the "
                             f"server is running and reachable, and the credentials (PGPASSWORD or ~/.pgpass)") from None
    raise AssertionError("unreachable")


def serialize_sqlite(engine: Any) -> None:
    """Make every transaction on a SQLite `engine` take the write lock when it begins (`BEGIN IMMEDIATE`).

    Optuna claims a queued trial by reading it as WAITING and writing RUNNING in one transaction, relying on
    `SELECT … FOR UPDATE`, which SQLite ignores. With SQLite's default deferred transactions two worker
    processes can both read WAITING and both claim the same trial: the same cell then runs twice (two
    processes writing one run folder) and the second to finish dies with "Cannot tell a COMPLETE trial".
    Taking the lock at BEGIN serializes the read and the write (SQLAlchemy's recipe for pysqlite). PostgreSQL
    honours FOR UPDATE and needs nothing.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite's own BEGIN off: the "begin" event issues ours

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened while creating the tables predate the listeners


def dashboard_command(url: str) -> str:
    """The `optuna-dashboard` command that shows this storage, password masked."""
    return f"optuna-dashboard {shlex.quote(mask(with_driver(url)))}"
