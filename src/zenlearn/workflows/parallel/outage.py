"""When the study's database stops answering: which failures are an outage, to be waited out, and which are
a wrong setting (a wrong password, a missing database, a read-only user), to be reported at once as a
one-line usage error that names the fix; and `Patience`, the clock and the backoff of one storage's retries.

An outage is a lost or refused connection: the server restarting, a failover, a network blip. A worker
retries with capped exponential backoff and full jitter (AWS's "exponential backoff and jitter": a random
sleep in [0, min(cap, base * 2^attempt)], so that many workers do not all reconnect at the same instant)
until the database answers or `--storage-timeout` seconds have passed since it stopped answering. It says
so once on stderr when the outage starts and once when the database answers again.
"""

from __future__ import annotations

import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from zenlearn.errors import TrainingError, UsageError
from zenlearn.workflows.parallel.urls import mask, scrub

T = TypeVar("T")
Kind = Literal["outage", "password", "login", "database", "read-only"]

STORAGE_TIMEOUT = 120.0
"""Seconds a worker waits for a database that stopped answering (`--storage-timeout`)."""
RERUN = "rerun the same command to continue"
BACKOFF_BASE, BACKOFF_CAP = 0.5, 8.0  # seconds: the first retry within 0.5 s, none more than 8 s after the last

# (regular expression on the driver's message, lower case; the cause as printed). First match wins; the
# settings come first: "connection to server … failed: FATAL: password authentication failed" is no outage.
CAUSES: list[tuple[str, Kind, str]] = [
    (r"password authentication failed|no password supplied|authentication failed", "password", ""),
    (r'role ".*" does not exist|no pg_hba\.conf entry', "login", ""),
    (r'database ".*" does not exist|unknown database', "database", ""),
    (r"permission denied|read-only transaction|readonly database|must be owner|command denied", "read-only", ""),
    (r"connection refused", "outage", "connection refused"),
    ((r"server closed the connection|connection already closed|connection not open|lost connection|"
      r"could not receive data|could not send data|ssl syscall error|eof detected|connection reset|broken pipe"),
     "outage", "connection lost"),
    (r"terminating connection|database system is shutting down|administrator command", "outage",
     "server shutting down"),
    (r"database system is starting up|in recovery mode|not yet accepting connections", "outage",
     "server starting up"),
    (r"timeout expired|timed out", "outage", "timed out"),
    (r"too many clients|remaining connection slots|too many connections", "outage", "too many connections"),
    (r"no route to host|network is unreachable|could not translate host name|name or service not known",
     "outage", "network unreachable"),
    (r"database is locked", "outage", "database locked"),
    (r"could not connect|can't connect|connection to server", "outage", "could not connect"),
]


def check_storage_timeout(seconds: float) -> None:
    """`--storage-timeout` is a number of seconds >= 0 (0: stop at the first outage)."""
    if not (isinstance(seconds, (int, float)) and seconds >= 0 and seconds != float("inf")):
        raise UsageError(f"--storage-timeout must be a number of seconds >= 0, got {seconds!r}; e.g. "
                         f"--storage-timeout {STORAGE_TIMEOUT:g}")


class StorageUnavailable(TrainingError):
    """The database did not answer one try that must not wait (a heartbeat, a report during training)."""


class StorageTimeout(TrainingError):
    """The database did not answer for `--storage-timeout` seconds: exit 1, rerun to continue."""


def classify(error: BaseException) -> tuple[Kind, str] | None:
    """(kind, cause) for a database driver's error anywhere in `error`'s chain, else None (not a database error).

    Example:
        >>> import sqlalchemy.exc
        >>> classify(sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception('connection to server at '
        ...     '"db", port 5432 failed: Connection refused')))
        ('outage', 'connection refused')
        >>> classify(ValueError("Cannot tell a COMPLETE trial.")) is None
        True
    """
    import sqlalchemy.exc

    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, sqlalchemy.exc.DBAPIError):
            text = " ".join(str(e.orig).split())
            for pattern, kind, cause in CAUSES:
                if re.search(pattern, text.lower()):
                    return kind, cause or _detail(text)
            if e.connection_invalidated:  # SQLAlchemy saw the connection drop, whatever the driver said
                return "outage", "connection lost"
            return None
        e = e.__cause__ or e.__context__
    return None


def _detail(text: str) -> str:
    """The server's own words: `connection to server at "h", port 5432 failed: FATAL:  x` -> `x`."""
    text = re.sub(r"^.*?\b(FATAL|ERROR):\s*", "", text)
    return re.sub(r"\s*(\[SQL:|\(Background on this error).*$", "", text).strip()


