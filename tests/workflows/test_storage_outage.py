"""A storage that stops answering, without a server: the causes told apart from real driver messages, the
backoff's bounds, the wait's clock and its lines, a report held during an outage, a final `tell` whose
answer was lost counted once, and no stale-trial verdict while workers reconnect (workflows/parallel/outage.py,
storage.py). The same against a real PostgreSQL server: test_tune_postgres_outage.py."""

from __future__ import annotations

import time

import pytest

optuna = pytest.importorskip("optuna", reason="pip install -e '.[test]' installs the tune extra")
import sqlalchemy.exc
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from zenlearn.errors import UsageError
from zenlearn.workflows.parallel.outage import (
    Patience,
    StorageTimeout,
    StorageUnavailable,
    at_once,
    classify,
)
from zenlearn.workflows.parallel.storage import open_storage

URL = "postgresql://tuner:Sup3r-s3cret@db.lan:5432/zl"


def driver_error(message: str) -> sqlalchemy.exc.OperationalError:
    """What Optuna raises is a StorageInternalError whose cause is SQLAlchemy's wrapper of the driver's error."""
    try:
        try:
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception(message))
        except sqlalchemy.exc.OperationalError as e:
            raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from e
    except optuna.exceptions.StorageInternalError as e:
        return e  # type: ignore[return-value]


# psycopg2 / libpq messages as the server and the client library word them (PostgreSQL 15)
CAUSES = [
    (('connection to server at "127.0.0.1", port 5432 failed: Connection refused\n\tIs the server running on that '
      'host and accepting TCP/IP connections?'), "outage", "connection refused"),
    ("server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
     "outage", "connection lost"),
    ("terminating connection due to administrator command", "outage", "server shutting down"),
    ('connection to server at "127.0.0.1", port 5432 failed: FATAL:  the database system is starting up',
     "outage", "server starting up"),
    ('connection to server at "10.0.0.9", port 5432 failed: timeout expired', "outage", "timed out"),
    (('connection to server at "127.0.0.1", port 5432 failed: FATAL:  password authentication failed for user '
      '"tuner"'), "password", 'password authentication failed for user "tuner"'),
    ('connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "zl" does not exist', "database",
     'database "zl" does not exist'),
    ("permission denied for schema public\nLINE 2: CREATE TABLE studies (", "read-only",
     "permission denied for schema public LINE 2: CREATE TABLE studies ("),
    ("cannot execute INSERT in a read-only transaction", "read-only", "cannot execute INSERT in a read-only transaction"),
]


@pytest.mark.parametrize("message,kind,cause", CAUSES, ids=[c[2][:30] for c in CAUSES])
def test_a_driver_error_is_told_apart_by_its_cause(message, kind, cause):
    assert classify(driver_error(message)) == (kind, cause)


def test_errors_that_are_not_the_database_s_are_left_alone():
    assert classify(ValueError("Cannot tell a COMPLETE trial.")) is None
    assert classify(sqlalchemy.exc.ArgumentError("Could not parse SQLAlchemy URL")) is None


@pytest.mark.parametrize("message,fix", [
    (CAUSES[5][0], "put the right one in the URL, PGPASSWORD or ~/.pgpass"),
    (CAUSES[6][0], "the database 'zl' does not exist on the server; create it (createdb --owner tuner zl)"),
    (CAUSES[7][0], "user tuner may not write to the database (permission denied for schema public"),
])
def test_a_wrong_setting_is_one_usage_error_at_once_that_names_the_fix(message, fix):
    calls = []

    def fails() -> None:
        calls.append(1)
        raise driver_error(message)

    with pytest.raises(UsageError) as e:
        Patience(URL, timeout=60).call(fails)
    assert len(calls) == 1 and str(e.value).startswith("--storage postgresql://tuner:***@db.lan:5432/zl: ")
    assert fix in str(e.value) and "Sup3r" not in str(e.value)


def test_an_outage_is_waited_out_with_one_line_when_it_starts_and_one_when_it_ends(capsys):
    answers = iter([driver_error(CAUSES[0][0])] * 3 + [None])

    def flaky() -> str:
        err = next(answers)
        if err is not None:
            raise err
        return "ok"

    p = Patience(URL, timeout=30, who="worker 1")
    p.answered = True
    assert p.call(flaky) == "ok"
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("zenlearn: worker 1: the study's database postgresql://tuner:***@db.lan:5432/zl is "
                               "not answering (connection refused); waiting up to 30 s")
    assert lines[1].startswith("zenlearn: worker 1: the study's database answers again after ")
    assert p.down_since is None and p.settling(60) and not p.settling(0)


