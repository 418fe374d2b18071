"""What a comparison varies: every combination of `--vary` values, or a list of explicit `--variant`s (a lab
race's lanes), each a named set of config values.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zenlearn.config import TrainConfig, coerce, field_names, field_types
from zenlearn.config.fields import show, split_option, split_values
from zenlearn.errors import UsageError

NOT_VARIED = ("out", "seed", "overwrite")  # the runner sets these itself (seeds come from --seeds)


@dataclass
class Variant:
    """One combination of varied values, e.g. `{"optimizer": "adam", "lr": 0.01}`."""

    name: str
    values: dict[str, Any]
    slug: str


def parse_vary(specs: Sequence[str]) -> dict[str, list[Any]]:
    """Parse `KEY=V1,V2,…` strings into {field: [typed values]}; tuple fields separate variants by `;`.

    Args:
        specs: Strings like "optimizer=sgd,adam" or "hidden=64;128,128".

    Example:
        >>> parse_vary(["optimizer=sgd,adam", "lr=0.1,0.01"])
        {'optimizer': ['sgd', 'adam'], 'lr': [0.1, 0.01]}
    """
    vary: dict[str, list[Any]] = {}
    for spec in specs:
        key, values = split_option(spec, "--vary", "KEY=V1,V2,… (like optimizer=sgd,adam)")
        if key in vary:
            raise UsageError(f"--vary {key} given twice; list all its values once: {key}=V1,V2,…")
        vary[key] = split_values(values, "tuple" in str(field_types(TrainConfig).get(key, "")))
    return check_vary(vary)


def _check_key(key: str, flag: str) -> None:
    if key in NOT_VARIED:
        how = "use --seeds N" if key == "seed" else "the runner sets it for every run"
        raise UsageError(f"{flag} {key}: cannot be varied ({how})")
    known = field_names(TrainConfig)
    if key not in known:
        valid = ", ".join(k for k in known if k not in NOT_VARIED)
        raise UsageError(f"{flag} {key}: unknown option; valid keys: {valid}")


def check_vary(vary: dict[str, Sequence[Any]]) -> dict[str, list[Any]]:
    """Check keys against the config fields and coerce every value to its field's type."""
    types = field_types(TrainConfig)
    out: dict[str, list[Any]] = {}
    for key, values in vary.items():
        _check_key(key, "--vary")
        typed = [coerce(key, types[key], v) for v in values]
        if not typed:
            raise UsageError(f"--vary {key}: give at least one value")
        if len({json.dumps(v) for v in typed}) != len(typed):
            raise UsageError(f"--vary {key}: a value is listed twice ({', '.join(map(show, typed))})")
        out[key] = typed
    return out


def make_variants(vary: dict[str, list[Any]]) -> list[Variant]:
    """Every combination of the varied values, in the order given (the first key varies slowest)."""
    if not vary:
        return [Variant("base", {}, "base")]
    return _named([dict(zip(vary, combo)) for combo in itertools.product(*vary.values())])


def parse_variant(text: str, flag: str = "--variant") -> dict[str, Any]:
    """One explicit variant, `KEY=VALUE` pairs separated by spaces (`base`: no change), as typed values.

    Args:
        text: Like "optimizer=sgd lr=0.1" or "hidden=64,64 activation=tanh".
        flag: The option it came from, for messages. Defaults to "--variant".

    Example:
        >>> parse_variant("optimizer=sgd lr=0.1")
        {'optimizer': 'sgd', 'lr': 0.1}
    """
    if not isinstance(text, str):
        raise UsageError(f"{flag} expects KEY=VALUE pairs separated by spaces, got {text!r}")
    if text.strip() == "base":
        return {}
    pairs: dict[str, str] = {}
    for pair in text.split():
        key, value = split_option(pair, flag, "KEY=VALUE pairs separated by spaces (like 'optimizer=sgd lr=0.1')")
        if key in pairs:
            raise UsageError(f"{flag} {text!r}: {key} given twice")
        pairs[key] = value.strip()
    if not pairs:
        raise UsageError(f"{flag} expects KEY=VALUE pairs separated by spaces (or base), got {text!r}")
    return check_variant(pairs, flag)


def check_variant(values: dict[str, Any], flag: str = "--variant") -> dict[str, Any]:
    """One explicit variant as a dict (from the command line or a form): keys checked, values typed.

    Example:
        >>> check_variant({"optimizer": "sgd", "lr": "0.1"})
        {'optimizer': 'sgd', 'lr': 0.1}
    """
    if not isinstance(values, dict):
        raise UsageError(f"{flag} expects KEY=VALUE settings, got {values!r}")
    types, out = field_types(TrainConfig), {}
    for key, value in values.items():
        key = str(key).lstrip("-").replace("-", "_")
        _check_key(key, flag)
        out[key] = coerce(key, types[key], value)
    return out


def explicit_variants(variants: Sequence[dict[str, Any]],
                      base: TrainConfig) -> tuple[dict[str, list[Any]], list[Variant]]:
    """Explicit variants (each a dict of changed values) over the union of their keys, a key that a variant
    leaves alone taking `base`'s value; each is named by the values it changes. Returns ({key: value per variant},
    the variants); equal variants keep apart by a `#2`, `#3` suffix.

    Example:
        >>> vary, vs = explicit_variants([{"optimizer": "sgd", "lr": 0.1}, {"optimizer": "adam"}], TrainConfig())
        >>> vary, [v.name for v in vs]
        ({'optimizer': ['sgd', 'adam'], 'lr': [0.1, None]}, ['optimizer=sgd, lr=0.1', 'optimizer=adam'])
    """
    keys = list(dict.fromkeys(k for v in variants for k in v))
    full = [{k: v.get(k, getattr(base, k, None)) for k in keys} for v in variants]  # (a race's temperature: none)
    named = _named([dict(v) for v in variants])  # named by what each changes
    for variant, values in zip(named, full):
        variant.values = values
    return {k: [v[k] for v in full] for k in keys}, named


def _named(combos: list[dict[str, Any]]) -> list[Variant]:
    variants: list[Variant] = []
    names, slugs = set(), set()
    for values in combos:
        name = ", ".join(f"{k}={show(v)}" for k, v in values.items()) or "base"
        slug = "_".join(f"{k}-{re.sub(r'[^A-Za-z0-9.+-]+', '-', show(v))}" for k, v in values.items())[:120] or "base"
        n = 1
        while name in names:
            n += 1
            name = f"{name.split(' #')[0]} #{n}"
        while slug in slugs:
            slug += "-"
        names.add(name)
        slugs.add(slug)
        variants.append(Variant(name, values, slug))
    return variants
