"""Image folders: decoding at the target size (draft JPEG, EXIF, odd formats) and the decoded cache's states
(hit, miss after a touch, corrupt → rebuilt, two processes racing, skipped files remembered)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zenlearn.data.cache as cache_mod
from zenlearn.cli import main
from zenlearn.data.cache import DecodedCache, read_trailer
from zenlearn.data.decode import decode_image
from zenlearn.data.folder import load_folder
from zenlearn.data.photos import write_odd_files
from zenlearn.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
SHAPE = (3, 48, 48)


def photo_like(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth colour gradients, a few blocks and sensor-like noise: JPEG-typical content (uint8 (H, W, 3))."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([np.sin(6 * xx + c) * 60 + np.cos(4 * yy * (c + 1)) * 50 + 120 for c in range(3)], -1)
    for _ in range(4):
        y, x = rng.integers(0, h - 40), rng.integers(0, w - 40)
        img[y : y + rng.integers(10, 40), x : x + rng.integers(10, 40)] = rng.uniform(0, 255, 3)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def jpeg_folder(root: Path, per_class: int = 6, size: tuple[int, int] = (200, 240)) -> Path:
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(photo_like(rng, *size)).save(root / cls / f"{i:02d}.jpg", quality=85)
    return root


def test_draft_decoding_stays_close_to_a_full_decode_followed_by_the_same_resize(tmp_path):
    rng = np.random.default_rng(1)
    diffs = []
    for i, (h, w) in enumerate([(300, 400), (480, 640), (640, 520), (333, 611)]):
        path = tmp_path / f"{i}.jpg"
        Image.fromarray(photo_like(rng, h, w)).save(path, quality=int(rng.integers(75, 96)))
        for target in ((3, 64, 64), (3, 112, 112), (1, 150, 150)):
            fast = decode_image(path, target).astype(np.int16)
            full = decode_image(path, target, draft=False).astype(np.int16)
            assert fast.shape == full.shape == target
            diffs.append(np.abs(fast - full).mean())
    # measured 0.6 grey levels on average on the generated photos at 224 x 224 (docs/benchmarks.md)
    assert np.mean(diffs) < 2.0 and max(diffs) < 4.0, diffs


def test_exif_orientation_is_applied_and_odd_formats_decode(tmp_path):
    broken = write_odd_files(tmp_path)
    upright = decode_image(tmp_path / "odd-cmyk.jpg", (1, 40, 50))  # the plain gradient: dark top, light bottom
    assert upright[0, 0].mean() < 30 and upright[0, -1].mean() > 225
    rotated = decode_image(tmp_path / "odd-exif-rotated.jpg", (1, 50, 40))  # orientation 6: shown turned 90°
    assert rotated[0, :, -1].mean() < 30 and rotated[0, :, 0].mean() > 225
    for name in ("odd-alpha.png", "odd-palette.png", "odd-16bit.png"):
        img = decode_image(tmp_path / name, (3, 32, 40))
        assert img.min() < 15 and img.max() > 240, name  # 16-bit: scaled to 8 bits, not clipped to white
    for path in broken:
        with pytest.raises(UsageError, match=str(path.name)):
            decode_image(path, (3, 32, 32))


def _count_decodes(monkeypatch) -> list[int]:
    calls = []
    real = cache_mod.decode_job

    def counting(job):
        calls.append(len(job[0]))
        return real(job)

    monkeypatch.setattr(cache_mod, "decode_job", counting)
    return calls


@pytest.mark.parametrize("mode", ["memory", "disk"])
def test_cache_hit_equals_decoding_and_decodes_nothing(tmp_path, monkeypatch, mode):
    root = jpeg_folder(tmp_path / "imgs")
    paths = sorted(str(p) for p in root.rglob("*.jpg"))
    calls = _count_decodes(monkeypatch)
    first = DecodedCache(paths, SHAPE, mode=mode, folder=tmp_path / "c").ensure()
    assert first.status == "built" and sum(calls) == len(paths)
    again = DecodedCache(paths[::-1], SHAPE, mode=mode, folder=tmp_path / "c").ensure()
    assert again.status == "hit" and sum(calls) == len(paths)  # nothing decoded the second time
    reference = np.stack([decode_image(p, SHAPE) for p in paths])
    np.testing.assert_array_equal(again.take(list(range(len(paths)))), reference)
    # the build's own rows (memory mode keeps what it decoded instead of reading the file back) are the same
    np.testing.assert_array_equal(first.take(list(range(len(paths)))), reference)
    assert again._release == (mode == "disk") and first._release == (mode == "disk")
    assert first.mode_used == again.mode_used == mode
    assert [p.name for p in (tmp_path / "c").iterdir()] == [again.file().name]  # no temporary files left


def test_decoding_workers_write_their_rows_straight_into_the_cache_file(tmp_path):
    root = jpeg_folder(tmp_path / "imgs", per_class=40)  # 80 files: 3 chunks of rows over 2 processes
    broken = write_odd_files(root / "a")
    paths = sorted(str(p) for p in root.rglob("*") if p.is_file())
    here = DecodedCache(paths, SHAPE, mode="disk", folder=tmp_path / "one", skip_bad_images=True).ensure()
    pool = DecodedCache(paths, SHAPE, mode="disk", folder=tmp_path / "two", workers=2, skip_bad_images=True).ensure()
    assert pool.file().read_bytes() == here.file().read_bytes()  # the same payload, CRCs and skipped rows
    assert sorted(pool.bad) == [str(p) for p in broken]
    stored = np.fromfile(pool.file(), np.uint8, count=pool.nbytes).reshape(len(paths), 48, 48, 3)
    first = next(p for p in paths if p not in pool.bad)
    np.testing.assert_array_equal(stored[pool.row[first]], decode_image(first, SHAPE).transpose(1, 2, 0))  # (H, W, C) rows


def test_touched_added_or_removed_file_is_a_miss(tmp_path):
    root = jpeg_folder(tmp_path / "imgs")
    paths = sorted(str(p) for p in root.rglob("*.jpg"))
    old = DecodedCache(paths, SHAPE, folder=tmp_path / "c").ensure()
    Image.new("RGB", (200, 240), (255, 0, 0)).save(paths[3])  # same name, new pixels
    os.utime(paths[3], ns=(1, 10**18))
    new = DecodedCache(paths, SHAPE, folder=tmp_path / "c").ensure()
    assert new.status == "rebuilt (files changed since it was built)" and new.file() == old.file()
    assert (new.take([3])[0, 0] > 250).all() and not (old.take([3])[0, 0] > 250).all()
    assert DecodedCache(paths[1:], SHAPE, folder=tmp_path / "c").file() != new.file()
    assert DecodedCache(paths, (1, 48, 48), folder=tmp_path / "c").file() != new.file()


@pytest.mark.parametrize("mode", ["memory", "disk"])  # memory checks the rows it reads, disk streams them first
@pytest.mark.parametrize("damage", ["flip a pixel byte", "truncate", "garbage trailer", "empty"])
def test_corrupt_cache_is_detected_and_rebuilt(tmp_path, damage, mode):
    root = jpeg_folder(tmp_path / "imgs")
    paths = sorted(str(p) for p in root.rglob("*.jpg"))
    good = DecodedCache(paths, SHAPE, folder=tmp_path / "c", mode=mode).ensure()
    expected = good.take(list(range(len(paths))))
    f = good.file()
    raw = bytearray(f.read_bytes())
    if damage == "flip a pixel byte":
        raw[1000] ^= 0xFF
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "garbage trailer":
        raw[-30:-22] = b"xxxxxxxx"
    else:
        raw = bytearray()
    del good  # (unmaps the file before it is rewritten in place)
    f.write_bytes(bytes(raw))
    again = DecodedCache(paths, SHAPE, folder=tmp_path / "c", mode=mode).ensure()
    assert again.status.startswith("rebuilt"), again.status
    np.testing.assert_array_equal(again.take(list(range(len(paths)))), expected)
    assert read_trailer(f, cache_mod.cache_key(paths, SHAPE), again.nbytes, verify=True)[0] is not None


RACER = """
import os, pathlib, sys, time, numpy as np
from zenlearn.data.cache import DecodedCache
barrier, paths = pathlib.Path(sys.argv[2]), sys.argv[3:]
(barrier / str(os.getpid())).touch()
deadline = time.monotonic() + 60
while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:  # a start barrier: both race from here
    time.sleep(0.001)
