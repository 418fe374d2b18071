"""compare --workers: the cells (variant × seed) spread over processes on the Optuna engine give the same
per-run metrics as the sequential default at the same threads per run, and results.csv in plan order."""

from __future__ import annotations

import csv

import pytest

from zenlearn.cli.main import main

pytest.importorskip("optuna", reason="pip install -e '.[test]' installs the tune extra")
METRICS = ("test_loss", "test_accuracy", "val_loss", "val_accuracy", "epochs_run")


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_compare_workers_match_sequential(tmp_path, data_dir):
    base = ["compare", "--data", "mnist", "--model", "mlp", "--hidden", "16", "--train-subset", "600", "--epochs", "1",
            "--vary", "optimizer=sgd,adam", "--seeds", "2", "--threads", "1", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "seq")]) == 0
    assert main([*base, "--out", str(tmp_path / "par"), "--workers", "2"]) == 0
    seq, par = read(tmp_path / "seq" / "results.csv"), read(tmp_path / "par" / "results.csv")
    assert [(r["variant"], r["seed"]) for r in par] == [(r["variant"], r["seed"]) for r in seq]
    assert [{k: r[k] for k in METRICS} for r in par] == [{k: r[k] for k in METRICS} for r in seq]
    assert {r["status"] for r in par} == {"ok"}
    # rerun with --resume: every cell is already complete, nothing trains again
    assert main([*base, "--out", str(tmp_path / "par"), "--workers", "2", "--resume"]) == 0
    assert [{k: r[k] for k in METRICS} for r in read(tmp_path / "par" / "results.csv")] == \
        [{k: r[k] for k in METRICS} for r in seq]


def test_a_pool_worker_exits_when_its_parent_is_killed(tmp_path):
    """exit_with_parent: the pool worker of a process killed with SIGKILL (no clean-up runs) exits by itself
    (serve's gradient worker used to stay behind, ~250 MB, after its server was killed)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import concurrent.futures, multiprocessing, os, sys, time\n"
        "from zenlearn.workflows.parallel.workers import exit_with_parent\n"
        "if __name__ == '__main__':\n"
        "    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'),\n"
        "                                                  initializer=exit_with_parent, initargs=(os.getpid(), 0.1))\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    time.sleep(600)\n")
    (tmp_path / "parent.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "parent.py")], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    assert os.path.exists(f"/proc/{worker}")
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    def gone() -> bool:
        try:
            return "zombie" in open(f"/proc/{worker}/status").read()
        except OSError:
            return True

    deadline = time.monotonic() + 30
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not gone():
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the pool worker outlived its killed parent")
