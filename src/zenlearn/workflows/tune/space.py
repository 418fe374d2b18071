"""Search spaces: `--search NAME=SPEC` parsed into typed `Param`s, checked before the first trial.

Specs: `log:1e-4:1e-1` (log-uniform float), `uniform:0:0.5` (float), `int:1:4` (integer, both ends
included) and `a,b,c` (categorical; tuple options separate their choices with `;`, like compare's
`--vary hidden=64;128,128`). Any option that changes what is trained can be searched.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zenlearn.config import TrainConfig, coerce, field_names, field_types
from zenlearn.config.fields import plain, show, split_option, split_values
from zenlearn.errors import UsageError
from zenlearn.training.build import check_config

NOT_SEARCHED = ("out", "overwrite", "seed", "data", "data_dir", "report", "tensorboard", "device", "threads",
                "decode_workers", "checkpoint_every", "grad_norms", "eval_batch_size", "deterministic", "skip_bad_images")
"""Options that say where and how a run is written or executed, not what is trained."""
KINDS = ("log", "uniform", "int")
MAX_CHECKED = 512  # config combinations checked before the first trial (all categoricals × range ends)


@dataclass(frozen=True)
class Param:
    """One searched option: `kind` is log, uniform, int or choice; `low`/`high` bound the ranges."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()

    @property
    def spec(self) -> str:
        """The spec as a user writes it (what the study stores, so a rerun can be compared)."""
        if self.kind == "choice":
            sep = ";" if any(isinstance(c, tuple) for c in self.choices) else ","
            return sep.join(show(c) for c in self.choices)
        return f"{self.kind}:{self.low:g}:{self.high:g}"

    def suggest(self, trial: Any) -> Any:
        """Draw this option's value from an Optuna trial (categorical tuples travel as their text)."""
        if self.kind == "log":
            return trial.suggest_float(self.name, self.low, self.high, log=True)
        if self.kind == "uniform":
            return trial.suggest_float(self.name, self.low, self.high)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        picked = trial.suggest_categorical(self.name, [plain(c) for c in self.choices])
        return next(c for c in self.choices if plain(c) == picked)

    def grid(self) -> list[Any]:
        """Every value a grid search tries (ranges must be integer)."""
        if self.kind == "choice":
            return [plain(c) for c in self.choices]
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1))
        raise UsageError(f"--sampler grid needs finite choices; --search {self.name}={self.spec} is continuous; "
                         f"list values ({self.name}=V1,V2,…) or use --sampler tpe|random")


def parse_search(specs: Sequence[str]) -> list[Param]:
    """Parse `NAME=SPEC` strings into `Param`s, checking names, kinds, bounds and value types.

    Args:
        specs: Strings like "lr=log:1e-4:1e-1", "dropout=uniform:0:0.5", "optimizer=sgd,adam".

    Example:
        >>> [p.spec for p in parse_search(["lr=log:1e-4:0.1", "optimizer=sgd,adam", "hidden=64;128,128"])]
        ['log:0.0001:0.1', 'sgd,adam', '64;128,128']
    """
    if not specs:
        raise UsageError("--search: give at least one NAME=SPEC, like lr=log:1e-4:1e-1 or optimizer=sgd,adam")
    known, types = field_names(TrainConfig), field_types(TrainConfig)
    params: dict[str, Param] = {}
    for text in specs:
        name, spec = split_option(text, "--search", "NAME=SPEC (like lr=log:1e-4:1e-1 or optimizer=sgd,adam)")
        if name in NOT_SEARCHED:
            raise UsageError(f"--search {name}: not a training option that can be searched (it says where or how a "
                             f"run is executed); searchable: {', '.join(k for k in known if k not in NOT_SEARCHED)}")
        if name not in known:
            raise UsageError(f"--search {name}: unknown option; searchable: "
                             f"{', '.join(k for k in known if k not in NOT_SEARCHED)}")
        if name in params:
            raise UsageError(f"--search {name} given twice; give it once")
        params[name] = _parse_one(name, spec.strip(), types[name])
    return list(params.values())


