"""Time-series runs end to end: variable-length JapaneseVowels trains, evaluates and resumes bit for bit."""

from __future__ import annotations

import json

import pytest

from zenlearn import TrainConfig, train_run
from zenlearn.cli.main import main

TINY = dict(data="ucr:JapaneseVowels", train_subset=48, val_split=0.2, batch_size=16, report=False)


@pytest.mark.parametrize("model, options", [("gru", {"hidden_size": 8}), ("fcn", {})])
def test_variable_length_run_resumes_bit_identical(tmp_path, model, options, one_thread):
    full = train_run(TrainConfig(model=model, epochs=2, out=str(tmp_path / "full"), **options, **TINY), verbose=False)
    train_run(TrainConfig(model=model, epochs=1, out=str(tmp_path / "half"), **options, **TINY), verbose=False)
    assert main(["train", "--resume", str(tmp_path / "half"), "--epochs", "2", "--quiet"]) == 0
    assert (tmp_path / "half" / "model.safetensors").read_bytes() == (tmp_path / "full" / "model.safetensors").read_bytes()
    data = json.loads((tmp_path / "full" / "data.json").read_text())
    assert data["variable_length"] and data["input_shape"] == [29, 12] and full["test"]["accuracy"] > 0.1
    assert main(["evaluate", str(tmp_path / "full")]) == 0


def test_series_stem_run_evaluates_again(tmp_path, one_thread):
    head = "@problemName toy\n@univariate true\n@equalLength false\n@classLabel true a b\n@data\n"
    rows = "\n".join(f"{','.join(str((i * j) % 7) for j in range(3 + i % 4))}:{'ab'[i % 2]}" for i in range(20))
    for split in ("TRAIN", "TEST"):
        (tmp_path / f"toy_{split}.ts").write_text(head + rows + "\n")
    out = tmp_path / "run"
    assert main(["train", "--data", f"series:{tmp_path / 'toy'}", "--model", "lstm", "--hidden-size", "4",
                 "--epochs", "1", "--no-report", "--quiet", "--out", str(out)]) == 0
    assert main(["evaluate", str(out)]) == 0


def test_config_yaml_keeps_the_series_options_that_apply():
    from zenlearn.training.build import inapplicable_fields

    ucr, forecast = inapplicable_fields(TrainConfig(data="ucr:GunPoint")), inapplicable_fields(
        TrainConfig(data="forecast:airline"))
    assert "normalize" not in ucr and {"window", "horizon", "column", "season"} <= set(ucr)
    assert not {"normalize", "window", "horizon", "column", "season"} & set(forecast)
    assert {"normalize", "window"} <= set(inapplicable_fields(TrainConfig(data="mnist")))


def test_forecast_run_puts_the_model_beside_the_naive_baselines(tmp_path, one_thread):
    out = tmp_path / "air"
    s = train_run(TrainConfig(data="forecast:airline", model="lstm", hidden_size=4, epochs=1, window=12,
                              val_split=0.1, out=str(out)), verbose=False)
    f = s["forecast"]
    assert set(f) >= {"model", "naive", "seasonal_naive", "season", "scale"} and f["season"] == 12
    assert f["model"]["mase"] == s["test"]["mase"] and abs(f["model"]["mae"] - s["test"]["mase"] * f["scale"]) < 1e-9
    assert "Forecast on the test span" in (out / "report.html").read_text()
