"""Issue 23, "the first hour": what a newcomer tripped over, each pinned (pipes, moved data, warnings, …)."""

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from zenlearn.cli.main import main

SRC = str(Path(__file__).resolve().parents[2] / "src")


def zenlearn_in_shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """`command` through a real shell (pipes), with `zenlearn` meaning this checkout's CLI."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    zl = f"{sys.executable} -m zenlearn"
    return subprocess.run(["bash", "-c", "set -o pipefail; " + command.replace("zenlearn", zl)],
                          capture_output=True, text=True, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def logreg_run(tmp_path_factory, data_dir):
    """A tiny finished MNIST run (logistic regression, 1 epoch on 600 samples)."""
    from zenlearn import TrainConfig, train_run

    out = tmp_path_factory.mktemp("first_hour") / "runs" / "lr"
    train_run(TrainConfig(data="mnist", model="logreg", epochs=1, train_subset=600, report=False, threads=1,
                          out=str(out)), verbose=False)
    return out


@pytest.mark.parametrize("command", [
    "zenlearn predict {run} {idx} | head -1",
    "zenlearn list | head -1",
    "zenlearn runs {runs} | head -1",
])
def test_a_closed_pipe_exits_quietly(logreg_run, data_dir, tmp_path, command):
    # many lines, so that the reader closes the pipe while zenlearn still writes
    for i in range(40):
        shutil.copytree(logreg_run, logreg_run.parent / f"copy-{i}", dirs_exist_ok=True)
    cmd = command.format(run=logreg_run, idx=data_dir / "mnist" / "t10k-images-idx3-ubyte.gz",
                         runs=logreg_run.parent)
    r = zenlearn_in_shell(cmd, tmp_path)
    assert r.stderr == "", r.stderr  # no "internal error: BrokenPipeError", no "Exception ignored"
    assert r.returncode in (0, 141)
    assert len(r.stdout.splitlines()) == 1


def test_predict_on_idx_prints_no_warning(logreg_run, data_dir, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "The given NumPy array is not writable" would fail here
        from zenlearn.data.files import read_inputs
        from zenlearn.training.build import load_run

        spec = load_run(logreg_run)[1]
        x = read_inputs(data_dir / "mnist" / "t10k-images-idx3-ubyte.gz", spec)
    assert x.shape == (10000, 1, 28, 28)


def make_digits_folder(root: Path, per_class: int = 4) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            arr = rng.integers(0, 60, (8, 8), dtype=np.uint8)
            arr[:, :4] += 150 if name == "a" else 0
            Image.fromarray(arr).save(root / name / f"{i}.png")
    return root


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_folder_run_works_from_another_directory_and_after_the_data_moved(tmp_path, one_thread, monkeypatch,
                                                                           capsys):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    make_digits_folder(project / "tiny")
    monkeypatch.chdir(project)
    code, _, err = cli(capsys, "train", "--data", "folder:tiny", "--model", "logreg", "--epochs", "1", "--val-split",
                       "0.5", "--workers", "0", "--quiet", "--out", "runs/tiny")
    assert code == 0, err
    run = project / "runs" / "tiny"
    assert f"data: folder:{project / 'tiny'}" in (run / "config.yaml").read_text()  # absolute, as resolved
    monkeypatch.chdir(elsewhere)
    code, out, err = cli(capsys, "evaluate", str(run))
    assert code == 0 and "test accuracy" in out, err
    code, out, err = cli(capsys, "report", str(run))
    assert code == 0 and err == "", err
    assert "test predictions unavailable" not in (run / "report.html").read_text()

    (project / "tiny").rename(tmp_path / "moved")  # the dataset moved: say which folder, and how to point at it
    code, out, err = cli(capsys, "evaluate", str(run))
    assert code == 2 and len(err.splitlines()) == 1
    assert f"the run's dataset folder {project / 'tiny'}" in err and "--data folder:NEW_PATH" in err
    code, out, err = cli(capsys, "report", str(run))  # still a report, but it says what is missing
    assert code == 0 and "warning: no test predictions in the report" in err
    code, out, err = cli(capsys, "evaluate", str(run), "--data", f"folder:{tmp_path / 'moved'}")
    assert code == 0 and "test accuracy" in out, err
    code, out, err = cli(capsys, "report", str(run), "--data", f"folder:{tmp_path / 'moved'}")
    assert code == 0 and err == "", err
    code, out, err = cli(capsys, "predict", str(run), str(next((tmp_path / "moved" / "a").iterdir())))
    assert code == 0 and out.split("\t")[1] in ("a", "b")  # predict reads data.json, never the dataset


def test_an_older_runs_relative_folder_is_found_beside_the_run(tmp_path, one_thread):
    from zenlearn import TrainConfig, evaluate_run, train_run
    from zenlearn.io.rundir import RunDir

    make_digits_folder(tmp_path / "tiny")
    run = tmp_path / "runs" / "old"
    train_run(TrainConfig(data=f"folder:{tmp_path / 'tiny'}", model="logreg", epochs=1, val_split=0.5, decode_workers=0,
                          report=False, out=str(run)), verbose=False)
    cfg = RunDir(run).config
    cfg.write_text(cfg.read_text().replace(f"folder:{tmp_path / 'tiny'}", "folder:tiny"))  # as v0.1 stored it
    assert set(evaluate_run(run)) == {"accuracy", "loss"}


def test_evaluate_on_another_dataset_checks_it_fits(logreg_run, tmp_path, capsys):
    from PIL import Image

    for digit in range(10):  # MNIST test digits as a folder of PNGs, one class folder per digit
        (tmp_path / "digits" / str(digit)).mkdir(parents=True)
    from zenlearn.data import load_splits

    test = load_splits("mnist", val_split=0.0).test
    for i in range(150):
        Image.fromarray(test.x[i, 0].numpy()).save(tmp_path / "digits" / str(int(test.y[i])) / f"{i}.png")
    missing = [d for d in range(10) if not any((tmp_path / "digits" / str(d)).iterdir())]
    assert not missing
    code = main(["evaluate", str(logreg_run), "--data", f"folder:{tmp_path / 'digits'}", "--split", "test"])
    out = capsys.readouterr()
    assert code == 0, out.err
    acc = float(out.out.split("test accuracy")[1].split()[0])
    assert 0.4 < acc <= 1.0  # the model's own preprocessing: grayscale 28 x 28, scaled by 1/255
    code = main(["evaluate", str(logreg_run), "--data", "mnist1d"])
    err = capsys.readouterr().err
    assert code == 2 and "--data mnist1d does not fit the trained model (" in err and "input shape" in err