def _parse_one(name: str, spec: str, tp: Any) -> Param:
    kind, _, rest = spec.partition(":")
    if kind in KINDS:
        parts = rest.split(":")
        if len(parts) != 2:
            raise UsageError(f"--search {name}={spec}: expected {kind}:LOW:HIGH, like {kind}:1e-4:1e-1")
        low, high = (coerce(name, float, p) for p in parts)
        type_name = str(tp)
        if kind == "int" and not ("int" in type_name and "tuple" not in type_name):
            raise UsageError(f"--search {name}={spec}: int:LOW:HIGH needs an integer option; {name} is not one")
        if kind != "int" and not ("float" in type_name and "tuple" not in type_name):
            raise UsageError(f"--search {name}={spec}: {kind}:LOW:HIGH needs a number option; {name} is not one "
                             f"(list its choices: {name}=V1,V2,…)")
        if kind == "int" and (low != int(low) or high != int(high)):
            raise UsageError(f"--search {name}={spec}: int bounds must be whole numbers")
        if kind == "log" and low <= 0:
            raise UsageError(f"--search {name}={spec}: log bounds must be > 0 (got {low:g}); use uniform:LOW:HIGH "
                             f"for a range that includes 0")
        if low >= high:
            raise UsageError(f"--search {name}={spec}: LOW must be below HIGH (got {low:g} >= {high:g})")
        return Param(name, kind, low, high)
    parts = split_values(spec, "tuple" in str(tp))
    if not all(parts):
        raise UsageError(f"--search {name}={spec}: an empty choice; list values like {name}=V1,V2,…")
    choices = tuple(coerce(name, tp, p) for p in parts)
    if len({json.dumps(c) for c in choices}) != len(choices):
        raise UsageError(f"--search {name}={spec}: a choice is listed twice")
    return Param(name, "choice", choices=choices)


def check_space(base: TrainConfig, params: Sequence[Param], sampler: str) -> None:
    """Refuse, before any trial, a value some option does not accept (an unknown optimizer name, …).

    Every categorical value is checked with every other's and with each range's two ends (up to
    `MAX_CHECKED` combinations, then each value on its own); problems are collected and raised once.
    """
    if sampler == "grid":
        for p in params:
            p.grid()
    axes = [[(p.name, c) for c in p.choices] if p.kind == "choice" else
            [(p.name, int(v) if p.kind == "int" else v) for v in (p.low, p.high)] for p in params]
    total = 1
    for a in axes:
        total *= len(a)
    combos = itertools.product(*axes) if total <= MAX_CHECKED else ([pair] for a in axes for pair in a)
    found: dict[str, str] = {}  # problem -> the first combination showing it
    for combo in combos:
        try:
            check_config(base.replace(**dict(combo)))
        except UsageError as e:
            found.setdefault(str(e).removeprefix("invalid config: "), ", ".join(f"{k}={show(v)}" for k, v in combo))
    problems = [f"{where}: {msg}" for msg, where in found.items()]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise UsageError("--search: a value the options do not accept: " + "; ".join(problems[:3]) + more)


def space_key(params: Sequence[Param]) -> dict[str, str]:
    """{name: spec}: what identifies a study's search space."""
    return {p.name: p.spec for p in params}


def format_params(values: dict[str, Any]) -> str:
    """Searched values as `lr=0.00131 optimizer=adam`: numbers to 3 significant digits (the exact values are
    in the trial's config.yaml and best.yaml).

    Example:
        >>> format_params({"lr": 0.0013141592, "optimizer": "adam", "hidden": (64, 64), "dropout": 0.25})
        'lr=0.00131 optimizer=adam hidden=64,64 dropout=0.25'
    """
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={show(v)}" for k, v in values.items())
