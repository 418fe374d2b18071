"""`RunSummary`: a training run's `summary.json`, typed. `RunDir.read_summary` / `write_summary` read and
write it; every reader (reports, the runs table, `zenlearn serve`, compare, reproduce, predict) uses it.

A key this version does not know (the dataset's `summary_fields`, such as an image folder's
`skipped_files`, or a newer zenlearn's additions) is kept in `extra` and written back unchanged, so reading
and writing a summary loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

OPTIONAL = ("class_weight", "mse", "baseline_mse", "forecast")
"""Fields written only when they have a value (a weighted loss, a regression, a forecast)."""


@dataclass
class RunSummary:
    """What a finished training run reports about itself (`summary.json`).

    Example:
        >>> s = RunSummary.from_dict({"test": {"accuracy": 0.9, "loss": 0.3}, "epochs": 2, "skipped_files": []})
        >>> s.test["accuracy"], s.epochs, s.extra
        (0.9, 2, {'skipped_files': []})
        >>> RunSummary.from_dict(s.to_dict()) == s
        True
    """

    test: dict[str, float] | None = None
    """Test metrics (`loss` and the task's metrics); None when the test split was not read (a search trial)."""
    val: dict[str, float] | None = None
    """Validation metrics of the kept weights; None without a validation split."""
    train_seconds: float | None = None
    wall_seconds: float | None = None
    samples_per_second: float | None = None
    params: int | None = None
    world_size: int = 1
    epochs: int | None = None
    """Epochs trained (fewer than `epochs_requested` after early stopping)."""
    epochs_requested: int | None = None
    stopped_early: bool = False
    best_epoch: int | None = None
    """The early-stopping monitor's best epoch (1-based)."""
    kept_epoch: int | None = None
    """With `--keep-best`: the epoch whose weights the run kept (1-based)."""
    data: dict[str, Any] = field(default_factory=dict)
    """The dataset: name, train / val / test sizes, task and its data fields (mean, classes, …)."""
    model: str | None = None
    device: str | None = None
    precision: str | None = None
    seed: int | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    class_weight: dict[str, float] | None = None
    mse: float | None = None
    baseline_mse: float | None = None
    forecast: dict[str, Any] | None = None
    """A forecast's model beside the naive and seasonal-naive baselines on the test span."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per part of the run: import, data, build, fit, evaluate, write, report."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Every other key, kept as read."""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunSummary":
        """The summary in `d` (summary.json's object); unknown keys go to `extra`."""
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in d.items() if k in names}
        for k in ("data", "environment", "timings"):
            if not isinstance(known.get(k, {}), dict):
                known[k] = {}
        return cls(**known, extra={k: v for k, v in d.items() if k not in names})

    def to_dict(self) -> dict[str, Any]:
        """summary.json's object: the fields in order (the optional ones when set), then `extra`, then `timings`."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extra", "timings")}
        out = {k: v for k, v in out.items() if not (k in OPTIONAL and v is None)}
        return {**out, **self.extra, "timings": self.timings}

    def metric(self, split: str, name: str) -> float | None:
        """One metric of a split (`"test"` or `"val"`), or None when the run has none.

        Example:
            >>> RunSummary(test={"accuracy": 0.5}).metric("test", "accuracy"), RunSummary().metric("val", "loss")
            (0.5, None)
        """
        value = (getattr(self, split) or {}).get(name)
        return float(value) if isinstance(value, (int, float)) else None
