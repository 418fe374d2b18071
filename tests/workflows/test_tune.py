"""zenlearn tune: search specs, bad input (one line, exit 2, nothing written), a tiny study end to end,
continuing it, --refit, pruning, two workers, and a worker killed with SIGKILL mid-trial."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("optuna", reason="pip install -e '.[test]' installs the tune extra")

from zenlearn.cli.main import main
from zenlearn.config import load_yaml
from zenlearn.errors import UsageError
from zenlearn.io.rundir import RunDir
from zenlearn.workflows.parallel.storage import mask
from zenlearn.workflows.tune.space import parse_search

TINY = ["--data", "mnist", "--model", "mlp", "--hidden", "16", "--train-subset", "600", "--epochs", "2",
        "--batch-size", "64", "--threads", "1"]
ROOT = Path(__file__).resolve().parents[2]


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra}
    return env


def rows(out: Path) -> list[dict[str, str]]:
    with open(out / "study.csv", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- search specs

def test_parse_search_kinds():
    ps = {p.name: p for p in parse_search(["lr=log:1e-4:1e-1", "dropout=uniform:0:0.5", "kernel_size=int:1:4",
                                           "optimizer=sgd,adam", "hidden=64;128,128"])}
    assert (ps["lr"].kind, ps["lr"].low, ps["lr"].high) == ("log", 1e-4, 1e-1)
    assert ps["kernel_size"].grid() == [1, 2, 3, 4]
    assert ps["optimizer"].choices == ("sgd", "adam")
    assert ps["hidden"].choices == ((64,), (128, 128))


@pytest.mark.parametrize("spec, message", [
    ("nosuch=1,2", "--search nosuch: unknown option; searchable: "),
    ("out=a,b", "--search out: not a training option that can be searched"),
    ("lr=log:0:1", "--search lr=log:0:1: log bounds must be > 0 (got 0)"),
    ("lr=uniform:0.5:0.1", "--search lr=uniform:0.5:0.1: LOW must be below HIGH (got 0.5 >= 0.1)"),
    ("optimizer=sgd,,adam", "--search optimizer=sgd,,adam: an empty choice"),
    ("optimizer=log:1:2", "--search optimizer=log:1:2: log:LOW:HIGH needs a number option"),
    ("epochs=int:1.5:3", "--search epochs=int:1.5:3: int bounds must be whole numbers"),
    ("lr", "--search expects NAME=SPEC"),
])
def test_bad_search_specs(spec, message):
    with pytest.raises(UsageError) as e:
        parse_search([spec])
    assert str(e.value).startswith(message)


BAD_CLI = [
    (["--search", "nosuch=1,2"], "--search nosuch: unknown option"),
    (["--search", "seed=1,2"], "--search seed: not a training option that can be searched"),
    (["--search", "lr=log:-1:1"], "log bounds must be > 0"),
    (["--search", "lr=log:1:0.1"], "LOW must be below HIGH"),
    (["--search", "optimizer=adam,"], "an empty choice"),
    (["--search", "optimizer=sgd,adam,nosuch"], "optimizer=nosuch: unknown optimizer 'nosuch'; choose one of: sgd"),
    (["--search", "activation=relu,tanh,bogus"], "activation=bogus: unknown activation 'bogus'"),
    (["--search", "lr=log:1e-3:1e-1", "--sampler", "grid"], "--sampler grid needs finite choices"),
    (["--search", "momentum=uniform:0:0.9", "optimizer=adam,sgd"], "momentum=0.0, optimizer=adam: optimizer 'adam' does not take --momentum"),
    (["--search", "lr=log:1e-3:1e-1", "--workers", "0"], "--workers must be >= 1, got 0"),
    (["--search", "lr=log:1e-3:1e-1", "--val-split", "0"], "tune selects on the validation split"),
    (["--search", "lr=log:1e-3:1e-1", "--storage", "nosuchdb://me:s3cr3t@127.0.0.1:1/none"],
     "--storage nosuchdb://me:***@127.0.0.1:1/none: cannot open it"),  # refused: test_tune_postgres_outage.py
    (["--search", "lr=log:1e-3:1e-1", "--storage", "nosuchdb://x"], "--storage nosuchdb://x: cannot open it"),
]


@pytest.mark.parametrize("argv, message", BAD_CLI, ids=[" ".join(a[1:3]) for a, _ in BAD_CLI])
def test_bad_input_one_line_exit_2_nothing_written(argv, message, tmp_path, capsys, data_dir):
    out = tmp_path / "study"
    assert main(["tune", *TINY, "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert "s3cr3t" not in err
    assert not out.exists()


def test_mask_hides_password():
    assert mask("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


# ---------------------------------------------------------------- a study end to end

def test_tune_end_to_end_continue_refit(tmp_path, capsys, data_dir):
    out = tmp_path / "study"
    argv = ["tune", *TINY, "--out", str(out), "--search", "lr=log:1e-3:1e-1", "optimizer=sgd,adam", "--trials", "3",
            "--quiet"]
    assert main(argv[:-1]) == 0  # not quiet: one line per trial, as compare's [i/N] (issue 23, item 5)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert [line.split(" complete: val_accuracy ")[0] for line in lines] == ["[1/3] trial 0", "[2/3] trial 1",
                                                                             "[3/3] trial 2"]
    lr = re.search(r" lr=(\S+) ", lines[0]).group(1)
    assert 3 <= len(lr.replace("0.", "").lstrip("0")) <= 4 or "e-" in lr, lr  # 3 significant digits: lr=0.00131
    assert not (out / "importances.png").exists()  # 3 complete trials: too few for importances
    assert "no parameter-importance plot: 3 complete trial(s)" in (out / "report.html").read_text()
    r = rows(out)
    assert [x["trial"] for x in r] == ["0", "1", "2"] and {x["state"] for x in r} == {"complete"}
    assert set(r[0]) >= {"trial", "state", "lr", "optimizer", "val_accuracy", "epochs", "seconds", "run_dir"}
    for x in r:  # every trial an ordinary run folder, scored on validation only (no test metrics read)
        run = Path(x["run_dir"])
        assert run.parent == (out / "trials").resolve()
        summary = json.loads((run / "summary.json").read_text())
        assert summary["test"] is None and summary["val"]["accuracy"] == pytest.approx(float(x["val_accuracy"]))
        st = RunDir(run).read_state()
        assert st["state"] == "finished" and st["trial"]["outcome"] == "complete", st
    for name in ("best.yaml", "history.png", "params.png", "report.html", "tune.json", "study.db"):
        assert (out / name).is_file(), name
    best = load_yaml(out / "best.yaml")
    m = json.loads((out / "tune.json").read_text())
    assert best["optimizer"] == m["best"]["params"]["optimizer"] and best["lr"] == m["best"]["params"]["lr"]
    assert m["best"]["value"] == max(float(x["val_accuracy"]) for x in r)
    # the best config trains as it is, and a trial folder evaluates as any run
    assert main(["train", "--config", str(out / "best.yaml"), "--out", str(tmp_path / "again"), "--quiet"]) == 0
    assert main(["evaluate", m["best"]["run_dir"], "--split", "val"]) == 0
    assert "trials" in (out / "report.html").read_text()
    # the same command continues the study: 2 more trials, then the best is trained again and tested once
    assert main([*argv[:-3], "--trials", "2", "--refit", "--quiet"]) == 0
    assert len(rows(out)) == 5
    m = json.loads((out / "tune.json").read_text())
    assert m["refit"]["test"]["accuracy"] > 0.1 and (out / "best" / "summary.json").is_file()
    # another search space, or another metric, under the same study name is refused
    capsys.readouterr()
    assert main([*argv[:-5], "lr=log:1e-3:1e-1", "--trials", "1"]) == 2
    assert "already exists with another search space" in capsys.readouterr().err
    assert main([*argv[:-3], "--trials", "1", "--metric", "val_loss"]) == 2
    assert "already exists with metric val_accuracy, not val_loss" in capsys.readouterr().err
    assert len(rows(out)) == 5


def test_grid_sampler_and_pruned_trial_keeps_its_folder(tmp_path, data_dir):
    out = tmp_path / "grid"
    argv = ["tune", *TINY, "--epochs", "3", "--out", str(out), "--search", "lr=1e-5,0.003,0.01", "--sampler", "grid",
            "--pruner", "median", "--trials", "10", "--quiet"]
    assert main(argv) == 0
    r = rows(out)
    assert len(r) == 3 and sorted(float(x["lr"]) for x in r) == [1e-5, 0.003, 0.01]  # the grid, then stop
    for x in r:
        marker = RunDir(x["run_dir"]).read_state()["trial"]
        assert marker["outcome"] == x["state"] and marker["number"] == int(x["trial"])
        if x["state"] == "pruned":
            assert marker["pruned_after_epoch"] == int(x["epochs"]) < 3
            assert (Path(x["run_dir"]) / "summary.json").is_file()


def test_asha_stops_the_hopeless_learning_rates_after_the_first_rung(tmp_path, data_dir):
    out = tmp_path / "asha"
    argv = ["tune", *TINY, "--epochs", "3", "--out", str(out), "--search", "lr=1e-7,1e-6,1e-5,0.003,0.01",
            "--sampler", "grid", "--pruner", "asha", "--trials", "5", "--quiet"]
    assert main(argv) == 0
    r = {float(x["lr"]): x for x in rows(out)}
    assert len(r) == 5
    pruned = {lr: int(x["epochs"]) for lr, x in r.items() if x["state"] == "pruned"}
    assert pruned and set(pruned) <= {1e-7, 1e-6, 1e-5} and set(pruned.values()) == {1}  # rung 0: after 1 epoch
    best = max((x for x in r.values() if x["state"] == "complete"), key=lambda x: float(x["val_accuracy"]))
    assert float(best["lr"]) in (0.003, 0.01) and best["state"] == "complete"
    assert json.loads((out / "tune.json").read_text())["pruner"] == "asha"


def test_pruning_callback_stops_training(one_thread):
    import torch

    from zenlearn import Trainer
    from zenlearn.training.pruning import Pruning

    seen = []
    model = torch.nn.Linear(4, 2)
    cb = Pruning("val_accuracy", lambda epoch, value: seen.append((epoch, value)) or epoch == 1)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), callbacks=[cb])
    x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    history = trainer.fit((x, y), (x, y), epochs=5, verbose=False)
    assert len(history.epochs) == 2 and cb.pruned_epoch == 1 and [e for e, _ in seen] == [0, 1]


# ---------------------------------------------------------------- workers

def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def test_worker_killed_mid_trial_is_retried(tmp_path, data_dir):
    """kill -9 one of two workers mid-trial: its trial fails by heartbeat and is retried; the study ends with
    the requested number of complete trials and the killed folder (no summary.json) is not one of them."""
    out = tmp_path / "study"
    cmd = [sys.executable, "-m", "zenlearn", "tune", "--data", "mnist", "--model", "mlp", "--hidden", "64",
           "--train-subset", "6000", "--epochs", "3", "--batch-size", "32", "--out", str(out),
           "--search", "lr=log:1e-3:1e-1", "--trials", "4", "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, env=cli_env(ZENLEARN_HEARTBEAT="1"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    victim, deadline = None, time.time() + 120
    while victim is None and time.time() < deadline and proc.poll() is None:
        for marker in (out / "trials").glob("*/state.json") if (out / "trials").is_dir() else []:
            m = RunDir(marker.parent).read_state()
            if m["state"] == "running" and m["pid"] in _children(proc.pid) and \
                    (marker.parent / "metrics.csv").is_file():  # an epoch in: truly mid-trial
                victim = (m["pid"], marker.parent)
                break
        time.sleep(0.1)
    assert victim is not None, proc.communicate()[0]
    os.kill(victim[0], signal.SIGKILL)
    log = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, log
    r = rows(out)
    complete = [x for x in r if x["state"] == "complete"]
    assert len(complete) == 4, r
    killed = next(x for x in r if Path(x["run_dir"]) == victim[1].resolve())
    assert killed["state"] == "fail"
    st = RunDir(victim[1]).read_state()  # its worker is gone: interrupted, with the trial it was running
    assert st["state"] == "interrupted" and st["trial"]["outcome"] == "running", st
    assert not (victim[1] / "summary.json").exists()
    for x in complete:
        assert (Path(x["run_dir"]) / "summary.json").is_file()
    retried = [x for x in complete if x["lr"] == killed["lr"]]
    assert retried, "the killed trial's params were not retried"


def test_ctrl_c_stops_every_worker(tmp_path, data_dir):
    out = tmp_path / "study"
    cmd = [sys.executable, "-m", "zenlearn", "tune", *TINY, "--train-subset", "6000", "--epochs", "20",
           "--out", str(out), "--search", "lr=log:1e-3:1e-1", "--trials", "10", "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=_terminal_sigint)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("trials/*/metrics.csv"))) < 2:
        time.sleep(0.2)
    workers = [p for p in _children(proc.pid) if b"spawn_main" in _cmdline(p)]  # not multiprocessing's tracker
    assert len(workers) == 2
    proc.send_signal(signal.SIGINT)
    log = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, log
    assert "rerun the same command to continue" in log
    assert not [p for p in workers if Path(f"/proc/{p}").exists() and "zombie" not in
                Path(f"/proc/{p}/status").read_text()]


def _terminal_sigint() -> None:
    """In the child: SIGINT as a terminal's foreground process has it (default action, not blocked). A test
    process may have inherited it ignored or blocked (a run started in the background by a non-interactive
    shell, a runner's worker); a child would inherit that, and Ctrl-C would then never reach the command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_an_in_process_worker_leaves_the_process_as_it_found_it():
    """run_workers(job, 1) runs `work` here; torch's threads, Optuna's verbosity and the warning filters return."""
    import warnings

    import optuna
    import torch

    from zenlearn.workflows.parallel import workers as workers_mod

    class Job:  # the smallest job: the storage answers, the study has nothing left to do
        threads, storage_timeout, noun, rerun = 1, 5.0, "runs", "rerun the same command to continue"

        def __init__(self, url):
            self.storage = url

        def load_study(self, storage, worker):
            return optuna.create_study(storage=storage, study_name="x", load_if_exists=True)

        def next_action(self, study):
            return "done"

    before = (torch.get_num_threads(), optuna.logging.get_verbosity(), list(warnings.filters))
    torch.set_num_threads(2)
    try:
        optuna.logging.set_verbosity(optuna.logging.INFO)
        state = (torch.get_num_threads(), optuna.logging.get_verbosity(), list(warnings.filters))
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            assert workers_mod.run_workers(Job(f"sqlite:///{d}/s.db"), 1) == [0]
        assert (torch.get_num_threads(), optuna.logging.get_verbosity(), list(warnings.filters)) == state
    finally:
        torch.set_num_threads(before[0])
        optuna.logging.set_verbosity(before[1])
