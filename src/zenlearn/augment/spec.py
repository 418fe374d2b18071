"""`--augment` spec strings ("rotation_range=45,horizontal_flip=true", "cifar,crop_padding=2") and the
presets (`AUGMENTATIONS`) they may start with: text → keyword arguments, below the `Augment` class."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Sequence

from zenlearn.config.fields import split_option
from zenlearn.errors import UsageError
from zenlearn.registry import Registry


@dataclass(frozen=True)
class PresetInfo:
    """What `zenlearn list augmentations` shows of a preset (its settings, as a user would write them)."""

    shown: dict[str, Any] = field(default_factory=dict)

    def listing(self) -> dict[str, Any]:
        return self.shown


AUGMENTATIONS: Registry[dict[str, Any]] = Registry("augmentation preset")
AUGMENTATIONS.add("mnist", {"rotation_range": 10, "width_shift_range": 0.1, "height_shift_range": 0.1,
                            "zoom_range": 0.1, "fill_mode": "constant", "cval": 0.0},
                  "digits: small rotations, shifts and zooms, black fill, no flips",
                  info=PresetInfo({"rotation_range": 10, "width_shift_range": 0.1, "height_shift_range": 0.1,
                                   "zoom_range": 0.1, "fill_mode": "constant"}))
AUGMENTATIONS.add("cifar", {"crop_padding": 4, "horizontal_flip": True, "fill_mode": "reflect"},
                  "small photos: random crop with 4 px reflect padding + horizontal flip",
                  info=PresetInfo({"crop_padding": 4, "horizontal_flip": True, "fill_mode": "reflect"}))
AUGMENTATIONS.add("imagenet", {"resized_crop": True, "horizontal_flip": True, "brightness_range": (0.6, 1.4),
                               "contrast_range": (0.6, 1.4), "fill_mode": "reflect"},
                  "photos: random resized crop (8-100% area) + flip + brightness/contrast 0.6-1.4",
                  info=PresetInfo({"resized_crop": True, "horizontal_flip": True, "brightness_range": "0.6:1.4",
                                   "contrast_range": "0.6:1.4"}))

_NOT_FROM_SPEC = {"preprocessing_function", "dtype"}


def parse_spec(spec: str, valid: Sequence[str] | None = None) -> dict[str, Any]:
    """Spec string → `Augment` kwargs. A leading preset name is expanded; values are Python literals
    (`0.2`, `true`, `(0.8, 1.2)`, `[1, 2]`), `lo:hi` pairs, or bare words (`fill_mode=reflect`).

    Args:
        spec: The spec string.
        valid: Option names to accept (`Augment.from_spec` passes its own); another key is a `UsageError`.
            Defaults to None (any key).

    Example:
        >>> parse_spec("rotation_range=45,zoom_range=0.2,horizontal_flip=true,brightness_range=0.8:1.2")
        {'rotation_range': 45, 'zoom_range': 0.2, 'horizontal_flip': True, 'brightness_range': (0.8, 1.2)}
    """
    kwargs: dict[str, Any] = {}
    for i, part in enumerate(_split_top(spec)):
        if "=" not in part:
            if i == 0 and part in AUGMENTATIONS:
                kwargs.update(AUGMENTATIONS.get(part))
                continue
            raise UsageError(f"--augment: {part!r} is neither a preset ({', '.join(AUGMENTATIONS.names())}; only "
                             f"first) nor key=value; e.g. --augment \"rotation_range=45,horizontal_flip=true\"")
        key, raw = split_option(part, "--augment", "KEY=VALUE, e.g. --augment \"rotation_range=45,horizontal_flip=true\"")
        raw = raw.strip()
        if valid is not None and (key not in valid or key in _NOT_FROM_SPEC):
            raise UsageError(f"--augment: unknown option {key!r}; valid options: "
                             f"{', '.join(n for n in valid if n not in _NOT_FROM_SPEC)}")
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
