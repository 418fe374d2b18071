"""`DistillConfig`: the options of a distillation (the student's own options are a `TrainConfig`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from zenlearn.config.fields import coerce, field_names, field_types
from zenlearn.errors import UsageError


@dataclass
class DistillConfig:
    """Options of the distillation itself (the student's own options are a `TrainConfig`).

    Example: `DistillConfig(teacher="runs/teacher", temperature=20, alpha=0.9)`.
    """

    teacher: str = ""
    """Run folder of the trained teacher (made by `zenlearn train`)."""
    method: str = "kd"
    """Distillation method (see `zenlearn list distillation`): kd (Hinton soft targets) or hint (FitNets features)."""
    temperature: float = 4.0
    """Softmax temperature T of the soft targets (kd); the soft term is scaled by T²."""
    alpha: float = 0.9
    """Weight of the distillation term; the hard-label cross-entropy gets 1 - alpha (0: labels only)."""
    hint_layer: str | None = None
    """hint: module names STUDENT[:TEACHER] whose outputs are matched (see the models' named_modules());
    default: the input of each model's last linear layer (the penultimate features)."""

    def validate(self, methods: list[str] | None = None) -> "DistillConfig":
        """Check the teacher, the ranges and (given the registered `methods`) the method name; raise one
        `UsageError` listing every problem. `zenlearn.distill.methods.check_distill_config` passes the methods."""
        p = []
        if not self.teacher:
            p.append("--teacher RUN_DIR is required (a run folder made by `zenlearn train`)")
        if methods is not None and self.method not in methods:
            p.append(f"unknown distillation method {self.method!r}; choose one of: {', '.join(methods)}")
        if not self.temperature > 0:
            p.append(f"temperature must be > 0, got {self.temperature}")
        if not 0.0 <= self.alpha <= 1.0:
            p.append(f"alpha must be in [0, 1], got {self.alpha}")
        if p:
            raise UsageError("invalid distillation options: " + "; ".join(p))
        return self

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DistillConfig":
        """Build from a dict of option → value (CLI strings or YAML values), coerced and range-checked."""
        hints, known = field_types(cls), field_names(cls)
        unknown = [k for k in d if k not in known]
        if unknown:
            raise UsageError(f"unknown distillation option(s) {', '.join(map(repr, unknown))}; valid: {', '.join(known)}")
        return cls(**{k: coerce(k, hints[k], v) for k, v in d.items()}).validate()

    def replace(self, **changes: Any) -> "DistillConfig":
        return dataclasses.replace(self, **changes)