c = DecodedCache(paths, (3, 96, 96), mode="disk", folder=sys.argv[1]).ensure()
print(c.status, int(c.take(list(range(len(paths)))).astype(np.int64).sum()))
"""


def test_two_processes_racing_to_build_one_cache(tmp_path):
    root = jpeg_folder(tmp_path / "imgs", per_class=40, size=(300, 400))
    paths = sorted(str(p) for p in root.rglob("*.jpg"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    cmd = [sys.executable, "-c", RACER, str(tmp_path / "c"), str(barrier), *paths]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    statuses, sums = zip(*(o[0].split() for o in outs))
    assert len(list(barrier.iterdir())) == 2  # both were waiting at the barrier, so they really raced
    assert "built" in statuses and len(set(sums)) == 1  # both read the same pixels
    files = list((tmp_path / "c").iterdir())
    assert len(files) == 1 and files[0].suffix == ".zlc"  # one complete file, no temporary leftovers
    c = DecodedCache(paths, (3, 96, 96), folder=tmp_path / "c").ensure()
    assert c.status == "hit" and str(int(c.take(list(range(len(paths)))).astype(np.int64).sum())) == sums[0]


def test_skipped_files_are_remembered_and_without_the_flag_the_first_one_stops_the_run(tmp_path, monkeypatch):
    root = jpeg_folder(tmp_path / "imgs", per_class=4)
    broken = write_odd_files(root / "a")
    paths = sorted(str(p) for p in root.rglob("*") if p.is_file())
    with pytest.raises(UsageError, match="broken-empty.jpg.*pass --skip-bad-images"):
        DecodedCache(paths, SHAPE, folder=tmp_path / "c").ensure()
    built = DecodedCache(paths, SHAPE, folder=tmp_path / "c", skip_bad_images=True).ensure()
    assert sorted(built.bad) == [str(p) for p in broken]
    calls = _count_decodes(monkeypatch)
    hit = DecodedCache(paths, SHAPE, folder=tmp_path / "c", skip_bad_images=True).ensure()
    assert hit.status == "hit" and not calls and sorted(hit.bad) == sorted(built.bad)
    with pytest.raises(UsageError, match="broken-empty.jpg"):  # the remembered file still stops a strict run
        DecodedCache(paths, SHAPE, folder=tmp_path / "c").ensure()


def test_cached_loader_gives_the_same_batches_as_decoding(tmp_path):
    root = jpeg_folder(tmp_path / "imgs", per_class=8)
    plain = load_folder(str(root), image_size=(40, 40), workers=0, val_split=0.25)
    cached = load_folder(str(root), image_size=(40, 40), workers=0, val_split=0.25, cache="disk",
                         cache_folder=tmp_path / "c")
    for a, b in zip(plain.loader(plain.train, 5, shuffle=True, seed=3), cached.loader(cached.train, 5, shuffle=True, seed=3)):
        assert a[0].equal(b[0]) and a[1].equal(b[1])
    with pytest.raises(UsageError, match="--cache must be one of auto, memory, disk, off, got 'ram'"):
        load_folder(str(root), cache="ram")


def test_odd_files_folder_trains_with_skip_bad_images_and_stops_without(tmp_path, capsys):
    root = jpeg_folder(tmp_path / "imgs", per_class=6)
    broken = write_odd_files(root / "a")
    args = ["train", "--data", f"folder:{root}", "--image-size", "32,32", "--model", "cnn", "--channels", "4",
            "--epochs", "1", "--batch-size", "8", "--class-mode", "binary", "--workers", "0", "--no-report"]
    assert main([*args, "--out", str(tmp_path / "strict")]) == 2
    err = capsys.readouterr().err
    assert "broken-empty.jpg: cannot read image" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main([*args, "--skip-bad-images", "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"skipped 3 unreadable image(s): {', '.join(str(p) for p in broken)}" in err
