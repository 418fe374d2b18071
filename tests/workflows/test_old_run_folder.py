"""A run folder written before the move into subpackages (zenlearn 0.1, commit cd86885: logistic regression
on MNIST-1D, 2 epochs, --no-report) still evaluates, resumes and reports with today's code, with the same
numbers the old code gave (figures recorded when the fixture was made)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from zenlearn.cli.main import main
from zenlearn.report.build import write_report
from zenlearn.workflows.train import evaluate_run

OLD = Path(__file__).resolve().parents[1] / "fixtures" / "run-v0.1-logreg-mnist1d"


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    run = tmp_path / "old"
    shutil.copytree(OLD, run)
    return run


def test_old_run_evaluates_to_the_old_codes_numbers(old_run):
    m = evaluate_run(old_run)
    assert m["accuracy"] == 0.088  # `zenlearn evaluate` with the old code: test accuracy 0.0880, loss 2.4476
    assert m["loss"] == pytest.approx(2.4476, abs=5e-5)


def test_old_run_resumes_bit_for_bit_like_the_old_code(old_run, capsys):
    assert main(["train", "--resume", str(old_run), "--epochs", "3", "--quiet", "--no-report"]) == 0
    s = json.loads((old_run / "summary.json").read_text())
    # the old code, resumed from the same checkpoint to 3 epochs: test 0.094 / 2.414152145385742, val 0.0875
    assert s["epochs"] == 3 and s["test"]["accuracy"] == 0.094 and s["val"]["accuracy"] == 0.0875
    assert s["test"]["loss"] == pytest.approx(2.414152145385742, abs=1e-6)


def test_old_run_reports(old_run):
    html = write_report(old_run).read_text()
    assert "logreg on mnist1d" in html and "confusion" in html.lower()
