"""A study survives its database going away (a real PostgreSQL server, stopped and started with pg_ctl):

- stopped ~10 s mid-trial and started again, a 2-worker study waits, reconnects and ends with exactly the
  requested complete trials, none run twice, study.csv as the storage says;
- stopped for longer than --storage-timeout, the command exits 1 with one line, and rerunning it continues
  (tune; compare, on the same engine, with --resume);
- a wrong password, a missing database, a read-only user and refused connections each get their own line
  and exit code;
- the password appears in no output and no file.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pgcluster import free_port, server

from zenlearn.io.rundir import RunDir

optuna = pytest.importorskip("optuna", reason="pip install -e '.[test]' installs the tune extra")
from optuna.trial import TrialState

from zenlearn.cli.main import main

SECRET = "Sup3r-s3cret-pw"
READER_SECRET = "Re4der-s3cret"
ROOT = Path(__file__).resolve().parents[2]
TUNE = ["tune", "--data", "mnist", "--model", "mlp", "--hidden", "16", "--train-subset", "1000", "--epochs", "3",
        "--threads", "1", "--search", "lr=log:1e-3:1e-1", "--metric", "val_accuracy", "--no-report", "--quiet"]
pytestmark = pytest.mark.needs("postgres")


@pytest.fixture(scope="module")
def pg():
    with server(SECRET) as c:
        yield c


def _with_pw(url: str, user: str = "tuner", pw: str = SECRET, db: str | None = None) -> str:
    url = url.replace("tuner@", f"{user}:{pw}@")
    return url.rsplit("/", 1)[0] + f"/{db}" if db else url


def _start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "ZENLEARN_HEARTBEAT": "1"}
    return subprocess.Popen([sys.executable, "-m", "zenlearn", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _when_training(out: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Return once a trial's folder says it is running (the moment to pull the plug)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        for marker in out.glob("trials/*/state.json"):
            if RunDir(marker.parent).read_state().get("state") == "running":
                return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail("no trial started")


def _storage(url: str, study: str):
    from zenlearn.workflows.parallel.storage import open_storage

    return optuna.load_study(study_name=study, storage=open_storage(url, heartbeat=False))


def _no_secret(tmp_path: Path, *texts: str) -> None:
    leaks = [str(p) for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert not leaks and not [t for t in texts if SECRET in t or READER_SECRET in t]


def test_a_restart_mid_trial_is_waited_out_and_every_trial_counted_once(pg, tmp_path, data_dir):
    out = tmp_path / "tune"
    proc = _start([*TUNE, "--trials", "4", "--workers", "2", "--study", "restart", "--storage", _with_pw(pg.url),
                   "--out", str(out)])
    try:
        _when_training(out, proc)
        pg.stop()
        time.sleep(10)
    finally:
        pg.start()
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert re.search(r"worker \d: the study's database postgresql://tuner:\*\*\*@127\.0\.0\.1:\d+/postgres is not "
                     r"answering \(.+\); waiting up to 120 s", stderr), stderr
    assert re.search(r"worker \d: the study's database answers again after \d+ s", stderr), stderr
    assert "Traceback" not in stderr
    trials = _storage(_with_pw(pg.url), "restart").get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4, [(t.number, t.state) for t in trials]
    with open(out / "study.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["trial"]), r["state"], float(r["val_accuracy"])) for r in rows] == \
        [(t.number, "complete", pytest.approx(t.value)) for t in trials]
    for t in trials:  # every finished trial's folder is complete
        run = Path(t.user_attrs["run_dir"])
        assert (run / "summary.json").is_file() and RunDir(run).read_state()["trial"]["outcome"] == "complete"
    _no_secret(tmp_path, stdout, stderr)


def test_an_outage_longer_than_the_timeout_exits_1_with_one_line_and_a_rerun_continues(pg, tmp_path, data_dir):
    out = tmp_path / "tune"
    # 3 trials on 2 workers: whatever the timing, one is left when the server stops
    args = [*TUNE, "--trials", "3", "--workers", "2", "--study", "long", "--storage", _with_pw(pg.url),
            "--out", str(out)]
    proc = _start([*args, "--storage-timeout", "3"])
    try:
        _when_training(out, proc)
        pg.stop()
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        pg.start()
    assert proc.returncode == 1, stderr
    last = stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"zenlearn: error: the study's database postgresql://tuner:\*\*\*@127\.0\.0\.1:\d+/postgres "
                        r"stopped answering \([a-z ]+\) for 3 s; "
                        r"finished trials are saved — rerun the same command to continue", last), stderr
    assert "Traceback" not in stderr and last not in stderr.strip().splitlines()[:-1]  # said once
    before = sum(t.state == TrialState.COMPLETE for t in _storage(_with_pw(pg.url), "long").get_trials())
    rerun = _start(args)
    stdout2, stderr2 = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr2
    trials = _storage(_with_pw(pg.url), "long").get_trials()
    assert sum(t.state == TrialState.COMPLETE for t in trials) == before + 3
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in trials)  # the lost ones: failed, retried
    _no_secret(tmp_path, stdout, stderr, stdout2, stderr2)


def _causes_db(pg) -> str:
    """A database `causes` with the study tables, and a user `reader` who may read them but not write."""
    import sqlalchemy

    from zenlearn.workflows.parallel.storage import open_storage, with_driver

    admin = sqlalchemy.create_engine(with_driver(_with_pw(pg.url)), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = 'causes'").first():
            c.exec_driver_sql("CREATE DATABASE causes OWNER tuner")
            c.exec_driver_sql(f"CREATE ROLE reader LOGIN PASSWORD '{READER_SECRET}'")
    admin.dispose()
    open_storage(_with_pw(pg.url, db="causes"), heartbeat=False)  # creates the tables
    owner = sqlalchemy.create_engine(with_driver(_with_pw(pg.url, db="causes")), isolation_level="AUTOCOMMIT")
    with owner.connect() as c:
        c.exec_driver_sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
    owner.dispose()
    return pg.url


@pytest.mark.parametrize("case", ["wrong password", "missing database", "read-only user", "refused connection"])
def test_each_cause_has_its_own_line_and_exit_code(pg, tmp_path, capsys, case):
    url = _causes_db(pg)
    storage, code, line = {
        "wrong password": (_with_pw(url, pw="Wr0ng-s3cret"), 2,
                           (r"--storage postgresql://tuner:\*\*\*@127\.0\.0\.1:\d+/postgres: the server refused the "
                            r"password of user tuner \(password authentication failed for user \"tuner\"\); put the "
                            r"right one in the URL, PGPASSWORD or ~/\.pgpass")),
        "missing database": (_with_pw(url, db="nosuchdb"), 2,
                             (r"--storage postgresql://tuner:\*\*\*@127\.0\.0\.1:\d+/nosuchdb: the database 'nosuchdb' "
                              r"does not exist on the server; create it \(createdb --owner tuner nosuchdb\) or name "
                              r"an existing one")),
        "read-only user": (_with_pw(url, user="reader", pw=READER_SECRET, db="causes"), 2,
                           (r"--storage postgresql://reader:\*\*\*@127\.0\.0\.1:\d+/causes: user reader may not write "
                            r"to the database \(permission denied for table studies\); .*GRANT.*")),
        "refused connection": (f"postgresql://tuner:{SECRET}@127.0.0.1:{free_port()}/postgres", 1,
                               (r"the study's database postgresql://tuner:\*\*\*@127\.0\.0\.1:\d+/postgres did not "
                                r"answer \(connection refused\) for 1 s; check that the server is running and "
                                r"reachable from here, then rerun the same command to continue")),
    }[case]
    out = tmp_path / "tune"
    assert main([*TUNE, "--trials", "1", "--storage", storage, "--storage-timeout", "1", "--out", str(out)]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert re.fullmatch("zenlearn: error: " + line, err[-1]), err
    assert not out.exists()  # nothing written
    _no_secret(tmp_path, *err)
    assert "Wr0ng-s3cret" not in "\n".join(err)


def test_compare_on_the_same_engine_exits_1_with_one_line_and_a_rerun_completes_the_grid(pg, tmp_path, data_dir):
    out = tmp_path / "cmp"
    args = ["compare", *TUNE[1:TUNE.index("--search")], "--vary", "lr=0.02,0.05,0.1", "--workers", "2",
            "--storage", _with_pw(pg.url), "--out", str(out), "--no-report", "--quiet"]
    proc = _start([*args, "--storage-timeout", "2"])
    try:
        t0 = time.monotonic()
        while not list(out.glob("runs/*/*/metrics.csv")):  # a run is training
            assert proc.poll() is None and time.monotonic() - t0 < 300, proc.communicate()
            time.sleep(0.1)
        pg.stop()
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        pg.start()
    assert proc.returncode == 1, stderr
    assert re.fullmatch(r"zenlearn: error: the study's database postgresql://tuner:\*\*\*@127\.0\.0\.1:\d+/postgres "
                        r"stopped answering \([a-z ]+\) for 2 s; finished runs are saved — rerun the same command "
                        r"with --resume to continue", stderr.strip().splitlines()[-1]), stderr
    rerun = _start([*args, "--resume"])
    stdout2, stderr2 = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr2
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["variant"] for r in rows] == ["lr=0.02", "lr=0.05", "lr=0.1"]
    assert {r["status"] for r in rows} <= {"ok", "resumed"}, rows
    _no_secret(tmp_path, stdout, stderr, stdout2, stderr2)
