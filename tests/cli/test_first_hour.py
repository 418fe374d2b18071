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


# ---------------------------------------------------------------- item 8: typos get help

@pytest.mark.parametrize("args,line", [
    (["train", "--modle", "cnn"], "zenlearn train: error: unrecognized arguments: --modle cnn; did you mean --model? "
                                  "See `zenlearn train --help`"),
    (["train", "--batchsize", "3"], "did you mean --batch-size? See `zenlearn train --help`"),
    (["evaluate", "r", "--split", "tst"], "invalid choice: 'tst' (choose from 'test', 'val'); did you mean 'test'? "
                                          "See `zenlearn evaluate --help`"),
    (["trian"], "did you mean 'train'? See `zenlearn --help`"),
    (["train", "--model", "cnnn"], "unknown model 'cnnn'; did you mean 'cnn'? choose one of: seed-cnn, mlp"),
    (["train", "--optimizer", "adamm"], "unknown optimizer 'adamm'; did you mean 'adam'? choose one of: sgd"),
    (["train", "--schedule", "cosin"], "unknown schedule 'cosin'; did you mean 'cosine'? choose one of:"),
    (["list", "modles"], "unknown kind 'modles'; did you mean 'models'? choose one of: models"),
])
def test_did_you_mean(capsys, args, line):
    code, out, err = cli(capsys, *args)
    assert code == 2 and line in err and len(err.strip().splitlines()) == 1, err


def test_list_takes_the_singular(capsys):
    code, out, err = cli(capsys, "list", "model")
    assert code == 0 and out.startswith("models:\n") and "seed-cnn" in out


def test_train_help_is_grouped_into_sections_from_the_config_fields(capsys):
    from zenlearn.config import TrainConfig, field_names
    from zenlearn.config.fields import field_sections

    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    titles = ["data", "model", "optimization", "augmentation", "output", "runtime"]
    at = [text.index(f"\n{t} (also YAML keys):\n") for t in titles]
    assert at == sorted(at)  # in this order
    sections = field_sections(TrainConfig)
    assert set(sections) == set(field_names(TrainConfig)) and set(sections.values()) == set(titles)
    for flag, section in (("--batch-size", "optimization"), ("--early-stopping", "optimization"),
                          ("--augment", "augmentation"), ("--out ", "output"), ("--seed", "runtime"),
                          ("--deterministic", "runtime"), ("--hidden-size", "model"), ("--val-split", "data")):
        i = text.index(f"\n  {flag}")
        assert max(a for a, t in zip(at, titles) if a < i) == at[titles.index(section)], flag


# ---------------------------------------------------------------- item 7: early stopping

def test_early_stopping_says_where_it_stopped_and_records_it(tmp_path, capsys, one_thread):
    from zenlearn import TrainConfig, train_run

    # an LR so small that the weights never change: val_loss cannot improve after epoch 1
    cfg = TrainConfig(data="mnist1d", model="logreg", optimizer="sgd", lr=1e-30, epochs=5, early_stopping=2,
                      report=False, out=str(tmp_path / "es"))
    summary = train_run(cfg, verbose=True)
    out = capsys.readouterr().out
    assert ("early stopping: val_loss did not improve for 2 epochs; stopped after epoch 3 of 5, kept the weights "
            "of epoch 1 (val_loss ") in out
    assert out.index("epoch 3/5") < out.index("early stopping:")
    import json

    on_disk = json.loads((tmp_path / "es" / "summary.json").read_text())
    for s in (summary, on_disk):
        assert (s["stopped_early"], s["best_epoch"], s["epochs"], s["epochs_requested"]) == (True, 1, 3, 5)
    plain = train_run(cfg.replace(early_stopping=None, epochs=1, out=str(tmp_path / "plain")), verbose=False)
    assert (plain["stopped_early"], plain["best_epoch"], plain["epochs_requested"]) == (False, None, 1)


# ---------------------------------------------------------------- item 12: Ctrl-C after an epoch

def test_an_interrupted_epochs_line_comes_before_the_interruption(capsys, one_thread):
    import torch

    from zenlearn import Callback, Trainer

    class CtrlCAtEpochEnd(Callback):
        def on_epoch_end(self, epoch, logs):
            raise KeyboardInterrupt("interrupted by SIGINT at the end of epoch 1")

    model = torch.nn.Linear(4, 2)
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), callbacks=[CtrlCAtEpochEnd()])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit((x, y), epochs=3, batch_size=16, verbose=True)
    assert capsys.readouterr().out.startswith("epoch 1/3  loss ")


