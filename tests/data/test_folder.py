"""Image-folder datasets: layouts, seeded splits, streaming workers, corrupt files, train → predict."""

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from zenlearn.cli.main import main
from zenlearn.config import TrainConfig
from zenlearn.data.folder import FolderLoader, ImageFiles, load_folder
from zenlearn.errors import UsageError
from zenlearn.workflows.train import evaluate_run, train_run


def stripes(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Vertical ("v") or horizontal ("h") stripes with noise: easy to tell apart, never identical."""
    img = np.zeros((size, size), np.float32)
    phase = rng.integers(0, 4)
    if kind == "v":
        img[:, phase::4] = 1
    else:
        img[phase::4, :] = 1
    img = np.clip(img * 200 + rng.normal(30, 20, img.shape), 0, 255)
    return img.astype(np.uint8)


def make_folder(root, per_class=30, size=16, classes=("horizontal", "vertical"), fmt="png", rgb=False):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            arr = stripes(name[0], size, rng)
            im = Image.fromarray(arr).convert("RGB") if rgb else Image.fromarray(arr)
            im.save(root / name / f"{i:03d}.{fmt}")
    return root


def test_class_per_folder_with_seeded_stratified_split(tmp_path):
    root = make_folder(tmp_path / "imgs", per_class=20)
    (root / "vertical" / "nested").mkdir()
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(root / "vertical" / "nested" / "deep.bmp")
    (root / "vertical" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    s = load_folder(str(root), val_split=0.25, seed=3, workers=0)
    assert s.spec.classes == ["horizontal", "vertical"] and s.spec.input_shape == (3, 16, 16)
    assert len(s.train) + len(s.val) == 41 and len(s.val) == 10  # 5 per class, stratified
    assert sorted(np.bincount(s.val.labels).tolist()) == [5, 5]
    assert s.test is s.val
    again = load_folder(str(root), val_split=0.25, seed=3, workers=0)
    assert again.val.paths == s.val.paths
    assert load_folder(str(root), val_split=0.25, seed=4, workers=0).val.paths != s.val.paths


def test_train_val_test_subfolders_and_options(tmp_path):
    for split in ("train", "val", "test"):
        make_folder(tmp_path / "d" / split, per_class=4, classes=("a", "b", "c"))
    s = load_folder(str(tmp_path / "d"), image_size=(8, 12), color="grayscale", workers=0)
    assert (len(s.train), len(s.val), len(s.test)) == (12, 12, 12)
    assert s.spec.input_shape == (1, 8, 12) and s.spec.num_outputs == 3
    x, y = next(iter(s.loader(s.train, 5)))
    assert x.shape == (5, 1, 8, 12) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    with pytest.raises(UsageError, match="--class-mode binary needs exactly 2 class folders"):
        load_folder(str(tmp_path / "d"), class_mode="binary")


def test_bad_folders_are_clear_errors(tmp_path):
    with pytest.raises(UsageError, match="is not a folder"):
        load_folder(str(tmp_path / "missing"))
    make_folder(tmp_path / "one", per_class=2, classes=("only",))
    with pytest.raises(UsageError, match="found 1 class folder"):
        load_folder(str(tmp_path / "one"))
    make_folder(tmp_path / "noval", per_class=2)
    with pytest.raises(UsageError, match="nothing to evaluate on"):
        load_folder(str(tmp_path / "noval"), val_split=0)


def test_streaming_loader_matches_in_process_decoding_and_bounds_lookahead(tmp_path):
    root = make_folder(tmp_path / "imgs", per_class=24)
    files = ImageFiles([str(p) for p in sorted(root.rglob("*.png"))], [0] * 24 + [1] * 24)
    ref = FolderLoader(files, 4, (1, 16, 16), shuffle=True, seed=5, workers=0)
    par = FolderLoader(files, 4, (1, 16, 16), shuffle=True, seed=5, workers=2)
    it = iter(par)
    first = next(it)
    assert par.submitted <= 1 + 2 * 2  # never more than 2 batches per worker ahead
    batches = [first, *it]
    expected = list(ref)
    assert len(batches) == len(expected) == 12
    for (a, ya), (b, yb) in zip(batches, expected):
        assert torch.equal(a, b) and torch.equal(ya, yb)
    # resume inside an epoch: the same permutation, batches 3.. of it
    ref.set_epoch(0, skip_batches=3)
    assert torch.equal(next(iter(ref))[0], expected[3][0])
    ref.set_epoch(1)
    assert not torch.equal(next(iter(ref))[0], expected[0][0])


def test_corrupt_image_stops_with_its_name_or_is_skipped_and_counted(tmp_path, capsys):
    root = make_folder(tmp_path / "imgs", per_class=12)
    bad = root / "vertical" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    (root / "horizontal" / "empty.jpg").write_bytes(b"")
    base = dict(data=f"folder:{root}", model="mlp", hidden=(16,), epochs=1, batch_size=8, decode_workers=2,
                val_split=0.25, image_size=(16, 16), color="grayscale")
    with pytest.raises(UsageError, match=r"broken\.png: cannot read image .*--skip-bad-images|empty\.jpg: cannot"):
        train_run(TrainConfig(**base, out=str(tmp_path / "r1")), verbose=False)
    code = main(["train", "--data", f"folder:{root}", "--model", "mlp", "--hidden", "16", "--epochs", "1",
                 "--image-size", "16,16", "--color", "grayscale", "--out", str(tmp_path / "r2"), "--quiet"])
    assert code == 2 and "cannot read image" in capsys.readouterr().err
    summary = train_run(TrainConfig(**base, skip_bad_images=True, out=str(tmp_path / "r3")), verbose=False)
    assert summary["skipped_images"] == 2
    assert json.loads((tmp_path / "r3" / "summary.json").read_text())["skipped_images"] == 2


def test_png_folder_trains_end_to_end_and_predicts_one_of_its_files(tmp_path, capsys):
    root = make_folder(tmp_path / "shapes", per_class=40, size=16, classes=("horizontal", "vertical"))
    weird = root / "odd $(name); ..%2f"  # class names never become paths zenlearn writes
    make_folder(weird, per_class=1)  # nested: files inside it belong to class "..odd class name"
    before = set(os.listdir(tmp_path))
    run = tmp_path / "run"
    code = main(["train", "--data", f"folder:{root}", "--model", "seed-cnn", "--epochs", "4", "--lr", "0.003",
                 "--batch-size", "16", "--color", "grayscale", "--augment", "horizontal_flip=true,width_shift_range=2",
                 "--out", str(run), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert set(os.listdir(tmp_path)) == before | {"run"}
    assert sorted(os.listdir(run)) == ["checkpoint.pt", "config.yaml", "data.json", "events.jsonl", "metrics.csv",
                                       "model.safetensors", "report.html", "state.json", "summary.json"]
    report = (run / "report.html").read_text()
    assert "Errors on the test set" in report and "predictions unavailable" not in report
    summary = json.loads((run / "summary.json").read_text())
    assert summary["data"]["train"] + summary["data"]["val"] == 82 and summary["skipped_images"] == 0
    assert summary["test"]["accuracy"] >= 0.8
    spec = json.loads((run / "data.json").read_text())
    assert spec["classes"] == ["horizontal", "odd $(name); ..%2f", "vertical"] and spec["input_shape"] == [1, 16, 16]
    assert evaluate_run(run)["accuracy"] == pytest.approx(summary["test"]["accuracy"])
    # predict resizes any image the way training did: a 40x40 RGB JPEG of vertical stripes
    big = tmp_path / "big.png"
    Image.fromarray(np.kron(stripes("v", 16, np.random.default_rng(1)), np.ones((3, 3), np.uint8))).convert(
        "RGB").resize((40, 40)).save(big)
    capsys.readouterr()
    assert main(["predict", str(run), str(root / "vertical" / "000.png"), str(big)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split("\t")[1] for ln in lines] == ["vertical", "vertical"]


def test_distill_from_a_teacher_trained_on_an_image_folder(tmp_path):
    """Streaming folders have no in-memory array to cache teacher logits on: the teacher runs per batch,
    and val/test are read through the folder loader."""
    from zenlearn.distill.methods import DistillConfig
    from zenlearn.workflows.distill import distill_run

    root = make_folder(tmp_path / "imgs", per_class=20, size=16)
    base = dict(data=f"folder:{root}", model="mlp", epochs=2, batch_size=8, decode_workers=0, val_split=0.25,
                image_size=(16, 16), color="grayscale", report=False, threads=1)
    train_run(TrainConfig(**base, hidden=(32,), out=str(tmp_path / "teacher")), verbose=False)
    summary = distill_run(TrainConfig(**base, hidden=(8,), out=str(tmp_path / "kd")),
                          DistillConfig(teacher=str(tmp_path / "teacher"), temperature=4.0, alpha=0.9), verbose=False)
    for role in ("teacher", "student_scratch", "student_distilled"):
        assert summary[role]["test"]["samples"] == 10 and summary[role]["val"]["samples"] == 10
    assert summary["test_error_gap"] == summary["student_scratch"]["test"]["errors"] - \
        summary["student_distilled"]["test"]["errors"]
