"""The Lab's augmentation preview: settings from a URL's query, a grid of samples drawn by `Augment` itself with a
fixed seed (the same settings give the same PNG bytes), and the time `Augment` takes per batch.

The samples come from a dataset (`mnist`, `fashion-mnist`, `cifar10`, …), an image folder under the served root
(`folder:REL`) or one uploaded image (`upload:ID`, held in memory by this server). Every problem with the
settings is a `UsageError` (a 400 with one line); nothing is written anywhere.
"""

from __future__ import annotations

import hashlib
import io
import shlex
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

from zenlearn.augment.pipeline import Augment
from zenlearn.augment.spec import AUGMENTATIONS
from zenlearn.augment.warp import FILL_MODES
from zenlearn.data import DATASETS, dataset_options, load_splits
from zenlearn.errors import UsageError
from zenlearn.report.preview import augment_grid, png_bytes
from zenlearn.serve.security import inside

DATASETS_SHOWN = ("mnist", "fashion-mnist", "cifar10", "cifar100")
"""Image datasets offered by the page (any in-memory image dataset, `folder:REL` or `upload:ID` works too)."""
RANGES: dict[str, tuple[float, float]] = {
    "rotation_range": (0, 180), "width_shift_range": (0, 0.5), "height_shift_range": (0, 0.5),
    "shear_range": (0, 60), "zoom_range": (0, 0.9), "noise_std": (0, 0.5), "cval": (0, 1)}
"""The sliders: `Augment` keyword → (min, max) accepted."""
FLAGS = ("horizontal_flip", "vertical_flip")
GRID: dict[str, tuple[int, int, int]] = {"samples": (1, 16, 8), "rows": (1, 8, 3), "seed": (0, 2**31 - 1, 0),
                                         "size": (16, 256, 96)}
"""Grid settings → (min, max, default): images per row, augmented rows, the seed, the side of folder and
uploaded images."""
TIMED_BATCH = 64
"""The batch `Augment` is timed on (the samples repeated): the best of up to `TIMED_CALLS` calls within
`TIMED_SECONDS`, after one warm-up call. The best, not the median: on shared cores a call now and then waits tens of
milliseconds for a busy thread, which says nothing about `Augment`."""
TIMED_CALLS, TIMED_SECONDS = 7, 0.5
MAX_UPLOADS = 16


