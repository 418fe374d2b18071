"""`--augment` spec strings ("rotation_range=45,horizontal_flip=true", "cifar,crop_padding=2") and the
presets (`AUGMENTATIONS`) they may start with."""

from __future__ import annotations

import ast
import inspect
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .registry import Registry

if TYPE_CHECKING:
    from .augment import Augment

AUGMENTATIONS: Registry[dict[str, Any]] = Registry("augmentation preset")
AUGMENTATIONS.add("mnist", {"rotation_range": 10, "width_shift_range": 0.1, "height_shift_range": 0.1,
                            "zoom_range": 0.1, "fill_mode": "constant", "cval": 0.0},
                  "digits: small rotations, shifts and zooms, black fill, no flips",
                  params={"rotation_range": 10, "width_shift_range": 0.1, "height_shift_range": 0.1,
                          "zoom_range": 0.1, "fill_mode": "constant"})
AUGMENTATIONS.add("cifar", {"crop_padding": 4, "horizontal_flip": True, "fill_mode": "reflect"},
                  "small photos: random crop with 4 px reflect padding + horizontal flip",
                  params={"crop_padding": 4, "horizontal_flip": True, "fill_mode": "reflect"})
AUGMENTATIONS.add("imagenet", {"resized_crop": True, "horizontal_flip": True, "brightness_range": (0.6, 1.4),
                               "contrast_range": (0.6, 1.4), "fill_mode": "reflect"},
                  "photos: random resized crop (8-100% area) + flip + brightness/contrast 0.6-1.4",
                  params={"resized_crop": True, "horizontal_flip": True, "brightness_range": "0.6:1.4",
                          "contrast_range": "0.6:1.4"})

_NOT_FROM_SPEC = {"preprocessing_function", "dtype"}


def option_names() -> list[str]:
    """Keyword names `Augment` accepts."""
    from .augment import Augment

    return [n for n in inspect.signature(Augment.__init__).parameters if n != "self"]


def parse_spec(spec: str) -> dict[str, Any]:
    """Spec string → `Augment` kwargs. A leading preset name is expanded; values are Python literals
    (`0.2`, `true`, `(0.8, 1.2)`, `[1, 2]`), `lo:hi` pairs, or bare words (`fill_mode=reflect`).

    Example:
        >>> parse_spec("rotation_range=45,zoom_range=0.2,horizontal_flip=true,brightness_range=0.8:1.2")
        {'rotation_range': 45, 'zoom_range': 0.2, 'horizontal_flip': True, 'brightness_range': (0.8, 1.2)}
    """
    kwargs: dict[str, Any] = {}
    names = option_names()
    for i, part in enumerate(_split_top(spec)):
        if "=" not in part:
            if i == 0 and part in AUGMENTATIONS:
                kwargs.update(AUGMENTATIONS.get(part))
                continue
            raise UsageError(f"--augment: {part!r} is neither a preset ({', '.join(AUGMENTATIONS.names())}; only "
                             f"first) nor key=value; e.g. --augment \"rotation_range=45,horizontal_flip=true\"")
        key, _, raw = (s.strip() for s in part.partition("="))
        if key not in names or key in _NOT_FROM_SPEC:
            raise UsageError(f"--augment: unknown option {key!r}; valid options: "
                             f"{', '.join(n for n in names if n not in _NOT_FROM_SPEC)}")
        kwargs[key] = _literal(raw)
    return kwargs


def _split_top(spec: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in spec:
        depth += ch in "(["
        depth -= ch in ")]"
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [s for s in parts if s]


def _literal(raw: str) -> Any:
    low = raw.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    if ":" in raw and not raw.startswith(("(", "[")):
        return tuple(_literal(r) for r in raw.split(":"))
    try:
        v = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw
    return v


def spec_problems(spec: str | None) -> list[str]:
    """Problems with an `--augment` spec for training (empty when fine); used by config validation."""
    if spec is None or not spec.strip() or spec.strip().lower() in ("none", "off"):
        return []
    from .augment import Augment

    try:
        kwargs = parse_spec(spec)
        Augment(**{**kwargs, "seed": 0})
    except UsageError as e:
        return [str(e)]
    train_only = [k for k in kwargs if k in ("rescale", "mean", "std", "samplewise_center", "samplewise_std_normalization",
                                             "featurewise_center", "featurewise_std_normalization") and kwargs[k]]
    if train_only:
        return [f"--augment: {', '.join(train_only)} would normalize training batches only (test data would differ); "
                f"zenlearn's loaders already scale pixels to [0, 1] — drop them from --augment"]
    return []


def describe(aug: "Augment") -> str:
    """Short text of an `Augment`'s active settings (for repr and logs)."""
    from .augment import Augment

    defaults = Augment(seed=0)
    out = []
    for name in ("rotation_range", "shear_range", "horizontal_flip", "vertical_flip", "crop_padding",
                 "resized_crop", "fill_mode", "brightness", "contrast", "channel_shift", "noise_std", "cutout",
                 "random_erasing", "shift", "zoom"):
        v = getattr(aug, name)
        if v != getattr(defaults, name):
            out.append(f"{name}={v}")
    return ", ".join(out + [f"seed={aug.seed}"])