# ---------------------------------------------------------------- item 18: output outside a terminal

NUM = r"\d+(?:\.\d+)?"  # 4 significant digits, e.g. 2.361, 0.1169, 0.96
EPOCH_LINE = rf"epoch \d+/2  loss {NUM}  accuracy {NUM}  val_loss {NUM}  val_accuracy {NUM}  \(\d+\.\ds\)"


@pytest.mark.parametrize("stderr_is_a_terminal", [False, True])
def test_epoch_lines_stay_whole_without_a_terminal(tmp_path, stderr_is_a_terminal):
    import pty
    import re

    master, slave = pty.openpty() if stderr_is_a_terminal else (None, None)
    env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "40", "OMP_NUM_THREADS": "1"}
    env.pop("ZENLEARN_PROGRESS", None)
    r = subprocess.run([sys.executable, "-m", "zenlearn", "train", "--data", "mnist1d", "--model", "logreg",
                        "--epochs", "2", "--no-report", "--out", str(tmp_path / "r")],
                       stdout=subprocess.PIPE, stderr=slave if slave is not None else subprocess.PIPE, text=True,
                       env=env)
    if slave is not None:
        os.close(slave)
        os.close(master)
    assert r.returncode == 0
    lines = [line for line in r.stdout.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2 and all(re.fullmatch(EPOCH_LINE, line) for line in lines), r.stdout
    assert "\x1b" not in r.stdout  # no bar, no escape codes in the piped output


def test_zenlearn_progress_overrides_the_detection(monkeypatch, capsys):
    from zenlearn.training.callbacks import ProgressBar

    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setenv("ZENLEARN_PROGRESS", "0")
    assert not ProgressBar(1, 1, stream=Terminal()).live
    monkeypatch.setenv("ZENLEARN_PROGRESS", "1")
    assert ProgressBar(1, 1, stream=sys.stderr).live
    monkeypatch.delenv("ZENLEARN_PROGRESS")
    assert ProgressBar(1, 1, stream=Terminal()).live and not ProgressBar(1, 1, stream=open(os.devnull, "w")).live
    monkeypatch.setattr(sys, "argv", ["zenlearn"])
    main(["train", "--no-progress", "--epochs", "0"])  # --no-progress sets it for this process and its workers
    assert os.environ["ZENLEARN_PROGRESS"] == "0"


# ---------------------------------------------------------------- item 11: predict

def test_predict_top_k_batch_size_and_csv_output(logreg_run, data_dir, tmp_path, capsys):
    import csv

    from zenlearn.data import load_splits

    test = load_splits("mnist", val_split=0.0).test
    np.save(tmp_path / "five.npy", test.x[:5, 0].numpy())
    code, out, err = cli(capsys, "predict", str(logreg_run), str(tmp_path / "five.npy"), "--top-k", "3",
                         "--batch-size", "2")
    assert code == 0 and err == "", err
    lines = [line.split("\t") for line in out.splitlines()]
    assert [row[0] for row in lines] == [f"{tmp_path / 'five.npy'}[{i}]" for i in range(5)]
    probs = [[float(p) for p in row[2::2]] for row in lines]
    assert all(len(row) == 7 and p == sorted(p, reverse=True) for row, p in zip(lines, probs))
    code, out, err = cli(capsys, "predict", str(logreg_run), str(tmp_path / "five.npy"), "--top-k", "2",
                         "--output", str(tmp_path / "p.csv"))
    assert code == 0 and out == "" and "wrote" in err
    rows = list(csv.DictReader(open(tmp_path / "p.csv")))
    assert list(rows[0]) == ["file", "index", "prediction", "probability", "prediction_2", "probability_2"]
    assert [r["prediction"] for r in rows] == [line[1] for line in lines]
    assert [int(r["index"]) for r in rows] == list(range(5))


def test_predict_warns_when_an_image_has_the_opposite_polarity(logreg_run, data_dir, tmp_path, capsys):
    import json

    from PIL import Image

    from zenlearn.data import load_splits

    mean = json.loads((logreg_run / "summary.json").read_text())["data"]["mean"]
    assert 0.1 < mean < 0.15  # MNIST: white digits on a black background
    digit = load_splits("mnist", val_split=0.0).test.x[0, 0].numpy()
    Image.fromarray(digit).save(tmp_path / "white-on-black.png")
    Image.fromarray(255 - digit).save(tmp_path / "black-on-white.png")
    code, out, err = cli(capsys, "predict", str(logreg_run), str(tmp_path / "white-on-black.png"))
    assert code == 0 and err == ""
    code, out, err = cli(capsys, "predict", str(logreg_run), str(tmp_path / "black-on-white.png"))
    assert code == 0 and len(out.splitlines()) == 1
    assert err.startswith(f"zenlearn: warning: {tmp_path / 'black-on-white.png'}: the image is mostly light (mean 0.")
    assert "the model expects light shapes on a dark background (white digit on black for MNIST); invert" in err


def test_dir_lists_the_lazy_public_names():
    import zenlearn

    names = dir(zenlearn)
    assert {"Trainer", "TrainConfig", "train_run", "load_run", "Augment", "__version__"} <= set(names)
    assert set(zenlearn.__all__) <= set(names)


# ---------------------------------------------------------------- item 16: class weights

def test_class_weight_weighs_the_training_loss_and_shows_in_the_report(tmp_path, one_thread):
    import json

    import torch
    import torch.nn.functional as F

    from zenlearn import TrainConfig, train_run
    from zenlearn.nn.tasks import get_task

    logits, y, w = torch.randn(6, 3), torch.tensor([0, 0, 1, 2, 2, 2]), torch.tensor([1.0, 3.0, 0.5])
    expected = (w[y] * F.cross_entropy(logits, y, reduction="none")).sum() / w[y].sum()  # by hand
    assert torch.allclose(get_task("classification").loss(logits, y, class_weight=w), expected)

    cfg = TrainConfig(data="mnist1d", model="logreg", epochs=1, class_weight="3=2.5",
                      out=str(tmp_path / "cw"))
    summary = train_run(cfg, verbose=False)
    assert summary["class_weight"] == {str(c): (2.5 if c == 3 else 1.0) for c in range(10)}
    on_disk = json.loads((tmp_path / "cw" / "summary.json").read_text())
    assert on_disk["class_weight"]["3"] == 2.5
    report = (tmp_path / "cw" / "report.html").read_text()
    assert "loss weight" in report
    balanced = train_run(cfg.replace(class_weight="balanced", report=False, out=str(tmp_path / "b")), verbose=False)
    w = np.array(list(balanced["class_weight"].values()))
    assert abs(float(w.mean()) - 1.0) < 0.05 and w.min() < 1 < w.max()  # near 1 for near-balanced MNIST-1D
    plain = train_run(cfg.replace(class_weight="none", report=False, out=str(tmp_path / "n")), verbose=False)
    assert "class_weight" not in plain


# ---------------------------------------------------------------- items 6, 13, 14: what the headers say

def test_distill_student_inherits_the_train_subset_and_the_headers_say_which_student(tmp_path, capsys, one_thread):
    from zenlearn import TrainConfig, train_run

    teacher = tmp_path / "teacher"
    train_run(TrainConfig(data="mnist1d", model="logreg", epochs=1, train_subset=300, report=False, out=str(teacher)),
              verbose=False)
    code, out, err = cli(capsys, "distill", "--teacher", str(teacher), "--student", "logreg", "--epochs", "1",
                         "--no-report", "--out", str(tmp_path / "kd"))
    assert code == 0, err
    assert "the student inherits the teacher's --data mnist1d, --val-split 0.1, --train-subset 300" in out
    assert "scratch (labels only): logreg on mnist1d (300 train by --train-subset, 400 val (the whole validation " \
           "split), 1,000 test)" in out
    assert "distilled (kd, T=" in out
    import json

    assert json.loads((tmp_path / "kd" / "summary.json").read_text())["splits"]["train"] == 300


def test_a_folder_without_test_says_where_its_test_split_comes_from(tmp_path, capsys, one_thread):
    make_digits_folder(tmp_path / "tiny", per_class=4)
    code, out, err = cli(capsys, "train", "--data", f"folder:{tmp_path / 'tiny'}", "--model", "logreg", "--epochs", "1",
                         "--val-split", "0.5", "--workers", "0", "--no-report", "--out", str(tmp_path / "r"))
    assert code == 0, err
    assert "(4 train, 4 val, 4 test (no test/ folder: the validation split, carved from the training images, is " \
           "also the test split)) on" in out


# ---------------------------------------------------------------- item 10: only the options that apply

def test_config_yaml_holds_only_what_applies_and_still_repeats_the_run(tmp_path, one_thread, capsys):
    import yaml

    first, again = tmp_path / "first", tmp_path / "again"
    args = ["--data", "mnist1d", "--model", "gru", "--hidden-size", "8", "--epochs", "1", "--optimizer", "sgd",
            "--activation", "elu", "--elu-alpha", "0.5", "--schedule", "cosine", "--quiet"]
    code, out, err = cli(capsys, "train", *args, "--out", str(first))
    assert code == 0, err
    cfg = yaml.safe_load((first / "config.yaml").read_text())
    for absent in ("hidden", "channels", "kernel_size", "color", "image_size", "activation", "elu_alpha",
                   "negative_slope", "betas", "eps", "lr_gamma", "lr_step_size"):
        assert absent not in cfg, absent
    assert (cfg["hidden_size"], cfg["momentum"], cfg["lr_min"]) == (8, None, None)  # gru, sgd, cosine options
    report = (first / "report.html").read_text()
    assert "hidden_size" in report and "kernel_size" not in report
    code, out, err = cli(capsys, "train", "--config", str(first / "config.yaml"), "--out", str(again))
    assert code == 0, err
    assert (again / "model.safetensors").read_bytes() == (first / "model.safetensors").read_bytes()
    strip = lambda text: text.replace(str(again), str(first))  # noqa: E731
    assert strip((again / "config.yaml").read_text()) == (first / "config.yaml").read_text()


def test_seed_cnn_on_mnist_config_has_no_other_models_options(tmp_path):
    from zenlearn import TrainConfig
    from zenlearn.training.build import inapplicable_fields

    gone = set(inapplicable_fields(TrainConfig(model="seed-cnn", data="mnist")))
    assert {"hidden", "hidden_size", "channels", "color", "activation"} <= gone
    kept = set(inapplicable_fields(TrainConfig(model="cnn", data=f"folder:{tmp_path}", activation="leaky_relu")))
    assert not {"hidden", "channels", "color", "image_size", "negative_slope"} & kept and "elu_alpha" in kept


# ---------------------------------------------------------------- items 20, 21, 22: what the report and CLI print

def test_most_confident_mistakes_come_first():
    import torch

    from zenlearn.report.run import confident_mistakes

    # wrong with 0.99 (sample 2), 0.55 (1) and 0.5 (3); sorting by the true class's probability instead would
    # give 2, 3, 1 (0.01, 0.3, 0.45)
    probs = torch.tensor([[0.9, 0.1, 0.0], [0.45, 0.55, 0.0], [0.01, 0.0, 0.99], [0.2, 0.5, 0.3]])
    y = torch.tensor([0, 0, 0, 2])
    assert confident_mistakes(probs, y).tolist() == [2, 1, 3]


def test_one_number_format_in_the_cli_and_the_report(tmp_path, capsys, one_thread):
    import re

    from zenlearn.report.html import fmt, fmt_spread

    assert fmt(5634.2, 3) == "5,630" and fmt(0.987654) == "0.9877" and fmt(123456.7) == "123,500"
    assert fmt_spread(0.951234, 0.0031416) == "0.9512 ± 0.0031"  # the spread gets the mean's decimals
    code, out, err = cli(capsys, "train", "--data", "sine", "--model", "lstm", "--hidden-size", "4", "--epochs", "1",
                         "--train-subset", "1200", "--quiet", "--out", str(tmp_path / "sine"))
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("test "))
    assert re.search(r"\(\d+\.\ds training, \d{1,3}(,\d{3})*( samples/s)", line), line
    rate = line.split("training, ")[1].split(" samples/s")[0]
    assert rate.replace(",", "").isdigit() and (float(rate.replace(",", "")) < 1000 or "," in rate), rate
    report = (tmp_path / "sine" / "report.html").read_text()
    assert "baseline_mse" in report  # the regression report, as summary.json