def parse_settings(query: Mapping[str, str]) -> dict[str, Any]:
    """The preview's settings from a URL query, checked: one `UsageError` naming every problem.

    Example:
        >>> s = parse_settings({"data": "mnist", "preset": "mnist", "rotation_range": "30", "horizontal_flip": "1"})
        >>> s["augment"]["rotation_range"], s["augment"]["horizontal_flip"], s["augment"]["zoom_range"], s["rows"]
        (30.0, True, 0.1, 3)
        >>> s["spec"]  # the same settings as `zenlearn augment --augment` text
        'mnist,rotation_range=30.0,horizontal_flip=true'
        >>> parse_settings({"preset": "mnits", "fill_mode": "mirror", "zoom_range": "2"})
        Traceback (most recent call last):
        zenlearn.errors.UsageError: preset: unknown 'mnits'; choose one of: none, mnist, cifar, imagenet; fill_mode: expected one of constant, nearest, reflect, wrap, got 'mirror'; zoom_range: expected a number in [0, 0.9], got '2'
    """
    known = {"data", "preset", "fill_mode", *RANGES, *FLAGS, *GRID}
    problems = [f"unknown setting {k!r}; the settings are: {', '.join(sorted(known))}" for k in query if k not in known]
    preset = query.get("preset") or "none"
    kwargs: dict[str, Any] = {}
    given = [k for k in ("fill_mode", *RANGES, *FLAGS) if k in query]  # in the order `spec` writes them
    if preset != "none" and preset not in AUGMENTATIONS:
        problems.append(f"preset: unknown {preset!r}; choose one of: none, {', '.join(AUGMENTATIONS.names())}")
    elif preset != "none":
        kwargs.update(AUGMENTATIONS.get(preset))
    if "fill_mode" in query:
        if query["fill_mode"] not in FILL_MODES:
            problems.append(f"fill_mode: expected one of {', '.join(FILL_MODES)}, got {query['fill_mode']!r}")
        kwargs["fill_mode"] = query["fill_mode"]
    for name, (lo, hi) in RANGES.items():
        if name in query:
            value = _number(query[name])
            if value is None or not lo <= value <= hi:
                problems.append(f"{name}: expected a number in [{lo:g}, {hi:g}], got {query[name]!r}")
            kwargs[name] = value
    for name in FLAGS:
        if name in query:
            if query[name] not in ("0", "1", "true", "false"):
                problems.append(f"{name}: expected 1 or 0, got {query[name]!r}")
            kwargs[name] = query[name] in ("1", "true")
    grid = {}
    for name, (lo, hi, default) in GRID.items():
        value = _number(query.get(name, str(default)))
        if value is None or value != int(value) or not lo <= value <= hi:
            problems.append(f"{name}: expected a whole number in [{lo}, {hi}], got {query.get(name)!r}")
        grid[name] = int(value) if value is not None and value == int(value) else default
    if problems:
        raise UsageError("; ".join(problems))
    spec = [preset] * (preset != "none") + [f"{k}={str(kwargs[k]).lower() if k in FLAGS else kwargs[k]}" for k in given]
    return {"data": query.get("data") or "mnist", "preset": preset, "augment": kwargs,
            "spec": ",".join(spec) or "rotation_range=0", **grid}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


