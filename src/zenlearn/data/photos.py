"""Real photos with no download: JPEG folders made from the photographs scikit-image ships (`--data photos`).

Two classes defined by content, so that a small CNN can learn them: `objects/` (astronaut, cat, coffee,
motorcycles, rocket, camera) and `textures/` (brick, grass, gravel, the moon's surface). Every photo is
a random crop (20–100 % of the area, aspect 3:4 to 4:3) of a seeded random source, resized to sides of
300–640 px, flipped half of the time, colour-jittered (brightness, saturation, a per-channel tint, so that
colour alone does not give the class away) and saved as JPEG at quality 75–95.

`--data photos:N` is a folder with `train/` and `test/`, N photos per class in each (default 500; the test
photos are other crops, scales and jitters of the same source photographs, drawn with another seed). It is
generated once, atomically, into `photos-N/` in the cache folder (`cache_root()`: `$ZENLEARN_CACHE`, else
`~/.cache/zenlearn`; deleting it is safe) and then read like any `--data folder:PATH`: decoded once into the decoded cache,
augmented per epoch. Generating needs scikit-image (`pip install 'zenlearn[photos]'`); reading does not.

`write_odd_files` adds the unusual and broken files that `--skip-bad-images` is tested on.
"""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance

from zenlearn.data.cacheroot import cache_root
from zenlearn.data.folder import FolderSplits, load_folder
from zenlearn.errors import UsageError
from zenlearn.io.atomic import write_bytes, write_text

CLASSES = {
    "objects": ("astronaut", "chelsea", "coffee", "motorcycle_left", "motorcycle_right", "rocket", "camera"),
    "textures": ("brick", "grass", "gravel", "moon"),
}
BROKEN = ("broken-truncated.jpg", "broken-empty.jpg", "broken-text.jpg")
DEFAULT_PER_CLASS = 500
DEFAULT_SIZE = (224, 224)
"""`--image-size` of `--data photos` when none is given: the survey's scale."""
MANIFEST = "photos.json"
VERSION = 1
_SEEDS = {"train": 0, "test": 1}
_SOURCES: dict[str, Image.Image] = {}


def source(name: str) -> Image.Image:
    """One of scikit-image's bundled photographs as an RGB PIL image (grayscale ones are replicated)."""
    if name not in _SOURCES:
        try:
            import skimage.data
        except ImportError:
            raise UsageError("--data photos: generating the photos needs scikit-image, which is not installed; "
                             "pip install 'zenlearn[photos]' (or use --data folder:PATH with your own)") from None
        folder = Path(skimage.data.__file__).parent  # the photographs bundled in scikit-image's wheel
        path = next(p for p in (folder / f"{name}.png", folder / f"{name}.jpg") if p.is_file())
        with Image.open(path) as im:
            _SOURCES[name] = im.convert("RGB")
    return _SOURCES[name]


def photo(cls: str, index: int, seed: int = 0) -> tuple[bytes, int]:
    """JPEG bytes of photo `index` of class `cls` (deterministic in `seed`), and the JPEG quality used."""
    rng = np.random.default_rng([seed, index, list(CLASSES).index(cls)])
    src = source(CLASSES[cls][rng.integers(len(CLASSES[cls]))])
    w0, h0 = src.size
    area = rng.uniform(0.2, 1.0) * w0 * h0
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    cw, ch = min(w0, int(round(np.sqrt(area * aspect)))), min(h0, int(round(np.sqrt(area / aspect))))
    x, y = rng.integers(0, w0 - cw + 1), rng.integers(0, h0 - ch + 1)
    size = (int(rng.integers(300, 641)), int(rng.integers(300, 641)))
    im = src.crop((x, y, x + cw, y + ch)).resize(size, Image.BICUBIC)
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.7, 1.3))
    im = ImageEnhance.Color(im).enhance(rng.uniform(0.3, 1.5))
    tint = rng.uniform(0.8, 1.2, 3)
    im = Image.fromarray(np.clip(np.asarray(im, np.float32) * tint, 0, 255).astype(np.uint8))
    quality = int(rng.integers(75, 96))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue(), quality


def _write(job: tuple[str, str, int, int]) -> None:
    out, cls, i, seed = job
    data, _ = photo(cls, i, seed)
    write_bytes(Path(out) / cls / f"{cls[:-1]}-{i:05d}.jpg", data)


