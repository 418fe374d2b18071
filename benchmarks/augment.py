"""Augmentation throughput: zenlearn vs Keras ImageDataGenerator vs Kornia vs albumentations, same run.

The survey's settings — ImageDataGenerator(rotation_range=45, width_shift_range=0.2, height_shift_range=0.2,
shear_range=0.2, zoom_range=0.2, horizontal_flip=True, fill_mode='nearest') — on batches of 28x28x1 and
32x32x3 images, each library in its own idiom:

  zenlearn        Augment(**settings)(x) on float (B, C, H, W) tensors, one warp per batch
  keras           ImageDataGenerator(**settings).flow(x_nhwc, batch_size=B), per image (NumPy + SciPy)
  kornia          RandomAffine(45, (0.2, 0.2), (0.8, 1.2, 0.8, 1.2), shear=0.2, padding_mode="border")
                  + RandomHorizontalFlip on float (B, C, H, W) tensors
  albumentations  Affine(rotate, translate_percent, scale, shear, border_mode=REPLICATE) + HorizontalFlip,
                  per uint8 HWC image (its fastest input)

Peers are optional (`pip install keras scipy albumentations` and `pip install --no-deps kornia kornia_rs`,
so pip cannot replace the installed torch); a missing one is skipped with a note. Keras runs with
KERAS_BACKEND=torch: ImageDataGenerator is NumPy/SciPy code whatever the backend.

Each library's time is the best of --repeats passes over the images (the libraries take turns, so load
from other processes hits them alike). Before timing, zenlearn's warp is checked against Keras'
apply_transform on the same parameters.

    python benchmarks/augment.py [--images 8192] [--batch-size 128] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Callable

import numpy as np
import torch

from zenlearn import Augment

SETTINGS = dict(rotation_range=45, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
                horizontal_flip=True, fill_mode="nearest")
SHAPES = [(1, 28, 28), (3, 32, 32)]


def zenlearn_runner(x: torch.Tensor, batch: int) -> Callable[[], None]:
    aug = Augment(**SETTINGS, seed=0)

    def run() -> None:
        for i in range(0, len(x), batch):
            aug(x[i : i + batch])
    return run


def keras_generator() -> type | str:
    """Keras' ImageDataGenerator class (Keras 2: public; Keras 3: the legacy module), or why not."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import scipy  # noqa: F401  (ImageDataGenerator needs it)
        try:
            from keras.src.legacy.preprocessing.image import ImageDataGenerator
        except ImportError:
            from keras.preprocessing.image import ImageDataGenerator
    except ImportError as e:
        return f"keras not installed ({e.name}): pip install keras scipy"
    return ImageDataGenerator


def keras_runner(x: torch.Tensor, batch: int) -> Callable[[], None] | str:
    cls = keras_generator()
    if isinstance(cls, str):
        return cls
    gen = cls(**SETTINGS, data_format="channels_last")
    nhwc = x.permute(0, 2, 3, 1).numpy()

    def run() -> None:
        flow = gen.flow(nhwc, batch_size=batch, shuffle=False)
        for i in range(len(flow)):
            flow[i]
    return run


def kornia_runner(x: torch.Tensor, batch: int) -> Callable[[], None] | str:
    try:
        import kornia.augmentation as K
    except ImportError as e:
        return f"kornia not installed ({e.name}): pip install --no-deps kornia kornia_rs"
    pipe = torch.nn.Sequential(K.RandomAffine(degrees=45, translate=(0.2, 0.2), scale=(0.8, 1.2, 0.8, 1.2), shear=0.2,
                                              padding_mode="border"), K.RandomHorizontalFlip())

    def run() -> None:
        with torch.no_grad():
            for i in range(0, len(x), batch):
                pipe(x[i : i + batch])
    return run