def misconfigured(kind: Kind, cause: str, url: str) -> UsageError:
    """The one-line usage error for a setting that waiting cannot fix; it names the fix."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    user, db, where = parsed.username or "(default)", parsed.database or "", f"--storage {mask(url)}"
    cause = scrub(cause, url)
    fix = {
        "password": f"the server refused the password of user {user} ({cause}); put the right one in the URL, "
                    f"PGPASSWORD or ~/.pgpass",
        "login": f"the server refused user {user} ({cause}); create the user (createuser --pwprompt {user}) or "
                 f"allow this host in the server's pg_hba.conf",
        "database": f"the database {db!r} does not exist on the server; create it (createdb --owner {user} {db}) "
                    f"or name an existing one",
        "read-only": f"user {user} may not write to the database ({cause}); a study writes trials: use an account "
                     f"that owns the database, or grant it (GRANT ALL ON SCHEMA public TO {user})",
    }
    return UsageError(f"{where}: {fix[kind]}")


def backoff(attempt: int, rng: random.Random) -> float:
    """Seconds to sleep before retry `attempt` (0, 1, …): full jitter, capped.

    Example:
        >>> rng = random.Random(0)
        >>> all(0 <= backoff(a, rng) <= min(BACKOFF_CAP, BACKOFF_BASE * 2 ** a) for a in range(20))
        True
    """
    return rng.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt))


_local = threading.local()


@contextmanager
def at_once() -> Iterator[None]:
    """Within this block, this thread's storage calls never wait: an outage raises `StorageUnavailable`
    (a report during training must not stop the training)."""
    before = getattr(_local, "at_once", False)
    _local.at_once = True
    try:
        yield
    finally:
        _local.at_once = before


class Patience:
    """The outage clock of one storage, shared by its threads (the worker and its trial's heartbeat).

    Args:
        url: The storage URL (printed masked).
        timeout: Seconds to wait for a database that stopped answering. Defaults to `STORAGE_TIMEOUT`.
        who: Prefix of the printed lines, e.g. "worker 1". Defaults to "".
        noun: What the message says is saved ("trials", "runs"). Defaults to "trials".
        rerun: How to continue, as the message ends. Defaults to "rerun the same command to continue".
        training: A worker's storage: its lines say that the trial in training goes on. Defaults to False.
    """

    def __init__(self, url: str, timeout: float = STORAGE_TIMEOUT, who: str = "", noun: str = "trials",
                 rerun: str = RERUN, training: bool = False) -> None:
        check_storage_timeout(timeout)
        self.url, self.timeout, self.who, self.training = url, float(timeout), who, training
        self.noun, self.rerun = noun, rerun
        self.down_since: float | None = None  # time.monotonic() of the first failed call of this outage
        self.back_at = -float("inf")  # time.monotonic() the last outage ended
        self.cause = ""
        self.answered = False  # has the database ever answered this process?
        self.gave_up = False
        self._lock = threading.Lock()
        self._rng = random.Random()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args)`, retried through an outage for up to `timeout` seconds; within `at_once`, tried once
        (not even that while the database is known to be down)."""
        at_once_ = getattr(_local, "at_once", False)
        if at_once_ and self.down_since is not None:
            raise StorageUnavailable(f"the study's database is not answering ({self.cause})")
        return self._attempt(fn, args, kwargs, wait=not at_once_)

    def probe(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` tried once, even during an outage (a heartbeat: it notices the database come back)."""
        return self._attempt(fn, args, {}, wait=False)

    def _attempt(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any], wait: bool) -> T:
        attempt = 0
        while True:
            if self.gave_up:
                raise self.timed_out()
            try:
                result = fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - only a database error is ours; anything else goes on up
                found = classify(e)
                if found is None:
                    raise
                kind, cause = found
                if kind != "outage":
                    raise misconfigured(kind, cause, self.url) from None
                left = self._down(cause)
                if not wait:
                    raise StorageUnavailable(f"the study's database is not answering ({cause})") from None
                if left <= 0:
                    self.gave_up = True
                    raise self.timed_out() from None
                time.sleep(min(backoff(attempt, self._rng), left))
                attempt += 1
                continue
            self._up()
            return result

    def settling(self, seconds: float) -> bool:
        """Whether the database is down, or answered again less than `seconds` ago."""
        return self.down_since is not None or time.monotonic() - self.back_at < seconds

    def timed_out(self) -> StorageTimeout:
        """The one-line error when the wait ran out: masked URL, cause, what to do."""
        waited = f"{self.timeout:g} s"
        if self.answered:
            return StorageTimeout(f"the study's database {mask(self.url)} stopped answering ({self.cause}) for "
                                  f"{waited}; finished {self.noun} are saved — {self.rerun}")
        return StorageTimeout(f"the study's database {mask(self.url)} did not answer ({self.cause}) for {waited}; "
                              f"check that the server is running and reachable from here, then {self.rerun}")

    def _down(self, cause: str) -> float:
        now = time.monotonic()
        with self._lock:
            self.cause = cause
            if self.down_since is None:
                self.down_since = now
                if self.timeout > 0:
                    meanwhile = "; training goes on, its results held until the database answers" * self.training
                    self._say(f"the study's database {mask(self.url)} is not answering ({cause}); waiting up to "
                              f"{self.timeout:g} s for it (--storage-timeout){meanwhile}")
            return self.timeout - (now - self.down_since)

    def _up(self) -> None:
        with self._lock:
            self.answered = True
            if self.down_since is not None:
                self.back_at = time.monotonic()
                self._say(f"the study's database answers again after {self.back_at - self.down_since:.0f} s; "
                          f"going on")
                self.down_since = None

    def _say(self, line: str) -> None:
        print(f"zenlearn: {self.who + ': ' if self.who else ''}{line}", file=sys.stderr, flush=True)
