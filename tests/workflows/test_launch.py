"""The launcher: a zenlearn command as its own process in a run folder, stopped gracefully, resumed."""

import os
import sys
import time

from zenlearn.io.live import EventTail
from zenlearn.io.rundir import RunDir
from zenlearn.workflows.launch import launch, stop

TINY = ["--data", "mnist1d", "--model", "mlp", "--hidden", "2048,2048", "--epochs", "3", "--train-subset", "3000",
        "--batch-size", "20", "--no-report", "--quiet"]  # 150 steps of ~5 ms per epoch: still running when stopped
# (with a 16-unit MLP on 400 samples a quiet machine finished the whole run before the stop arrived)


def _wait(pred, seconds=120.0):
    deadline = time.monotonic() + seconds
    while not pred():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_launch_stop_resume(tmp_path, data_dir):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "run"
    p = launch(["train", *TINY, "--out", str(out)], out, env=env)
    rd = RunDir(out)
    assert rd.read_state()["state"] == "running" and rd.read_state()["pid"] == p.pid  # from the start
    _wait(lambda: any(e["kind"] == "progress" for _, e in EventTail(rd.events).read()))
    assert os.getsid(p.pid) == p.pid  # its own session: the launcher's Ctrl-C or death does not reach it
    assert stop(out, wait=60)
    assert p.wait(60) == 143
    st = rd.read_state()
    assert st["state"] == "stopped" and "checkpoint saved" in st["reason"], st
    assert "zenlearn: interrupted by SIGTERM" in rd.log.read_text()
    assert not stop(out)  # nothing to stop now

    p = launch(["train", "--resume", str(out), "--quiet"], out, env=env)
    assert p.wait(120) == 0, rd.log.read_text()
    assert rd.read_state()["state"] == "finished"
    starts = [e for _, e in EventTail(rd.events).read() if e["kind"] == "start"]
    assert len(starts) == 2 and (starts[1]["epoch"], starts[1]["step"]) > (0, 0)  # resumed where it stopped
    epochs = [e["epoch"] for _, e in EventTail(rd.events).read() if e["kind"] == "epoch"]
    assert epochs[-1] == 3

    base = tmp_path / "base"
    assert launch(["train", *TINY, "--out", str(base)], base, env=env).wait(120) == 0
    assert rd.weights.read_bytes() == RunDir(base).weights.read_bytes()


def test_launch_failure_reads_failed_with_the_cli_line(tmp_path):
    out = tmp_path / "run"
    p = launch(["train", "--data", "mnist1d", "--model", "nope", "--out", str(out)], out)
    assert p.wait(120) == 2
    st = RunDir(out).read_state()
    line = RunDir(out).log.read_text().strip()  # the CLI's one line
    assert st["state"] == "failed" and line == f"zenlearn: error: {st['reason']}" and "unknown model 'nope'" in line


def test_any_command(tmp_path):
    out = tmp_path / "x"
    p = launch(["-c", "import sys; print('out'); print('err', file=sys.stderr)"], out, program=[sys.executable])
    assert p.wait(60) == 0
    assert RunDir(out).log.read_text() == "out\nerr\n"
