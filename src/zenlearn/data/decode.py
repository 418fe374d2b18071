"""Decoding one image file at the size it is needed: JPEG scaled-DCT ("draft") decoding, EXIF orientation,
then one bilinear resize.

libjpeg(-turbo) can decode a JPEG at 1/2, 1/4 or 1/8 of its size by dropping DCT coefficients, for a
fraction of the work; PIL exposes it as `Image.draft`. We ask for the smallest such scale that is still at
least the target size, so the final bilinear resize always shrinks (never enlarges) and the result stays
close to a full decode followed by the same resize (the tests bound the difference; docs/benchmarks.md
gives the figure). EXIF orientation is applied (`ImageOps.exif_transpose`), as a photo viewer shows the
photo; Keras' `load_img` ignores it, so a phone photo taken upright comes out sideways there.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.pool
import os
import signal
import sys
import zlib
from pathlib import Path

import numpy as np

from zenlearn.errors import UsageError

DECODER = "pil-draft-exif-bilinear-v1"
"""Names the decoding recipe; part of the decoded-cache key, so a change here invalidates old caches."""
_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def decode_image(path: str | Path, shape: tuple[int, ...], *, draft: bool = True) -> np.ndarray:
    """One image file as a uint8 (C, H, W) array at `shape`: EXIF-oriented, converted, resized (bilinear).

    The array is a channels-first view of the decoded (H, W, C) pixels (`decode_pixels`).

    Args:
        path: Image file (anything PIL reads: JPEG, PNG, BMP, GIF, TIFF, WebP, …).
        shape: (C, H, W); C = 1 converts to grayscale, 3 to RGB.
        draft: Decode JPEGs at the smallest 1/2, 1/4 or 1/8 scale that is still >= (H, W). Defaults to True.

    Raises:
        UsageError: naming the file, if it cannot be read.

    Example:
        >>> from PIL import Image
        >>> Image.new("RGB", (64, 48), (255, 0, 0)).save("/tmp/zenlearn-doctest.jpg")
        >>> decode_image("/tmp/zenlearn-doctest.jpg", (3, 24, 32))[:, 0, 0].tolist()
        [254, 0, 0]
    """
    return decode_pixels(path, shape, draft=draft).transpose(2, 0, 1)


def decode_pixels(path: str | Path, shape: tuple[int, ...], *, draft: bool = True) -> np.ndarray:
    """`decode_image`'s pixels as stored: uint8 (H, W, C), C-contiguous (the decoded cache's row layout)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    c, h, w = shape
    try:
        with Image.open(path) as im:
            orientation = _orientation(im)
            if draft and im.format == "JPEG":  # the stored image is (h, w) when EXIF turns it by 90°
                im.draft("L" if c == 1 else "RGB", (h, w) if orientation in _ROTATED else (w, h))
            if orientation > 1:
                im = ImageOps.exif_transpose(im)
            im = _to_mode(im, "L" if c == 1 else "RGB")
            if im.size != (w, h):
                im = im.resize((w, h), Image.BILINEAR)
            arr = np.array(im, dtype=np.uint8)  # a writable copy
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise UsageError(f"{path}: cannot read image ({e}); pass a valid PNG/JPEG/BMP file") from None
    return arr[..., None] if c == 1 else arr  # (H, W, C)


def _orientation(im) -> int:
    try:
        return int(im.getexif().get(0x0112, 1) or 1)
    except (ValueError, TypeError, SyntaxError):  # a broken EXIF block: show the pixels as stored
        return 1


def _to_mode(im, mode: str):
    """Convert to L / RGB; 16-bit images are scaled (not clipped) to 8 bits, palettes go through RGBA."""
    from PIL import Image

    if im.mode.startswith("I"):  # I;16* (16-bit PNG/TIFF) or I (32-bit): scale 0..65535 to 0..255
        arr = np.asarray(im).astype(np.int64)
        if im.mode.startswith("I;16") or arr.max(initial=0) > 255:
            arr = np.clip(arr, 0, 65535) >> 8
        im = Image.fromarray(arr.astype(np.uint8), "L")
    elif im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    return im if im.mode == mode else im.convert(mode)


def decode_batch(paths: list[str], shape: tuple[int, ...]) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Worker task: decode `paths` into uint8 (n, H, W, C) (channels last, as decoded); unreadable files are
    reported, not raised (their rows stay black)."""
    c, h, w = shape
    out = np.zeros((len(paths), h, w, c), dtype=np.uint8)
    bad = []
    for i, p in enumerate(paths):
        try:
            out[i] = decode_pixels(p, shape)
        except UsageError as e:
            bad.append((i, str(e)))
    return out, bad


def decode_job(job: tuple[list[str], tuple[int, ...], str, int]) -> tuple[int, list[tuple[int, str]]]:
    """Worker task of a cache build: decode the files `job[0]` at `job[1]` and write their rows straight into
    the file `job[2]` from row `job[3]` on (no pixels travel back to the parent); returns the CRC-32 of those
    rows and the unreadable files."""
    paths, shape, file, first_row = job
    rows, bad = decode_batch(paths, shape)
    fd = os.open(file, os.O_WRONLY)
    try:
        view, offset = memoryview(rows).cast("B"), first_row * rows[0].nbytes
        while view:
            n = os.pwrite(fd, view, offset)
            view, offset = view[n:], offset + n
    finally:
        os.close(fd)
    return zlib.crc32(rows.data), bad


def decoding_pool(workers: int) -> mp.pool.Pool:
    """A pool of `workers` decoding processes (forked on Linux: quick, and they only use PIL and numpy)."""
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    return ctx.Pool(workers, initializer=_worker_init)


def _worker_init() -> None:
    # A forked worker inherits the run's SIGINT/SIGTERM handlers (which only set a "stop after this batch"
    # flag); restore the defaults so that Pool.terminate() really ends it, and leave Ctrl-C to the parent.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
