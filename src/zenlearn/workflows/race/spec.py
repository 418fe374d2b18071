"""`RaceSpec`: what a lab race trains — one base config and 2 to `MAX_LANES` lanes, each changing one thing —
its checks (every problem in one `UsageError`), and the commands that rebuild it (`zenlearn race`, and the
equivalent `zenlearn compare`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from zenlearn.config import TrainConfig
from zenlearn.config.fields import changed_flags, show
from zenlearn.errors import UsageError
from zenlearn.training.build import check_config
from zenlearn.workflows.variants import parse_variant

MAX_LANES = 6
"""The most lanes a race may have (the issue's 2–6); `zenlearn serve --lab-lanes` may allow fewer."""
LANE_KEYS = {
    "optimizer": ("optimizer", "lr", "momentum", "weight_decay", "betas", "eps", "rho"),
    "activation": ("activation", "negative_slope", "elu_alpha"),
    "augmentation": ("augment",),
}
"""What a lane may change: the optimizer (with its learning rate and options), the activation, or the
augmentation. Everything else is the race's, so every lane starts from the same weights and batch order."""


def lane_text(values: dict[str, Any]) -> str:
    """A lane as `--lane` / `--variant` text: `KEY=VALUE` pairs separated by spaces (`base` for no change).

    Example:
        >>> lane_text({"optimizer": "sgd", "lr": 0.1}), lane_text({})
        ('optimizer=sgd lr=0.1', 'base')
    """
    return " ".join(f"{k}={show(v)}" for k, v in values.items()) or "base"


@dataclass
class RaceSpec:
    """A lab race: `base` trained once per lane, each lane changing a few of its values.

    Args:
        base: The config every lane starts from (data, model, epochs, batch size, seed, …).
        lanes: One dict per lane of the values it changes (`LANE_KEYS`), e.g. `{"optimizer": "sgd", "lr": 0.1}`.
        max_steps: Stop each lane after this many optimizer steps. Defaults to None (every epoch).
        max_lanes: The most lanes allowed. Defaults to `MAX_LANES`.

    Example:
        >>> spec = RaceSpec(TrainConfig(data="mnist1d", model="mlp"), [{"optimizer": "sgd"}, {"optimizer": "adam"}])
        >>> [c.optimizer for c in spec.check().lane_configs()]
        ['sgd', 'adam']
    """

    base: TrainConfig
    lanes: list[dict[str, Any]] = field(default_factory=list)
    max_steps: int | None = None
    max_lanes: int = MAX_LANES

    @classmethod
    def from_texts(cls, base: TrainConfig, lanes: list[str], **kwargs: Any) -> RaceSpec:
        """A spec from `--lane` texts ("optimizer=sgd lr=0.1")."""
        return cls(base, [parse_variant(t, "--lane") for t in lanes], **kwargs)

    def lane_configs(self) -> list[TrainConfig]:
        """Each lane's config (its folder not set yet)."""
        return [self.base.replace(**lane) for lane in self.lanes]

    def check(self) -> RaceSpec:
        """Raise one `UsageError` listing every problem (lane count, keys a lane may not change, each lane's
        config as `check_config` sees it, the step limit); return the spec."""
        n, most = len(self.lanes), min(self.max_lanes, MAX_LANES)
        if not 2 <= n <= most:
            raise UsageError(f"a race has 2 to {most} lanes, got {n}; "
                             + ("remove lanes" if n > most else "add a lane (--lane 'optimizer=sgd')"))
        problems = []
        if self.max_steps is not None and (not isinstance(self.max_steps, int) or self.max_steps < 1):
            problems.append(f"max_steps must be an integer >= 1, got {self.max_steps!r}")
        allowed = [k for keys in LANE_KEYS.values() for k in keys]
        for i, lane in enumerate(self.lanes, 1):
            if not isinstance(lane, dict):
                problems.append(f"lane {i}: expected KEY=VALUE settings, got {lane!r}")
                continue
            fixed = [k for k in lane if k not in allowed]
            if fixed:
                problems.append(f"lane {i}: {', '.join(fixed)} cannot change within a race (every lane starts from "
                                f"the same weights and batches); a lane changes "
                                + "; ".join(f"the {what} ({', '.join(keys)})" for what, keys in LANE_KEYS.items()))
                continue
            try:
                check_config(self.base.replace(**lane))
            except UsageError as e:
                problems.append(f"lane {i} ({lane_text(lane)}): {str(e).removeprefix('invalid config: ')}")
            except (TypeError, ValueError) as e:
                problems.append(f"lane {i}: {e}")
        if problems:
            raise UsageError("invalid race: " + "; ".join(dict.fromkeys(problems)))
        return self

    def race_args(self, out: str) -> list[str]:
        """`zenlearn race` arguments that rebuild this race into `out` (what `zenlearn serve` launches)."""
        args = ["race", *changed_flags(self.base, skip=("out", "overwrite"))]
        for lane in self.lanes:
            args += ["--lane", lane_text(lane)]
        if self.max_steps is not None:
            args += ["--max-steps", str(self.max_steps)]
        return [*args, "--out", out, "--quiet"]

    def compare_command(self, out: str) -> str:
        """The `zenlearn compare` command that trains the same lanes one after another (without a step limit:
        a lane the race stops at `max_steps` runs all its epochs there).

        Example:
            >>> spec = RaceSpec(TrainConfig(data="mnist1d", model="mlp", epochs=2), [{"optimizer": "sgd", "lr": 0.1},
            ...                 {"optimizer": "adam"}])
            >>> print(spec.compare_command("runs/race"))
            zenlearn compare --data mnist1d --model mlp --epochs 2 --variant 'optimizer=sgd lr=0.1' --variant optimizer=adam --out runs/race
        """
        args = ["zenlearn", "compare", *changed_flags(self.base, skip=("out", "overwrite"))]
        for lane in self.lanes:
            args += ["--variant", lane_text(lane)]
        return shlex.join([*args, "--out", out])
