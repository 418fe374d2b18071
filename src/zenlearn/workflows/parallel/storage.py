"""Where a study lives: an Optuna RDB storage URL (SQLite by default, PostgreSQL to share it between
machines), opened with heartbeats so that a killed worker's trial is failed and retried, and patient: a
database that stops answering for a while (a restart, a network blip) is waited for (see `outage`).

A URL may carry a password (`postgresql://user:secret@host/db`); it is only ever shown masked (`***`).
Keep it off the command line with libpq's `PGPASSWORD` or `~/.pgpass` (`postgresql://user@host/db`), or
put the whole URL in `$ZENLEARN_STORAGE`.
"""

from __future__ import annotations

import functools
import os
import shlex
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zenlearn.errors import UsageError, ZenlearnError
from zenlearn.io.rundir import STUDY_DB
from zenlearn.workflows.parallel.outage import (
    BACKOFF_CAP,
    RERUN,
    STORAGE_TIMEOUT,
    Patience,
    StorageUnavailable,
    at_once,
)
from zenlearn.workflows.parallel.urls import mask, scrub, with_driver

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


def open_storage(url: str, *, heartbeat: bool = True, timeout: float = STORAGE_TIMEOUT, who: str = "",
                 noun: str = "trials", rerun: str = RERUN, answered: bool = False) -> Any:
    """Connect to the storage (creating its tables on first use), waiting out an outage (`outage.Patience`).

    A wrong setting (password, database name, a read-only user, an unparsable URL) is a `UsageError`; a
    database that does not answer within `timeout` seconds is a `StorageTimeout`.

    Args:
        url: The storage URL.
        heartbeat: Trials beat every `HEARTBEAT_SECONDS`; a trial that misses 3 beats is failed and retried
            (only for workers). Defaults to True.
        timeout: Seconds to wait for a database that stopped answering (`--storage-timeout`). Defaults to 120.
        who: Prefix of the waiting / reconnected lines, e.g. "worker 1". Defaults to "".
        noun: What a timed-out wait says is saved ("trials", "runs"). Defaults to "trials".
        rerun: How a timed-out wait says to continue. Defaults to "rerun the same command to continue".
        answered: The database answered this command before (a worker's parent opened it), so a timed-out
            wait says it stopped answering rather than that it never did. Defaults to False.
    """
    import optuna

    kwargs: dict[str, Any] = {}
    if heartbeat:
        retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or \
            optuna.storages.RetryFailedTrialCallback
        key = "heartbeat_stale_trial_callback" if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback") \
            else "failed_trial_callback"
        kwargs = {"heartbeat_interval": HEARTBEAT_SECONDS, "grace_period": 3 * HEARTBEAT_SECONDS,
                  key: retry(max_retry=3)}
    engine: dict[str, Any] = {}
    if url.startswith("postgres"):  # a dead connection is found in ~25 s (TCP keepalive), a pooled one at checkout
        engine = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10, "keepalives_idle": 10,
                                                          "keepalives_interval": 5, "keepalives_count": 3}}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}  # several workers write to one file
    patience = Patience(url, timeout, who, noun, rerun, training=heartbeat)
    patience.answered = answered
    for attempt in range(4):
        try:
            storage = patience.call(patient_storage_class(), with_driver(url), patience, engine_kwargs=engine,
                                    **kwargs)
            if url.startswith("sqlite"):
                serialize_sqlite(storage.engine)
            return storage
        except ZenlearnError:  # a wrong setting, or the wait ran out: already one line that says so
            raise
        except Exception as e:  # noqa: BLE001 - any other driver error means: cannot use this storage
            if attempt < 3 and "already exists" in str(e):  # another machine is creating the tables right now
                time.sleep(1 + attempt)
                continue
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise UsageError(f"--storage {mask(url)}: cannot open it ({scrub(first, url)}); check the URL, that the "
                             f"server is running and reachable, and the credentials (PGPASSWORD or ~/.pgpass)") from None
    raise AssertionError("unreachable")


