"""The 2-D toy datasets (circle, xor, gauss, spiral, moons with k classes) and a plane's extent, own CSV included."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from zenlearn import TrainConfig, train_run
from zenlearn.cli.main import main
from zenlearn.data import DATASETS, load_splits, plane_grid
from zenlearn.data.toy import TOYS, make_toy, parse_toy
from zenlearn.errors import UsageError
from zenlearn.io.rundir import RunDir


def inside(x, extent):
    x0, x1, y0, y1 = extent
    return bool(((x[:, 0] >= x0) & (x[:, 0] <= x1) & (x[:, 1] >= y0) & (x[:, 1] <= y1)).all())


@pytest.mark.parametrize("name", list(TOYS))
def test_toy_set_is_a_seeded_balanced_plane(name):
    k = 2 if name == "xor" else 4
    s = load_splits(f"{name}:classes={k},samples=400", val_split=0.1)
    assert (len(s.train), len(s.val), len(s.test)) == (288, 32, 80)
    assert s.spec.input_shape == (2,) and s.spec.kind == "vector" and s.spec.num_outputs == k
    assert s.spec.task == "classification" and s.spec.classes == [str(c) for c in range(k)]
    every = torch.cat([s.train.y, s.val.y, s.test.y])
    assert torch.bincount(every).tolist() == [400 // k] * k
    assert all(inside(d.x, s.spec.extent) for d in (s.train, s.val, s.test))
    again = load_splits(f"{name}:classes={k},samples=400", val_split=0.1)
    assert torch.equal(again.train.x, s.train.x) and torch.equal(again.test.y, s.test.y)
    other = make_toy(name, samples=400, classes=k, seed=1)
    assert not torch.equal(other.x, make_toy(name, samples=400, classes=k).x)
    assert s.train.x.abs().max() < 1.6  # about the unit box: an MLP needs no normalisation


def test_noise_zero_gives_the_clean_shapes():
    r = make_toy("circle", samples=300, classes=3, noise=0).x.norm(dim=1)
    assert r.max() <= 1.0 + 1e-6
    y = make_toy("circle", samples=300, classes=3, noise=0).y
    assert r[y == 0].max() <= 1 / 3 + 1e-6 and r[y == 2].min() >= 2.2 / 3 - 1e-6  # rings do not overlap
    xor = make_toy("xor", samples=200, noise=0)
    assert torch.equal((xor.x[:, 0] * xor.x[:, 1] < 0).long(), xor.y)  # class 1: the signs differ


@pytest.mark.parametrize("arg, message", [
    ("classes=1", "--data spiral:classes=1: classes must be >= 2, got 1; e.g. --data spiral:classes=3"),
    ("k=3", "--data spiral:k=3: unknown option 'k'; choose from classes, samples, noise, seed"),
    ("3", "--data spiral:3: expected KEY=VALUE options, got '3'"),
    ("noise=loud", "--data spiral:noise=loud: noise expects a number, got 'loud'"),
    ("noise=-1", "noise must be in [0, 10], got -1.0"),
    ("noise=nan", "noise must be in [0, 10], got nan"),
    ("samples=30,classes=4", "samples must be >= 10 per class (40 for 4 classes), got 30"),
    ("classes=2.5", "classes expects an integer, got '2.5'"),
])
def test_bad_options_are_one_line(arg, message):
    with pytest.raises(UsageError, match=None) as e:
        parse_toy("spiral", arg)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_xor_has_two_classes():
    with pytest.raises(UsageError, match="xor has exactly 2 classes, got classes=3"):
        load_splits("xor:classes=3")


def test_moons_alias_and_listing(capsys):
    assert DATASETS.entry("two-moons").name == "moons"
    assert main(["list", "datasets"]) == 0
    out = capsys.readouterr().out
    assert all(f"\n  {n} " in out for n in TOYS)


def test_plane_grid_covers_the_extent_in_image_order():
    g = plane_grid([-1.0, 1.0, -2.0, 2.0], 5)  # (25, 2)
    assert g.shape == (25, 2) and g[0].tolist() == [-1.0, 2.0] and g[-1].tolist() == [1.0, -2.0]
    assert g.view(5, 5, 2)[:, :, 1].diff(dim=0).lt(0).all()  # rows go down the plane


def test_other_data_has_no_extent():
    assert load_splits("mnist1d", train_subset=50).spec.extent == []


def two_d_csv(path, n=300):
    """Own 2-D data: two numeric feature columns in their own units and a class column of words."""
    d = make_toy("gauss", samples=n, classes=3, seed=5)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["height_cm", "weight_kg", "kind"])
        for (a, b), c in zip(d.x.tolist(), d.y.tolist()):
            w.writerow([f"{170 + 20 * a:.3f}", f"{70 + 15 * b:.3f}", ["cat", "dog", "fox"][c]])
    return path


def test_own_two_column_csv_is_a_plane(tmp_path):
    s = load_splits(f"table:{two_d_csv(tmp_path / 'own.csv')}")
    assert s.spec.input_shape == (2,) and s.spec.classes == ["cat", "dog", "fox"]
    # the extent is in the model's units (standardised columns), where a boundary grid is evaluated
    assert -4 < s.spec.extent[0] < -1 and 1 < s.spec.extent[1] < 4
    assert all(inside(d.x, s.spec.extent) for d in (s.train, s.val, s.test))
    with open(tmp_path / "three.csv", "w") as f:
        f.write("a,b,c,y\n" + "".join(f"{i % 7},{i % 3},{i % 5},{i % 2}\n" for i in range(40)))
    assert load_splits(f"table:{tmp_path / 'three.csv'}").spec.extent == []


def test_toy_and_csv_planes_train_and_keep_their_extent(tmp_path, one_thread):
    for data, out in ((f"table:{two_d_csv(tmp_path / 'own.csv')}", "csv"), ("gauss:classes=3,samples=300", "gauss")):
        cfg = TrainConfig(data=data, model="mlp", hidden=(16,), epochs=8, lr=0.05, optimizer="adam", batch_size=32,
                          out=str(tmp_path / out), report=False)
        summary = train_run(cfg, verbose=False)
        spec = json.loads(RunDir(tmp_path / out).data.read_text())
        assert spec["input_shape"] == [2] and len(spec["extent"]) == 4
        assert summary["test"]["accuracy"] > 0.9, summary["test"]  # three separate blobs: far above 1/3 chance