def albumentations_runner(x: torch.Tensor, batch: int) -> Callable[[], None] | str:
    try:
        import albumentations as A
        import cv2
    except ImportError as e:
        return f"albumentations not installed ({e.name}): pip install albumentations"
    pipe = A.Compose([A.Affine(rotate=(-45, 45), translate_percent=(-0.2, 0.2), scale=(0.8, 1.2), shear=(-0.2, 0.2),
                               border_mode=cv2.BORDER_REPLICATE, p=1.0), A.HorizontalFlip(p=0.5)])
    images = [np.ascontiguousarray(im) for im in (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()]

    def run() -> None:
        for im in images:
            pipe(image=im)
    return run


RUNNERS = {"zenlearn": zenlearn_runner, "keras": keras_runner, "kornia": kornia_runner,
           "albumentations": albumentations_runner}


def check_against_keras() -> str:
    """Max difference between zenlearn and Keras' apply_transform on the same random parameters."""
    cls = keras_generator()
    if isinstance(cls, str):
        return f"skipped: {cls}"
    rng = np.random.default_rng(0)
    x = rng.random((1, 28, 28)).astype(np.float64)
    gen = cls(data_format="channels_first", fill_mode="nearest")
    aug = Augment(fill_mode="nearest", value_range=None)
    worst = 0.0
    for _ in range(20):
        t, tx, ty, s, zx, zy = rng.uniform(-45, 45), *rng.uniform(-5, 5, 2), rng.uniform(-20, 20), *rng.uniform(0.8, 1.2, 2)
        flip = float(rng.random() < 0.5)
        ref = gen.apply_transform(x.copy(), dict(theta=t, tx=tx, ty=ty, shear=s, zx=zx, zy=zy, flip_horizontal=flip))
        # Keras' tx/ty move the sampling point (source = output + t); zenlearn's shifts move the content
        p = {k: torch.tensor([v], dtype=torch.float64) for k, v in dict(
            rotation=t, shift_x=-tx, shift_y=-ty, shear=s, zoom_x=zx, zoom_y=zy, flip_h=flip).items()}
        out = aug.apply_random(torch.from_numpy(x)[None], p)[0].numpy()
        worst = max(worst, float(np.abs(out - ref).max()))
    return f"max |zenlearn - keras| over 20 random transforms: {worst:.1e}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8192, help="images per pass [default: 8192]")
    ap.add_argument("--keras-images", type=int, default=1024, help="images per Keras pass (slow) [default: 1024]")
    ap.add_argument("--batch-size", type=int, default=128, help="batch size [default: 128]")
    ap.add_argument("--repeats", type=int, default=5, help="passes per library; the best counts [default: 5]")
    ap.add_argument("--only", nargs="*", default=list(RUNNERS), help="libraries to run [default: all]")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch / OpenCV threads; 1 compares per-core speed and avoids OpenMP oversubscription on a "
                         "shared machine (Keras is single-threaded anyway) [default: 1]")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        import cv2

        cv2.setNumThreads(args.threads)
    except ImportError:
        pass
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), batch {args.batch_size}, best of {args.repeats}")
    print(f"# check: {check_against_keras()}")
    gen = torch.Generator().manual_seed(0)
    for shape in SHAPES:
        runs: dict[str, tuple[Callable[[], None], int]] = {}
        for name in args.only:
            n = args.keras_images if name == "keras" else args.images
            x = torch.rand(n, *shape, generator=gen)
            r = RUNNERS[name](x, args.batch_size)
            if isinstance(r, str):
                print(f"{shape[2]}x{shape[1]}x{shape[0]:<5} {name:<15} skipped: {r}")
                continue
            r()  # warm-up
            runs[name] = (r, n)
        best = {name: float("inf") for name in runs}
        for _ in range(args.repeats):
            for name, (r, n) in runs.items():
                t0 = time.perf_counter()
                r()
                best[name] = min(best[name], time.perf_counter() - t0)
        rate = {name: runs[name][1] / best[name] for name in runs}
        label = f"{shape[2]}x{shape[1]}x{shape[0]}"
        for name, v in rate.items():
            ratio = "" if name == "zenlearn" or "zenlearn" not in rate else f"   zenlearn is {rate['zenlearn'] / v:.2f}x"
            print(f"{label:<9} {name:<15} {v:>12,.0f} images/s{ratio}")


if __name__ == "__main__":
    main()