# Optuna's RDBStorage methods that talk to the database, waited through an outage as they are. The four
# others (a trial, its state, its reports, heartbeats, the stale-trial check) are written out below.
WAITED = ("create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
          "get_study_id_from_name", "get_study_name_from_id", "get_study_directions", "get_study_user_attrs",
          "get_study_system_attrs", "get_trial_user_attrs", "get_trial_system_attrs", "get_all_studies",
          "create_new_trial", "_create_new_trial", "set_trial_param", "_set_trial_param", "get_trial_param",
          "set_trial_user_attr", "set_trial_system_attr", "get_trial_id_from_study_id_trial_number",
          "get_all_trials", "_get_trials", "get_best_trial", "_get_best_trial_id")


@functools.cache
def patient_storage_class() -> type:
    """Optuna's `RDBStorage` that waits out an outage (built on first use: Optuna is an optional extra).

    - every call that talks to the database is retried through `Patience`;
    - a report (an intermediate value) never waits: during an outage it is held and written, in order,
      before the next report or the trial's state;
    - the trial's final state (`tell`) is idempotent: if the try before committed but its answer was lost
      with the connection, the retry finds the state written and counts it once;
    - a heartbeat is tried once per beat and never waits, so a worker keeps beating as soon as the database
      is back; and after an outage, a worker fails no other worker's trial as stale until every live worker
      has had a grace period to beat again, or to write the state its trial was waiting to write.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.storages import RDBStorage

    class PatientStorage(RDBStorage):
        def __init__(self, url: str, patience: Patience, **kwargs: Any) -> None:
            self.patience = patience
            self.held: list[tuple[int, int, float]] = []  # (trial id, step, value) reports not written yet
            self._held_lock = threading.Lock()
            super().__init__(url, **kwargs)

        def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
            self.held.append((trial_id, step, intermediate_value))
            try:
                with at_once():
                    self.write_held()
            except StorageUnavailable:
                pass  # written with the next report, or before the trial's state

        def write_held(self) -> None:
            with self._held_lock:
                while self.held:
                    try:
                        self.patience.call(RDBStorage.set_trial_intermediate_value, self, *self.held[0])
                    except UpdateFinishedTrialError:
                        pass  # the trial was finished elsewhere (failed as stale): its reports no longer matter
                    self.held.pop(0)

        def get_trial(self, trial_id: int) -> Any:
            if self.held:  # a pruned trial's value is its last report: read it back only once written
                self.write_held()
            return self.patience.call(RDBStorage.get_trial, self, trial_id)

        def set_trial_state_values(self, trial_id: int, state: Any, values: Any = None) -> bool:
            self.write_held()
            tries = 0

            def tell() -> bool:
                nonlocal tries
                tries += 1
                try:
                    return RDBStorage.set_trial_state_values(self, trial_id, state, values)
                except UpdateFinishedTrialError:
                    if tries > 1 and RDBStorage.get_trial(self, trial_id).state == state:
                        return True  # the try before committed; its answer was lost with the connection
                    raise

            return self.patience.call(tell)

        def record_heartbeat(self, trial_id: int) -> None:
            try:
                self.patience.probe(RDBStorage.record_heartbeat, self, trial_id)
            except ZenlearnError:
                pass  # the next beat tries again; the worker's own calls report what is wrong

        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            # every live worker beats again within 2 beats of the database's return, and a trial waiting for
            # its `tell` (its heartbeat already stopped) retries within BACKOFF_CAP seconds
            interval = self.heartbeat_interval or HEARTBEAT_SECONDS
            if self.patience.settling((self.grace_period or 2 * interval) + 2 * interval + BACKOFF_CAP):
                return []
            try:
                return self.patience.probe(RDBStorage._get_stale_trial_ids, self, study_id)
            except ZenlearnError:
                return []

    def waited(name: str) -> Callable[..., Any]:
        method = getattr(RDBStorage, name)

        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            return self.patience.call(method, self, *args, **kwargs)

        return call

    for name in WAITED:
        if hasattr(RDBStorage, name):  # a private one may be gone in another Optuna version
            setattr(PatientStorage, name, waited(name))
    return PatientStorage


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
