"""A class-per-folder dataset of JPEG photos, made from the real photographs scikit-image ships (no download).

Two classes defined by content, so that a small CNN can learn them: `objects/` (astronaut, cat, coffee,
motorcycles, rocket, cameraman) and `textures/` (brick, grass, gravel, the moon's surface). Every photo is
a random crop (20–100 % of the area, aspect 3:4 to 4:3) of a seeded random source, resized to sides of
300–640 px, flipped half of the time, colour-jittered (brightness, saturation, a per-channel tint, so that
colour alone does not give the class away) and saved as JPEG at quality 75–95.

With `--odd-files` eight more files go into `objects/`: five unusual but valid ones (CMYK JPEG, EXIF-rotated
JPEG, PNG with alpha, palette PNG, 16-bit PNG) and three broken ones (a truncated JPEG, a zero-byte `.jpg`
and a text file named `.jpg`); `zenlearn train --skip-bad-images` must name exactly those three.

    python benchmarks/make_photo_folder.py runs/photos                 # 2 x 1,000 photos, ~20 s
    python benchmarks/make_photo_folder.py runs/photos-20k --images 10000
    python benchmarks/make_photo_folder.py runs/odd --images 50 --odd-files

Needs scikit-image (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

CLASSES = {
    "objects": ("astronaut", "chelsea", "coffee", "motorcycle_left", "motorcycle_right", "rocket", "camera"),
    "textures": ("brick", "grass", "gravel", "moon"),
}
BROKEN = ("broken-truncated.jpg", "broken-empty.jpg", "broken-text.jpg")
_SOURCES: dict[str, Image.Image] = {}


def source(name: str) -> Image.Image:
    """One of scikit-image's bundled photographs as an RGB PIL image (grayscale ones are replicated)."""
    if name not in _SOURCES:
        import skimage.data

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
    (Path(out) / cls / f"{cls[:-1]}-{i:05d}.jpg").write_bytes(data)


def write_odd_files(folder: str | Path) -> list[Path]:
    """Write the eight odd files into `folder`; returns the three broken ones (sorted)."""
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
    (folder / BROKEN[0]).write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    (folder / BROKEN[1]).write_bytes(b"")
    (folder / BROKEN[2]).write_text("this is a text file, not a JPEG\n")
    return sorted(folder / b for b in BROKEN)


def make_photo_folder(out: str | Path, images: int = 1000, *, seed: int = 0, odd_files: bool = False,
                      workers: int = 2) -> Path:
    """Write `images` JPEG photos per class into `out/<class>/` (and the odd files with `odd_files`).

    Args:
        out: Folder to create (existing photos of the same names are overwritten).
        images: Photos per class. Defaults to 1000.
        seed: Seed of every photo's source, crop, size, jitter and quality. Defaults to 0.
        odd_files: Add the eight odd files to `out/objects/`. Defaults to False.
        workers: Processes writing photos. Defaults to 2.

    Example:
        >>> make_photo_folder("runs/photos", images=10)  # doctest: +SKIP
    """
    out = Path(out)
    for cls in CLASSES:
        (out / cls).mkdir(parents=True, exist_ok=True)
    jobs = [(str(out), cls, i, seed) for cls in CLASSES for i in range(images)]
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            pool.map(_write, jobs, chunksize=16)
    else:
        for job in jobs:
            _write(job)
    if odd_files:
        write_odd_files(out / "objects")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="folder to write (objects/ and textures/ inside)")
    p.add_argument("--images", type=int, default=1000, help="photos per class [default: 1000]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--odd-files", action="store_true", help="add 5 unusual and 3 broken files to objects/")
    p.add_argument("--workers", type=int, default=2, help="processes [default: 2]")
    a = p.parse_args()
    make_photo_folder(a.out, a.images, seed=a.seed, odd_files=a.odd_files, workers=a.workers)
    n = 2 * a.images + (8 if a.odd_files else 0)
    print(f"{a.out}: {n} files in objects/ and textures/")


if __name__ == "__main__":
    main()