def test_when_the_wait_runs_out_the_error_is_one_line_and_later_calls_fail_at_once(capsys):
    def down() -> None:
        raise driver_error(CAUSES[0][0])

    p = Patience(URL, timeout=0.3, noun="trials")
    p.answered = True
    t0 = time.monotonic()
    with pytest.raises(StorageTimeout) as e:
        p.call(down)
    assert 0.3 <= time.monotonic() - t0 < 3
    assert str(e.value) == ("the study's database postgresql://tuner:***@db.lan:5432/zl stopped answering "
                            "(connection refused) for 0.3 s; finished trials are saved — rerun the same command "
                            "to continue")
    assert e.value.exit_code == 1
    with pytest.raises(StorageTimeout):
        p.call(lambda: "the server is back, but this worker already gave up")
    assert "Sup3r" not in capsys.readouterr().err


def test_within_at_once_an_outage_is_not_waited_for():
    p = Patience(URL, timeout=60)
    with at_once(), pytest.raises(StorageUnavailable):
        p.call(lambda: (_ for _ in ()).throw(driver_error(CAUSES[1][0])))
    with at_once(), pytest.raises(StorageUnavailable):  # known down: not even tried
        p.call(lambda: pytest.fail("called during a known outage"))
    assert p.probe(lambda: 7) == 7 and p.down_since is None  # a heartbeat finds it back


def test_backoff_grows_to_its_cap_with_jitter():
    import random

    from zenlearn.workflows.parallel.outage import BACKOFF_CAP, backoff

    rng = random.Random(1)
    late = [backoff(30, rng) for _ in range(200)]
    assert max(late) <= BACKOFF_CAP and min(late) < BACKOFF_CAP / 4 and max(late) > BACKOFF_CAP * 3 / 4
    assert max(backoff(0, rng) for _ in range(200)) <= 0.5


def _study(tmp_path, **kwargs):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}", **kwargs)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(study_name="s", storage=storage, direction="maximize"), storage


def test_a_tell_whose_answer_was_lost_is_counted_once(tmp_path, monkeypatch, capsys):
    real = RDBStorage.set_trial_state_values
    lost = []

    def commits_then_loses_the_answer(self, trial_id, state, values=None):
        ok = real(self, trial_id, state, values)
        if state == TrialState.COMPLETE and not lost:
            lost.append(trial_id)
            raise driver_error("server closed the connection unexpectedly")
        return ok

    monkeypatch.setattr(RDBStorage, "set_trial_state_values", commits_then_loses_the_answer)
    study, _ = _study(tmp_path, heartbeat=False)
    study.optimize(lambda t: 0.5, n_trials=1)
    trials = study.get_trials()
    assert lost and [(t.state, t.value) for t in trials] == [(TrialState.COMPLETE, 0.5)]
    assert "answers again" in capsys.readouterr().err


def test_reports_during_an_outage_are_held_without_waiting_and_written_before_the_trial_completes(
        tmp_path, monkeypatch):
    real = RDBStorage.set_trial_intermediate_value
    refused, slept, pruned = [], [], []

    def down_once(self, trial_id, step, value):
        if not refused:
            refused.append(step)
            raise driver_error(CAUSES[0][0])
        return real(self, trial_id, step, value)

    monkeypatch.setattr(RDBStorage, "set_trial_intermediate_value", down_once)
    study, storage = _study(tmp_path, heartbeat=False)

    def objective(trial):
        monkeypatch.setattr("zenlearn.workflows.parallel.outage.time.sleep", slept.append)
        for step in range(4):
            try:
                with at_once():  # as a trial's report does while it trains
                    trial.report(0.1 * step, step)
                    pruned.append(trial.should_prune())
            except StorageUnavailable:
                pruned.append(None)  # down: training goes on, without a pruning verdict
            if step == 1:
                storage.record_heartbeat(trial._trial_id)  # the heartbeat finds the database back
        monkeypatch.undo()
        return 1.0

    study.optimize(objective, n_trials=1)
    t = study.get_trials()[0]
    assert refused == [0] and not slept and pruned == [None, None, False, False]
    assert t.state == TrialState.COMPLETE and t.intermediate_values == pytest.approx({0: 0, 1: 0.1, 2: 0.2, 3: 0.3})


def test_no_trial_is_judged_stale_while_workers_reconnect(tmp_path, monkeypatch):
    from zenlearn.workflows.parallel.outage import BACKOFF_CAP

    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}", heartbeat=True)
    study = optuna.create_study(study_name="s", storage=storage)
    trial = study.ask()
    monkeypatch.setattr(RDBStorage, "_get_stale_trial_ids", lambda self, sid: [trial._trial_id])  # its beat is old
    assert storage._get_stale_trial_ids(study._study_id) == [trial._trial_id]
    # an outage ended: every live worker beats again within 2 beats, a waiting tell retries within BACKOFF_CAP
    settle = storage.grace_period + 2 * storage.heartbeat_interval + BACKOFF_CAP
    storage.patience.back_at = time.monotonic() - settle + 2
    assert storage._get_stale_trial_ids(study._study_id) == []
    storage.patience.back_at -= 3
    assert storage._get_stale_trial_ids(study._study_id) == [trial._trial_id]
