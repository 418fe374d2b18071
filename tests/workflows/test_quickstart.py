import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zenlearn.cli.main import main
from zenlearn.training.build import check_config
from zenlearn.workflows.quickstart import PUBLISHED, RECIPES, quickstart_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipes_are_valid_configs_on_mnist1d(name):
    cfg = check_config(quickstart_config(name))
    assert cfg.data == "mnist1d" and cfg.model == name and name in PUBLISHED


def test_quickstart_trains_a_run_folder_per_model_and_prints_the_table(tmp_path, capsys, one_thread):
    code = main(["quickstart", "--models", "logreg,mlp", "--out", str(tmp_path), "--quiet", "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-3].split()[:4] == ["model", "published", "zenlearn", "train"]
    for name, line in zip(["logreg", "mlp"], lines[-2:]):
        cells = line.split()
        assert cells[0] == name and cells[1] == f"{100 * PUBLISHED[name]:.0f}"
        acc = float(cells[3]) / 100
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        assert summary["data"]["name"] == "mnist1d" and acc == pytest.approx(summary["test"]["accuracy"], abs=5e-4)
    # near the published figures (logistic 32 %, MLP 68 %); the CNN and GRU are measured by benchmarks/mnist1d.py
    assert 0.25 < json.loads((tmp_path / "logreg" / "summary.json").read_text())["test"]["accuracy"] < 0.40
    assert 0.55 < json.loads((tmp_path / "mlp" / "summary.json").read_text())["test"]["accuracy"] < 0.75
    # its table in its folder, a report of the folder, and a report in every run folder (issue 23, item 9)
    assert (tmp_path / "logreg" / "report.html").is_file() and (tmp_path / "mlp" / "report.html").is_file()
    assert lines[-1] in (tmp_path / "results.md").read_text()
    csv_rows = (tmp_path / "results.csv").read_text().splitlines()
    assert csv_rows[0].startswith("model,published_accuracy,accuracy,") and len(csv_rows) == 3
    page = (tmp_path / "report.html").read_text()
    assert "quick start" in page and "logreg/report.html" in page
    (tmp_path / "report.html").unlink()
    assert main(["report", str(tmp_path)]) == 0 and (tmp_path / "report.html").is_file()


@pytest.mark.parametrize("args,needle", [
    (["quickstart", "--models", "svm"], "--models: expected a comma-separated subset of logreg,mlp,cnn,gru, got 'svm'"),
    (["quickstart", "--seeds", "0"], "--seeds: expected an integer >= 1, got 0"),
    (["plot-activations", "--names", "relu,rleu"], "unknown activation 'rleu'; did you mean 'relu'? choose one of: sigmoid"),
    (["plot-activations", "--lo", "2", "--hi", "1"], "--lo/--hi: expected --lo < --hi, got 2.0 and 1.0"),
    (["train", "--model", "cnn", "--pool", "sum"], "pool must be one of max, avg, none, got 'sum'"),
    (["train", "--model", "gru", "--head", "first"], "head must be one of auto, last, mean, max, flatten, step"),
    (["train", "--model", "cnn", "--channels", "32,x"], "option 'channels' (--channels) expects comma-separated"),
    (["train", "--dropout", "1.5"], "dropout must be in [0, 1), got 1.5"),
])
def test_bad_options_are_one_line_and_exit_2(capsys, args, needle):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


def test_plot_activations_command(tmp_path, capsys):
    out = tmp_path / "acts.png"
    assert main(["plot-activations", "--out", str(out), "--names", "relu,leaky_relu,elu", "--elu-alpha", "0.5"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and "3 activations" in capsys.readouterr().out


def test_train_cli_on_sine_reports_mse_and_baseline(tmp_path):
    r = subprocess.run([sys.executable, "-m", "zenlearn", "train", "--data", "sine", "--model", "lstm", "--hidden-size",
                        "16", "--epochs", "1", "--train-subset", "500", "--out", str(tmp_path / "s"), "--quiet",
                        "--no-report"], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["mse"] > 0 and summary["baseline_mse"] > 0 and "mae" in summary["test"]


@pytest.mark.slow
@pytest.mark.parametrize("script,args,needle", [
    ("survey_mlp.py", ["--epochs", "2", "--train-subset", "3000"], "test accuracy"),
    ("survey_cnn.py", ["--epochs", "2", "--train-subset", "3000"], "test accuracy"),
    ("survey_rnn.py", ["--epochs", "2", "--train-subset", "2000"], "test mse"),
])
def test_survey_examples_run(tmp_path, script, args, needle, data_dir):
    extra = ["--out", str(tmp_path / "run")] if script != "survey_rnn.py" else []
    r = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args, *extra], capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    last = r.stdout.strip().splitlines()[-1]
    assert needle in last
    if script == "survey_rnn.py":
        mse, baseline = map(float, re.search(r"test mse (\S+)  baseline mse (\S+)", last).groups())
        assert mse * 5 < baseline, last
    else:
        assert float(last.split()[2]) > 0.80, last


@pytest.mark.slow
def test_distill_example_runs_the_protocol_end_to_end(tmp_path, data_dir):
    out = tmp_path / "d"
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "distill_mnist.py"), "--out", str(out),
                        "--train-subset", "500", "--teacher-epochs", "1", "--student-epochs", "1",
                        "--student-hidden", "16", "--sweep", "temperature=1,4", "alpha=0.9", "--seeds", "0,1",
                        "--threads", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((out / "results.json").read_text())
    errors = res["test_errors"]
    assert res["seeds"] == [0, 1] and res["chosen"]["split"] == "val" and res["chosen"]["temperature"] in (1, 4)
    assert res["gap_scratch_minus_distilled"] == [s - d for s, d in zip(errors["student_scratch"],
                                                                         errors["student_distilled"])]
    assert "width_shift_range=2" in res["settings"]["teacher"]  # the teacher is jittered, the student is not
    assert (out / "seed0" / "sweep.png").is_file() and "gap scratch − distilled" in (out / "results.md").read_text()
