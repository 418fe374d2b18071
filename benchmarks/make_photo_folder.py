"""A class-per-folder dataset of JPEG photos, made from the real photographs scikit-image ships (no download).

The generator is `zenlearn.data.photos` (also behind `--data photos`): two classes defined by content,
`objects/` and `textures/`, random crops, sizes 300-640 px, flips, colour jitter, JPEG quality 75-95.
This script writes one such folder wherever you want it, of any size, optionally with odd files:

    python benchmarks/make_photo_folder.py runs/photos                 # 2 x 1,000 photos, ~20 s
    python benchmarks/make_photo_folder.py runs/photos-20k --images 10000
    python benchmarks/make_photo_folder.py runs/odd --images 50 --odd-files

With `--odd-files` eight more files go into `objects/`: five unusual but valid ones (CMYK JPEG, EXIF-rotated
JPEG, PNG with alpha, palette PNG, 16-bit PNG) and three broken ones (a truncated JPEG, a zero-byte `.jpg`
and a text file named `.jpg`); `zenlearn train --skip-bad-images` must name exactly those three.

Needs scikit-image (`pip install -e '.[photos]'`).
"""

from __future__ import annotations

import argparse

from zenlearn.data.photos import BROKEN, CLASSES, make_photo_folder, photo, write_odd_files

__all__ = ["BROKEN", "CLASSES", "make_photo_folder", "photo", "write_odd_files"]


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
