"""The report of a table run: regression shows MAE, RMSE and R² and the predicted-vs-true plot; a classification
keeps its confusion matrix."""

import pytest

from zenlearn import TrainConfig, train_run


@pytest.mark.parametrize("data,needles", [
    ("sklearn:diabetes", ["<th>rmse</th>", "<th>r2</th>", "Predicted vs true, every test output (MAE ", "RMSE ", "R² "]),
    ("sklearn:iris", ["Confusion matrix (test set, accuracy"]),
])
def test_table_report(data, needles, tmp_path, one_thread):
    cfg = TrainConfig(data=data, model="mlp", hidden=(8,), epochs=2, out=str(tmp_path / "run"))
    train_run(cfg, verbose=False)
    html = (tmp_path / "run" / "report.html").read_text()
    for needle in needles:
        assert needle in html, needle
