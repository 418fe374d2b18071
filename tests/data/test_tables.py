"""Table datasets (table:, npz:, sklearn:), their fitted preprocessing, and predictions on new rows."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa
import pytest
import torch

from zenlearn import TrainConfig, train_run
from zenlearn.cli.main import main
from zenlearn.data import load_splits
from zenlearn.data.preprocess import ONE_HOT_MAX, TablePreprocess, column_roles
from zenlearn.data.tablefile import SKLEARN_TABLES
from zenlearn.data.tables import holdout
from zenlearn.io.rundir import RunDir
from zenlearn.workflows.predict import predict_table
from zenlearn.workflows.train import evaluate_run


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def house_rows(n, seed=0):
    """size (numeric, some empty), color (3 categories), city (more than ONE_HOT_MAX), flag (bool), price."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        size, color, city, flag = rng.normal(50, 10), rng.choice(["red", "green", "blue"]), int(rng.integers(0, 30)), rng.random() < 0.5
        price = 3 * size + 10 * (color == "red") + 0.5 * city + 5 * flag + rng.normal(0, 1)
        rows.append(["" if rng.random() < 0.05 else f"{size:.2f}", color, f"c{city}", str(flag).lower(), f"{price:.3f}"])
    return ["size", "color", "city", "flag", "price"], rows


@pytest.fixture(scope="module")
def house(tmp_path_factory):
    d = tmp_path_factory.mktemp("house")
    header, rows = house_rows(300)
    return write_csv(d / "house.csv", header, rows)


@pytest.mark.parametrize("name", list(SKLEARN_TABLES))
def test_sklearn_tables_load_offline_with_their_task(name):
    s = load_splits(f"sklearn:{name}", test_split=0.2, val_split=0.1)
    task = "regression" if name == "diabetes" else "classification"
    assert s.spec.task == task and s.spec.kind == "vector"
    n = len(s.train) + len(s.val) + len(s.test)
    assert abs(len(s.test) - 0.2 * n) <= 1 + (len(s.spec.classes) if task == "classification" else 0)
    x = s.train.x
    assert torch.allclose(x.mean(0)[x.std(0) > 0], torch.zeros(1), atol=1e-4)  # standardised on these rows


def test_roles_encodings_and_the_statistics_come_from_the_training_rows_only(house):
    s = load_splits(f"table:{house}", val_split=0.2, seed=3)
    prep = s.preprocess
    roles = {c.name: c.role for c in prep.columns}
    assert roles == {"size": "numeric", "color": "one-hot", "city": "embedding", "flag": "one-hot"}
    assert prep.columns[0].missing and s.spec.embedded == [len(prep.columns[2].categories) + 1]
    assert len(prep.columns[2].categories) > ONE_HOT_MAX
    size = s.train.x[:, 0].double()
    assert abs(float(size.mean())) < 1e-6  # train rows: mean 0 exactly, so val / test rows did not count
    assert s.spec.target_std > 1 and s.spec.input_shape == (prep.width,)
    assert abs(float(s.val.x[:, 0].mean())) > 1e-4


def test_split_is_seeded_and_stratified():
    labels = np.array([0] * 80 + [1] * 20)
    a, b = holdout(100, 0.2, 7, labels), holdout(100, 0.2, 7, labels)
    assert (a[1] == b[1]).all() and (labels[a[1]] == 1).sum() == 4 and len(a[1]) == 20
    assert not (holdout(100, 0.2, 8, labels)[1] == a[1]).all()


def test_preprocessing_json_round_trip_and_unknown_categories():
    t = pa.table({"n": [1.0, 2.0, None, 4.0], "c": ["a", "b", "a", None], "y": [0, 1, 0, 1]})
    prep = TablePreprocess.fit(t, column_roles(t, target="y"), np.arange(4))
    again = TablePreprocess.from_dict(json.loads(json.dumps(prep.to_dict())))
    new = pa.table({"n": [2.0], "c": ["never seen"]})
    assert (again.transform(new) == prep.transform(new)).all()
    assert prep.feature_names()[prep.feature_names().index("c=(unknown)")] and prep.transform(new)[0, 2] == 1


