"""The vocabulary of the reproduction suite: `Experiment`s made of `Comparison`s, run at a `Budget`, each row
beside its published `Anchor` and checked against `Claim`s (the experiments themselves are in `suite.py`
and `sequences.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

BUDGETS = ("full", "quick", "tiny")


@dataclass(frozen=True)
class Anchor:
    """A published number (or, where the source gives none, a published statement) for one row."""

    text: str
    """How the source reports it, e.g. "32 %" or "67 errors"."""
    value: float | None = None
    """The number in the row's metric (accuracy as a fraction, errors as a count); None for statements."""
    source: str = ""
    """Short citation."""


@dataclass(frozen=True)
class Claim:
    """A qualitative claim checked on the measured means: every (better, worse) pair must hold on `metric`."""

    text: str
    metric: str
    """Row metric: test_accuracy, train_loss, grad_ratio, errors, …"""
    pairs: tuple[tuple[str, str], ...]
    """(label that should be better, label it should beat)."""
    source: str = ""
    margin: float = 0.0
    """How far the better row may trail and still hold, in the metric's units ("≥ the peer − 0.5 points")."""


@dataclass(frozen=True)
class Comparison:
    """One comparison run: config overrides on the experiment's base and the values varied (as in `--vary`)."""

    name: str
    """Row-label prefix ("" when the varied value alone names the row)."""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    vary: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    """Row label per varied value where the value itself is not a good name (e.g. an augmentation spec)."""
    lr_grid: tuple[float, ...] = ()
    """If set, the learning rate is first picked from this grid on the validation split (1 seed each, the
    DeepOBS protocol), then the chosen rate is rerun with every seed and reported on the test set."""
    tag: str = ""
    """Budgets may override settings per tag (e.g. the 60k-image arms train fewer epochs)."""


@dataclass(frozen=True)
class Budget:
    """How much of the protocol one budget runs."""

    seeds: int
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """TrainConfig fields set on every run (epochs, train_subset, …)."""
    per_tag: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Extra overrides for comparisons with that tag."""
    lr_points: int | None = None
    """Use only this many middle points of each LR grid; None: all."""
    student: Mapping[str, Any] = field(default_factory=dict)
    """Distillation: TrainConfig fields of the student on top of the teacher's (e.g. fewer epochs)."""
    tag_seeds: Mapping[str, int] = field(default_factory=dict)
    """Seeds for comparisons with that tag instead of `seeds` (cheap, noisy arms get more); `--seeds` overrides."""


@dataclass(frozen=True)
class Experiment:
    """One section of results.md: comparisons, anchors, claims and budgets (see the module docstring)."""

    name: str
    title: str
    claim: str
    """The survey's claim this section measures."""
    base: Mapping[str, Any]
    """TrainConfig fields shared by every run of the experiment."""
    comparisons: tuple[Comparison, ...]
    budgets: Mapping[str, Budget]
    anchors: Mapping[str, Anchor] = field(default_factory=dict)
    """Row label → published anchor."""
    claims: tuple[Claim, ...] = ()
    paper: Mapping[str, Any] = field(default_factory=dict)
    """The published protocol in TrainConfig terms (epochs, train size, …), to list the differences."""
    metric: str = "test_accuracy"
    """The headline metric of the table (distillation: errors)."""
    distill: Mapping[str, Any] = field(default_factory=dict)
    """Distillation only: the student's overrides ("student") and the `DistillConfig` options ("options")."""
    curves: tuple[str, ...] = ("loss", "val_accuracy")
    """metrics.csv columns to plot per row (mean over seeds by epoch)."""
    notes: tuple[str, ...] = ()
    """Known reasons why this setting differs from the source, printed under the table."""
    peers: tuple[str, ...] = ()
    """Other libraries' models (`workflows.peers.PEERS`) fitted in the same run on each comparison's own rows."""


def seeds_of(budget: Budget, comp: Comparison, seeds: int, override: bool = False) -> int:
    """Seeds of one comparison: the budget's for its tag, else `seeds`; `override` (`--seeds N`) wins."""
    return seeds if override else budget.tag_seeds.get(comp.tag, seeds)


def student_options(exp: Experiment, budget: Budget) -> dict[str, Any]:
    """The distillation student's TrainConfig fields over the teacher's: the experiment's, then the budget's."""
    return {**exp.distill.get("student", {}), **budget.student}


def budget_of(exp: Experiment, budget: str) -> Budget:
    """The experiment's `budget` settings; an unknown budget is a `ValueError` naming the choices."""
    if budget not in exp.budgets:
        raise ValueError(f"unknown budget {budget!r}; choose one of: {', '.join(exp.budgets)}")
    return exp.budgets[budget]


def lr_points(grid: tuple[float, ...], n: int | None) -> tuple[float, ...]:
    """The `n` middle points of `grid` (all of it when `n` is None)."""
    if n is None or n >= len(grid):
        return grid
    start = (len(grid) - n) // 2
    return grid[start:start + n]