class Preview:
    """Draws augmentation previews for one server: the samples of the datasets last used (two at most) and the
    uploaded images (`MAX_UPLOADS`, oldest dropped first) stay in memory.

    Args:
        root: The served folder; `folder:REL` must name an image folder inside it.
        data_dir: Data folder of the datasets. Defaults to $ZENLEARN_DATA, else ~/.cache/zenlearn.
    """

    def __init__(self, root: Path, data_dir: str | None = None) -> None:
        self.root, self.data_dir = root, data_dir
        self.sources: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self.uploads: OrderedDict[str, Tensor] = OrderedDict()

    def upload(self, body: bytes) -> str:
        """Keep one uploaded image (decoded, centre-cropped to a square of the largest grid `size`) and return its
        id, a hash of its bytes; anything PIL cannot read as an image is a `UsageError`."""
        from PIL import Image, ImageOps

        size = GRID["size"][1]
        if not body:
            raise UsageError("the upload is empty; choose an image file (PNG, JPEG, …)")
        try:
            with Image.open(io.BytesIO(body)) as im:
                im = ImageOps.exif_transpose(im).convert("RGB")
                im = ImageOps.fit(im, (size, size), Image.BILINEAR)
        except Exception as e:  # PIL raises many kinds (unidentified, truncated, decompression bomb)
            raise UsageError(f"the upload is not an image that can be read ({type(e).__name__}); choose a PNG, "
                             f"JPEG, BMP, GIF or WebP file") from None
        key = hashlib.sha256(body).hexdigest()[:16]
        pixels = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(size, size, 3)  # (H, W, 3)
        self.uploads[key] = pixels.permute(2, 0, 1).unsqueeze(0).float() / 255  # (1, 3, H, W)
        self.uploads.move_to_end(key)
        while len(self.uploads) > MAX_UPLOADS:
            self.uploads.popitem(last=False)
        return key

    def samples(self, data: str, n: int, seed: int, size: int) -> tuple[Tensor, int]:
        """`n` images (n, C, H, W) in [0, 1] picked with `seed`, and how many the source holds."""
        kind, _, arg = data.partition(":")
        if kind == "upload":
            if arg not in self.uploads:
                raise UsageError(f"data: upload {arg!r} is not held by this server (it keeps the last {MAX_UPLOADS} "
                                 f"and forgets them on restart); upload the image again")
            x = torch.nn.functional.interpolate(self.uploads[arg], size=(size, size), mode="bilinear", antialias=True)
            return x.clamp(0, 1).repeat(n, 1, 1, 1), 1  # (n, 3, size, size): n draws of the one image
        splits = self._source(data, size, seed)
        x = next(iter(splits.loader(splits.train, n, shuffle=True, seed=seed)))[0]  # (n, C, H, W), as the CLI's
        return x, len(splits.train)

    def _source(self, data: str, size: int, seed: int) -> Any:
        kind, _, arg = data.partition(":")
        if kind not in DATASETS:
            DATASETS.entry(kind)  # the registry's line listing the datasets
        options: dict[str, Any] = {}
        if kind == "folder":
            folder = inside(self.root, arg)
            if folder is None or not folder.is_dir():
                raise UsageError(f"data: {arg!r} is not a folder under the served root; give its path relative to "
                                 f"it, e.g. folder:photos")
            data = f"folder:{folder}"
        if "image_size" in dataset_options(data):  # an image folder: decoded at the preview's size
            options = {"image_size": (size, size), "color": "rgb", "decode_workers": 0}
        key = (data, size if options else 0, seed)
        if key not in self.sources:  # split with the seed, as `zenlearn augment --seed` does
            splits = load_splits(data, root=self.data_dir, seed=seed, **options)
            if splits.spec.kind != "image":
                raise UsageError(f"data: {data} holds {splits.spec.kind} samples, not images; pick an image dataset "
                                 f"({', '.join(DATASETS_SHOWN)}), a folder or an upload")
            self.sources[key] = splits
            while len(self.sources) > 2:
                self.sources.popitem(last=False)
        self.sources.move_to_end(key)
        return self.sources[key]

    def draw(self, settings: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        """The PNG of `settings` (`parse_settings`) and what the page shows beside it (time per batch, shape).

        The originals are the top row; each further row is one call of the same seeded `Augment` on them.
        """
        kwargs = settings["augment"]
        x, held = self.samples(settings["data"], settings["samples"], settings["seed"], settings["size"])
        png = png_bytes(augment_grid(x, Augment(**kwargs, seed=settings["seed"]), settings["rows"]))
        batch = x.repeat(-(-TIMED_BATCH // len(x)), 1, 1, 1)[:TIMED_BATCH]  # (64, C, H, W)
        timer = Augment(**kwargs, seed=settings["seed"])
        timer(batch)  # warm up: the first call allocates
        times: list[float] = []
        while len(times) < TIMED_CALLS and sum(times) < TIMED_SECONDS:
            t0 = time.perf_counter()
            timer(batch)
            times.append(time.perf_counter() - t0)
        info = {"ms_per_batch": round(min(times) * 1000, 3), "timed_calls": len(times), "batch": TIMED_BATCH,
                "shape": list(x.shape[1:]), "held": held, "cli": self.command(settings),
                "augment": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}}
        return png, info

    def command(self, settings: dict[str, Any]) -> str | None:
        """The `zenlearn augment` command that writes the same PNG (None for an uploaded image)."""
        kind, _, arg = settings["data"].partition(":")
        if kind == "upload":
            return None
        data = ["--data", f"folder:{inside(self.root, arg)}" if kind == "folder" else settings["data"]]
        if "image_size" in dataset_options(data[1]):
            data += ["--image-size", f"{settings['size']},{settings['size']}", "--color", "rgb"]
        args = [*data, "--augment", settings["spec"], "--samples", str(settings["samples"]), "--rows",
                str(settings["rows"]), "--seed", str(settings["seed"])]  # --out: the CLI's default file
        return shlex.join(["zenlearn", "augment", *args])
