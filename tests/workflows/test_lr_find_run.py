"""`zenlearn lr-find` (zenlearn.workflows.lr_find): the run folder's plot, table and suggestion."""

import csv
import json

import pytest

from zenlearn.cli.main import main


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_lr_find_cli_writes_plot_and_suggestion(tmp_path, data_dir, capsys):
    out = tmp_path / "lrf"
    code = main(["lr-find", "--model", "mlp", "--hidden", "16", "--train-subset", "640", "--optimizer", "momentum",
                 "--steps", "30", "--start-lr", "1e-4", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "suggested lr" in printed and "minimum of the smoothed loss / 10" in printed
    info = json.loads((out / "lr_find.json").read_text())
    assert info["suggested_lr"] == pytest.approx(info["min_loss_lr"] / 10)
    assert (out / "lr_find.png").read_bytes()[:4] == b"\x89PNG" and len(read(out / "lr_find.csv")) == info["steps"]
    assert main(["lr-find", "--start-lr", "1", "--end-lr", "0.1", "--out", str(tmp_path / "x")]) == 2
    assert "need 0 < --start-lr < --end-lr" in capsys.readouterr().err
