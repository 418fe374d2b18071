"""`--data photos[:N]`: real JPEG photos generated once from scikit-image's photographs, then read as a folder.

Generation is atomic (a temporary folder renamed into place): two processes racing both end with one complete
folder; a folder without the manifest is replaced; a missing scikit-image is one clear error."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from zenlearn.cli import main
from zenlearn.data import load_splits, streams
from zenlearn.data import photos as ph
from zenlearn.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("ZENLEARN_CACHE", str(tmp_path / "cache"))  # the one cache folder: photos-N/, folder-cache/
    return tmp_path / "cache"


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_folder_has_train_and_test_of_n_real_jpegs_per_class(tmp_path):
    folder = ph.photo_folder(3, root=tmp_path, workers=1)
    assert folder == tmp_path / "photos-3"
    for split in ("train", "test"):
        for cls in ph.CLASSES:
            files = sorted((folder / split / cls).iterdir())
            assert len(files) == 3
            with Image.open(files[0]) as im:
                assert im.format == "JPEG" and im.mode == "RGB" and 300 <= min(im.size) and max(im.size) <= 640
    assert json.loads((folder / ph.MANIFEST).read_text())["per_class"] == 3
    # the test photos are other crops than the training photos (another seed)
    assert (folder / "train/objects/object-00000.jpg").read_bytes() != (folder / "test/objects/object-00000.jpg").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["photos-3"]  # no temporary folder left behind


def test_second_call_reuses_the_folder_and_a_folder_without_manifest_is_replaced(tmp_path):
    folder = ph.photo_folder(2, root=tmp_path, workers=1)
    stamp = (folder / "train/objects/object-00000.jpg").stat().st_mtime_ns
    assert ph.photo_folder(2, root=tmp_path, workers=1) == folder
    assert (folder / "train/objects/object-00000.jpg").stat().st_mtime_ns == stamp  # not regenerated
    (folder / ph.MANIFEST).unlink()  # e.g. a copy made by hand, half-deleted
    (folder / "train/objects/object-00000.jpg").unlink()
    assert ph.photo_folder(2, root=tmp_path, workers=1) == folder
    assert (folder / "train/objects/object-00000.jpg").is_file() and (folder / ph.MANIFEST).is_file()


def test_two_processes_generating_at_once_leave_one_complete_folder(tmp_path):
    code = ("import sys; from pathlib import Path; from zenlearn.data.photos import photo_folder; "
            "print(photo_folder(12, root=Path(sys.argv[1]), workers=1))")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == [str(tmp_path / "photos-12")] * 2
    assert [p.name for p in tmp_path.iterdir()] == ["photos-12"]
    assert len(_files(tmp_path / "photos-12")) == 2 * 2 * 12 + 1
    for f in (tmp_path / "photos-12").rglob("*.jpg"):
        with Image.open(f) as im:
            im.load()  # every photo is whole


def test_photos_dataset_reads_like_a_folder_at_224_by_default(xdg):
    s = load_splits("photos:4", val_split=0.25, cache="memory", workers=0)
    assert s.spec.name == "photos:4" and s.spec.classes == ["objects", "textures"]
    assert s.spec.input_shape == (3, 224, 224)
    assert (len(s.train), len(s.val), len(s.test)) == (6, 2, 8)
    assert all(p.startswith(str(xdg / "photos-4")) for p in s.test.paths)
    small = load_splits("photos:4", val_split=0.25, image_size=(32, 32), train_subset=3)
    assert small.spec.input_shape == (3, 32, 32) and len(small.train) == 3
    assert streams("photos") and streams("folder:x") and not streams("mnist") and not streams("nope")


def test_train_and_evaluate_a_run_on_photos(xdg, tmp_path, one_thread, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "photos:4", "--image-size", "24,24", "--model", "cnn", "--channels", "4",
                 "--hidden", "8", "--epochs", "1", "--val-split", "0.25", "--augment", "horizontal_flip=true",
                 "--no-report", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["data"]["name"] == "photos:4" and summary["data"]["test"] == 8
    assert main(["evaluate", str(out)]) == 0
    assert "accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("arg", ["0", "-3", "many"])
def test_a_bad_count_is_one_line(arg, xdg, tmp_path, capsys):
    assert main(["train", "--data", f"photos:{arg}", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"--data photos:{arg}" in err and "photos:200" in err
    assert not xdg.exists() and not (tmp_path / "r").exists()


def test_without_scikit_image_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)  # `import skimage.data` now raises ImportError
    monkeypatch.setattr(ph, "_SOURCES", {})
    with pytest.raises(UsageError, match=r"zenlearn\[photos\]"):
        ph.photo_folder(2, root=tmp_path, workers=1)
    assert list(tmp_path.iterdir()) == []  # nothing half-made