def write_odd_files(folder: str | Path) -> list[Path]:
    """Write eight odd files into `folder`: five unusual but valid ones (CMYK JPEG, EXIF-rotated JPEG, PNG
    with alpha, palette PNG, 16-bit PNG) and three broken ones (truncated JPEG, zero-byte `.jpg`, a text
    file named `.jpg`). Returns the three broken ones (sorted).

    Example:
        >>> [p.name for p in write_odd_files(tmp / "odd")]
        ['broken-empty.jpg', 'broken-text.jpg', 'broken-truncated.jpg']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base = Image.linear_gradient("L").resize((400, 320)).convert("RGB")
    base.convert("CMYK").save(folder / "odd-cmyk.jpg", "JPEG", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    base.save(folder / "odd-exif-rotated.jpg", "JPEG", quality=90, exif=exif)
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((400, 320)))
    rgba.save(folder / "odd-alpha.png")
    base.convert("P", palette=Image.ADAPTIVE, colors=64).save(folder / "odd-palette.png")
    arr16 = (np.linspace(0, 65535, 320 * 400).reshape(320, 400)).astype(np.uint16)
    Image.fromarray(arr16).save(folder / "odd-16bit.png")
    buf = io.BytesIO()
    base.save(buf, "JPEG", quality=90)
    write_bytes(folder / BROKEN[0], buf.getvalue()[: len(buf.getvalue()) // 3])
    write_bytes(folder / BROKEN[1], b"")
    write_text(folder / BROKEN[2], "this is a text file, not a JPEG\n")
    return sorted(folder / b for b in BROKEN)


def make_photo_folder(out: str | Path, images: int = 1000, *, seed: int = 0, odd_files: bool = False,
                      workers: int = 2) -> Path:
    """Write `images` JPEG photos per class into `out/<class>/` (and the odd files with `odd_files`).

    Args:
        out: Folder to create (existing photos of the same names are overwritten).
        images: Photos per class. Defaults to 1000.
        seed: Seed of every photo's source, crop, size, jitter and quality. Defaults to 0.
        odd_files: Add the eight odd files (`write_odd_files`) to `out/objects/`. Defaults to False.
        workers: Processes writing photos. Defaults to 2.

    Example:
        >>> sorted(p.name for p in make_photo_folder(tmp / "ph", images=2, workers=1).iterdir())
        ['objects', 'textures']
    """
    out = Path(out)
    for cls in CLASSES:
        (out / cls).mkdir(parents=True, exist_ok=True)
    source(CLASSES["objects"][0])  # a missing scikit-image is one clear error, here, not in a worker
    jobs = [(str(out), cls, i, seed) for cls in CLASSES for i in range(images)]
    if workers > 1 and len(jobs) > 32:
        with mp.get_context("fork").Pool(workers) as pool:
            pool.map(_write, jobs, chunksize=16)
    else:
        for job in jobs:
            _write(job)
    if odd_files:
        write_odd_files(out / "objects")
    return out


def generated_root() -> Path:
    """Where `--data photos` folders are generated: the cache folder (`cache_root()`)."""
    return cache_root()


def per_class(arg: str) -> int:
    """The N of `--data photos:N` (photos per class in train/ and in test/); "" is the default, 500."""
    if not arg:
        return DEFAULT_PER_CLASS
    try:
        n = int(arg)
    except ValueError:
        n = 0
    if n < 1:
        raise UsageError(f"--data photos:{arg}: expected a positive number of photos per class, e.g. --data "
                         f"photos:200, got {arg!r}")
    return n


def photo_folder(n: int = DEFAULT_PER_CLASS, *, root: Path | None = None, workers: int | None = None) -> Path:
    """The generated photo folder with `n` photos per class in `train/` and `test/`, made on first use.

    Generation writes a temporary folder and renames it into place, so a finished folder is never partial
    and two processes generating at once both end with the same complete folder.

    Args:
        n: Photos per class in each split. Defaults to 500.
        root: Parent folder. Defaults to `generated_root()`.
        workers: Processes writing photos. Defaults to min(4, CPUs).

    Example:
        >>> folder = photo_folder(2, root=tmp)
        >>> folder.name, sorted(p.name for p in (folder / "test").iterdir())
        ('photos-2', ['objects', 'textures'])
    """
    folder = (root or generated_root()) / f"photos-{n}"
    if _complete(folder, n):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{time.time_ns()}"
    try:
        workers = min(4, os.cpu_count() or 1) if workers is None else workers
        for split, seed in _SEEDS.items():
            make_photo_folder(tmp / split, n, seed=seed, workers=workers)
        write_text(tmp / MANIFEST, json.dumps(_manifest(n), indent=1))
        if folder.exists() and not _complete(folder, n):
            shutil.rmtree(folder, ignore_errors=True)  # not ours (no manifest): replace it
        try:
            os.rename(tmp, folder)
        except OSError:
            if not _complete(folder, n):  # not a lost race: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _manifest(n: int) -> dict[str, Any]:
    return {"version": VERSION, "per_class": n, "classes": list(CLASSES), "seeds": _SEEDS}


def _complete(folder: Path, n: int) -> bool:
    try:
        return json.loads((folder / MANIFEST).read_text()) == json.loads(json.dumps(_manifest(n)))
    except (OSError, ValueError):
        return False


def load_photos(arg: str = "", *, image_size: tuple[int, ...] | None = None, **options: Any) -> FolderSplits:
    """`--data photos[:N]`: the generated folder (`photo_folder`), read like `--data folder:PATH`.

    Args:
        arg: N, photos per class in train/ and in test/. Defaults to "" (500).
        image_size: (H, W). Defaults to 224 x 224, the survey's scale.
        **options: `load_folder`'s options (`val_split`, `train_subset`, `cache`, …).

    Example:
        >>> s = load_photos("4", image_size=(32, 32), val_split=0.25)
        >>> s.spec.name, s.spec.classes, len(s.train), len(s.val), len(s.test)
        ('photos:4', ['objects', 'textures'], 6, 2, 8)
    """
    splits = load_folder(str(photo_folder(per_class(arg))), image_size=image_size or DEFAULT_SIZE, **options)
    return replace(splits, spec=replace(splits.spec, name=f"photos:{arg}" if arg else "photos"))