def test_npz_with_test_arrays(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)), (rng.random(60) > 0.5).astype(np.int64)
    np.savez(tmp_path / "a.npz", x=x, y=y, x_test=x[:10], y_test=y[:10])
    s = load_splits(f"npz:{tmp_path}/a.npz", val_split=0.0)
    assert (len(s.train), len(s.test), s.spec.task, s.spec.input_shape) == (60, 10, "classification", (3,))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_predict_without_the_target_equals_evaluate_on_the_same_rows(task, tmp_path, one_thread):
    header, rows = house_rows(240, seed=1)
    if task == "classification":
        rows = [r[:-1] + ["expensive" if float(r[-1]) > 160 else "cheap"] for r in rows]
    write_csv(tmp_path / "train.csv", header, rows[:180])
    write_csv(tmp_path / "test.csv", header, rows[180:])
    write_csv(tmp_path / "new.csv", header[:-1], [r[:-1] for r in rows[180:]])  # no target column
    cfg = TrainConfig(data=f"table:{tmp_path}/train.csv", test_data=str(tmp_path / "test.csv"), model="mlp",
                      hidden=(16,), epochs=3, batch_size=32, report=False, out=str(tmp_path / "run"))
    summary = train_run(cfg, verbose=False)
    evaluated = evaluate_run(tmp_path / "run")
    assert evaluated == pytest.approx({k: summary["test"][k] for k in evaluated})
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "new.csv"), "--output", str(tmp_path / "p.csv")]) == 0
    with open(tmp_path / "p.csv") as f:
        out = list(csv.DictReader(f))
    assert len(out) == 60 and list(out[0])[:4] == header[:-1]
    truth = [r[-1] for r in rows[180:]]
    if task == "classification":
        acc = np.mean([o["prediction"] == t for o, t in zip(out, truth)])
        assert acc == pytest.approx(evaluated["accuracy"])
        assert {"probability_cheap", "probability_expensive"} <= set(out[0])
    else:
        mae = np.mean([abs(float(o["prediction"]) - float(t)) for o, t in zip(out, truth)])
        assert mae == pytest.approx(evaluated["mae"], rel=1e-4)
        assert set(evaluated) == {"loss", "mae", "rmse", "r2"}


def test_evaluate_uses_the_saved_preprocessing(house, tmp_path, one_thread):
    cfg = TrainConfig(data=f"table:{house}", model="mlp", hidden=(8,), epochs=1, report=False, out=str(tmp_path / "r"))
    summary = train_run(cfg, verbose=False)
    rd = RunDir(tmp_path / "r")
    saved = json.loads(rd.preprocess.read_text())
    assert saved["columns"][0]["name"] == "size" and saved["target"]["name"] == "price"
    assert evaluate_run(rd.path)["mae"] == pytest.approx(summary["test"]["mae"])
    saved["columns"][0]["mean"] += 100.0  # evaluate reads the file, not a refit
    rd.preprocess.write_text(json.dumps(saved))
    assert evaluate_run(rd.path)["mae"] != pytest.approx(summary["test"]["mae"])


def test_unseen_category_at_predict_goes_to_unknown(house, tmp_path, one_thread):
    cfg = TrainConfig(data=f"table:{house}", model="mlp", hidden=(8,), epochs=1, report=False, out=str(tmp_path / "r"))
    train_run(cfg, verbose=False)
    write_csv(tmp_path / "n.csv", ["size", "color", "city", "flag"], [["50", "purple", "nowhere", "true"]])
    out = predict_table(tmp_path / "r", tmp_path / "n.csv")
    assert out.num_rows == 1 and np.isfinite(out.column("prediction").to_numpy()).all()


def test_a_big_csv_is_read_block_by_block_into_the_same_table(tmp_path, monkeypatch):
    import zenlearn.data.tablefile as tablefile

    header, rows = house_rows(400)
    path = write_csv(tmp_path / "h.csv", header, rows)
    whole = tablefile.read_table(path)
    monkeypatch.setattr(tablefile, "STREAM_ABOVE", 0)
    assert tablefile.read_table(path).equals(whole)
