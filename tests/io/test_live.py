"""A run's live state: state.json (running / finished / stopped / failed / interrupted) and events.jsonl."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zenlearn.errors import UsageError
from zenlearn.io.live import HEARTBEAT, EventLog, EventTail, RunLife
from zenlearn.io.rundir import RunDir

KILLRUN = Path(__file__).parents[1] / "training" / "killrun.py"
TINY = ["--model", "mlp", "--hidden", "16", "--epochs", "2", "--train-subset", "400", "--batch-size", "50",
        "--no-report", "--quiet"]  # 8 steps per epoch


def test_life_writes_finished_stopped_failed(tmp_path):
    for exc, state, reason in [(None, "finished", None), (KeyboardInterrupt("interrupted by SIGTERM"), "stopped",
                                                        "interrupted by SIGTERM"),
                               (RuntimeError("boom\nmore"), "failed", "RuntimeError: boom")]:
        rd = RunDir(tmp_path / state)
        with pytest.raises(type(exc)) if exc else _nothing():
            with RunLife(rd, command="train") as life:
                rd.path.mkdir()
                life.start()
                assert rd.read_state()["state"] == "running"
                if exc:
                    raise exc
        st = rd.read_state()
        assert (st["state"], st.get("reason"), st["pid"]) == (state, reason, os.getpid())


class _nothing:
    def __enter__(self): ...
    def __exit__(self, *a): ...


def test_bad_input_before_start_writes_nothing(tmp_path):
    rd = RunDir(tmp_path / "run")
    with pytest.raises(UsageError), RunLife(rd):
        raise UsageError("--lr must be positive")
    assert not rd.path.exists()
    rd.path.mkdir()  # an existing folder (e.g. a --resume with a bad option) gets no state either
    with pytest.raises(UsageError), RunLife(rd):
        raise UsageError("--lr must be positive")
    assert list(rd.path.iterdir()) == []


def test_launched_state_ends_as_failed_with_reason(tmp_path):
    rd = RunDir(tmp_path / "run")
    rd.path.mkdir()
    rd.write_state("running")  # what a launcher writes for this process
    with pytest.raises(UsageError), RunLife(rd):
        raise UsageError("--lr must be positive, got -1")
    assert rd.read_state().items() >= {"state": "failed", "reason": "--lr must be positive, got -1"}.items()


def test_heartbeat_waits_for_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("zenlearn.io.live.HEARTBEAT", 0.05)
    rd = RunDir(tmp_path / "cmp")
    with RunLife(rd) as life:
        life.start()
        time.sleep(0.1)
        assert not rd.path.exists()  # never created by the heartbeat
        rd.path.mkdir()
        deadline = time.monotonic() + 5
        while not rd.state.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rd.read_state()["state"] == "running"
    assert rd.read_state()["state"] == "finished"


def test_stale_heartbeat_on_another_host_reads_interrupted(tmp_path):
    rd = RunDir(tmp_path)
    rd.write_state("running", host="elsewhere")
    now = rd.read_state()["heartbeat"]
    assert rd.read_state(now=now + 2 * HEARTBEAT - 0.1)["state"] == "running"
    assert rd.read_state(now=now + 2 * HEARTBEAT + 0.1)["state"] == "interrupted"


def test_dead_pid_and_reused_pid_read_interrupted(tmp_path):
    rd = RunDir(tmp_path)
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    rd.write_state("running", pid=p.pid, started=None)
    assert rd.read_state()["state"] == "interrupted"
    rd.write_state("running", started=12345)  # this pid, but another process's start time: a reused pid
    assert rd.read_state()["state"] == "interrupted"
    assert RunDir(tmp_path / "x").read_state() == {"state": "unknown"}
    (tmp_path / "state.json").write_text("{not json")
    assert rd.read_state() == {"state": "unknown"}


def test_events_append_only_numbered_and_torn_line(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        log.append("epoch", epoch=1)
    with open(path, "a") as f:
        f.write('{"kind": "epo')  # a process killed mid-write
    tail = EventTail(path)
    assert [n for n, _ in tail.read()] == [1]
    with EventLog(path) as log:
        log.append("epoch", epoch=2)
    assert [(n, e["epoch"]) for n, e in tail.read()] == [(3, 2)]  # the torn line keeps its number
    assert tail.read() == []
    assert [n for n, _ in EventTail(path, after=1).read()] == [3]
    with open(path, "a") as f:
        f.write('{"kind": "progress"')  # still being written: waits for its newline
    assert tail.read() == []
    with open(path, "a") as f:
        f.write(', "step": 3}\n')
    assert [(n, e["step"]) for n, e in tail.read()] == [(4, 3)]


def test_train_writes_state_and_events(tmp_path, data_dir, one_thread):
    from zenlearn.cli.main import main

    out = tmp_path / "run"
    assert main(["train", "--data", "mnist1d", *TINY, "--out", str(out)]) == 0
    rd = RunDir(out)
    assert rd.read_state()["state"] == "finished"
    events = [e for _, e in EventTail(rd.events).read()]
    assert [e["kind"] for e in events] == ["start", "progress", "progress", "progress", "epoch"] * 1 + [
        "progress", "progress", "progress", "epoch"]
    epochs = [e for e in events if e["kind"] == "epoch"]
    metrics = rd.read_metrics()
    assert [e["val_loss"] for e in epochs] == pytest.approx([r["val_loss"] for r in metrics], rel=1e-6)


def test_bad_input_writes_no_state(tmp_path, data_dir):
    from zenlearn.cli.main import main

    assert main(["train", "--data", "mnist1d", "--lr", "-1", "--out", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()


def test_kill_9_reads_interrupted_within_two_heartbeats(tmp_path, data_dir):
    """A real `zenlearn train`, SIGKILLed mid-epoch, reads as interrupted from this (another) process."""
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, str(KILLRUN), "sigstop:5", "train", "--data", "mnist1d", *TINY,
                          "--out", str(out)], env=env)
    try:
        deadline = time.monotonic() + 120
        while RunDir(out).read_state()["state"] != "running" or _events(out) < 2:
            assert p.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(p.pid, signal.SIGKILL)  # stopped at step 5 by itself: killed while "running"
        killed = time.monotonic()
        while RunDir(out).read_state()["state"] != "interrupted":
            assert time.monotonic() - killed < 2 * HEARTBEAT
            time.sleep(0.05)
    finally:
        p.kill()
        p.wait()
    assert RunDir(out).read_state()["pid"] == p.pid


def _events(out):
    return len(EventTail(RunDir(out).events).read())


def test_compare_and_tune_folders_have_state(tmp_path, data_dir, one_thread):
    from zenlearn.cli.main import main

    cmp = tmp_path / "cmp"
    assert main(["compare", "--data", "mnist1d", *TINY, "--epochs", "1", "--vary", "lr=0.01,0.02",
                 "--out", str(cmp)]) == 0
    st = RunDir(cmp).read_state()
    assert (st["state"], st["command"]) == ("finished", "compare")
    cells = list(cmp.glob("runs/*/seed-*"))
    assert len(cells) == 2 and all(RunDir(p).read_state()["state"] == "finished" for p in cells)
    assert main(["compare", "--data", "mnist1d", "--vary", "lr=-1", "--out", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()

    tune = tmp_path / "tune"
    assert main(["tune", "--data", "mnist1d", *TINY, "--epochs", "1", "--search", "lr=log:1e-3:1e-1", "--trials", "1",
                 "--out", str(tune)]) == 0
    assert (RunDir(tune).read_state()["state"], RunDir(tune).read_state()["command"]) == ("finished", "tune")
