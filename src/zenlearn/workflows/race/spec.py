"""`RaceSpec`: what a lab race trains — one base config and 2 to `MAX_LANES` lanes, each changing one thing —
its checks (every problem in one `UsageError`), and the commands that rebuild it (`zenlearn race`, and the
equivalent `zenlearn compare`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from zenlearn.config import DistillConfig, TrainConfig, coerce, field_types
from zenlearn.config.fields import changed_flags, show, split_option
from zenlearn.distill.methods import check_distill_config
from zenlearn.errors import UsageError
from zenlearn.io.rundir import RunDir
from zenlearn.training.build import check_config, training_augment
from zenlearn.workflows.variants import check_variant

MAX_LANES = 6
"""The most lanes a race may have (the issue's 2–6); `zenlearn serve --lab-lanes` may allow fewer."""
LANE_KEYS = {
    "optimizer": ("optimizer", "lr", "momentum", "weight_decay", "betas", "eps", "rho"),
    "activation": ("activation", "negative_slope", "elu_alpha"),
    "augmentation": ("augment",),
    "distillation": ("temperature", "alpha"),
}
"""What a lane may change: the optimizer (with its learning rate and options), the activation, the augmentation,
or the distillation from the race's teacher (kd: its temperature and alpha; a lane without them learns from the
labels only). Everything else is the race's, so every lane starts from the same weights and batch order."""
DISTILL_KEYS = LANE_KEYS["distillation"]


def typed_lane(values: dict[str, Any], flag: str = "lane") -> dict[str, Any]:
    """A lane's settings with typed values: config options as `check_variant` types them, the distillation's
    as `DistillConfig` does.

    Example:
        >>> typed_lane({"optimizer": "sgd", "lr": "0.1"}), typed_lane({"temperature": "4"})
        ({'optimizer': 'sgd', 'lr': 0.1}, {'temperature': 4.0})
    """
    if not isinstance(values, dict):
        raise UsageError(f"{flag} expects KEY=VALUE settings, got {values!r}")
    types = field_types(DistillConfig)
    distill = {k: coerce(k, types[k], v) for k, v in values.items() if k in DISTILL_KEYS}
    return {**check_variant({k: v for k, v in values.items() if k not in DISTILL_KEYS}, flag), **distill}


def parse_lane(text: str) -> dict[str, Any]:
    """A `--lane` text, `KEY=VALUE` pairs separated by spaces (`base`: no change), as typed settings.

    Example:
        >>> parse_lane("optimizer=sgd lr=0.1"), parse_lane("temperature=8 alpha=0.5"), parse_lane("base")
        ({'optimizer': 'sgd', 'lr': 0.1}, {'temperature': 8.0, 'alpha': 0.5}, {})
    """
    if text.strip() == "base":
        return {}
    pairs = [split_option(p, "--lane", "KEY=VALUE pairs separated by spaces (like 'optimizer=sgd lr=0.1')")
             for p in text.split()]
    if not pairs:
        raise UsageError(f"--lane expects KEY=VALUE pairs separated by spaces (or base), got {text!r}")
    if len({k for k, _ in pairs}) != len(pairs):
        raise UsageError(f"--lane {text!r}: a key is given twice")
    return typed_lane({k: v.strip() for k, v in pairs}, "--lane")


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
        teacher: The run folder of a trained teacher, for lanes that distil from it (`temperature`, `alpha`).
            Defaults to None.

    Example:
        >>> spec = RaceSpec(TrainConfig(data="mnist1d", model="mlp"), [{"optimizer": "sgd"}, {"optimizer": "adam"}])
        >>> [c.optimizer for c in spec.check().lane_configs()]
        ['sgd', 'adam']
    """

    base: TrainConfig
    lanes: list[dict[str, Any]] = field(default_factory=list)
    max_steps: int | None = None
    max_lanes: int = MAX_LANES
    teacher: str | None = None

    @classmethod
    def from_texts(cls, base: TrainConfig, lanes: list[str], **kwargs: Any) -> RaceSpec:
        """A spec from `--lane` texts ("optimizer=sgd lr=0.1")."""
        return cls(base, [parse_lane(t) for t in lanes], **kwargs)

    def lane_configs(self) -> list[TrainConfig]:
        """Each lane's config (its folder not set yet)."""
        return [self.base.replace(**train_values(lane)) for lane in self.lanes]

    def distill_config(self, lane: dict[str, Any]) -> DistillConfig | None:
        """The distillation of a lane that sets `temperature` or `alpha` (kd from `teacher`), else None."""
        if not any(k in lane and lane[k] is not None for k in DISTILL_KEYS):
            return None
        d = DistillConfig(teacher=self.teacher or "")
        return d.replace(**{k: lane[k] for k in DISTILL_KEYS if lane.get(k) is not None})

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
                check_config(self.base.replace(**train_values(lane)))
                if self.distill_config(lane) is not None:
                    check_distill_config(self.distill_config(lane))  # type: ignore[arg-type]
            except UsageError as e:
                why = str(e).removeprefix("invalid config: ").removeprefix("invalid distillation options: ")
                problems.append(self._lane_problem(i, why))
            except (TypeError, ValueError) as e:
                problems.append(f"lane {i}: {e}")
        if self.teacher:
            try:
                RunDir(self.teacher).check_finished()
            except UsageError as e:
                problems.append(f"--teacher: {e}")
        if problems:
            raise UsageError("invalid race: " + "; ".join(dict.fromkeys(problems)))
        return self

    def check_data(self, data: Any) -> None:
        """What only the data (its `DataSpec`) can tell, for every lane, before the race writes anything: an
        augmentation lane on data that is not images. Raises one `UsageError` listing each problem."""
        problems = []
        for i, cfg in enumerate(self.lane_configs(), 1):
            try:
                training_augment(cfg, data)
            except UsageError as e:
                problems.append(self._lane_problem(i, str(e)))
        if problems:
            raise UsageError("invalid race: " + "; ".join(problems))

    def _lane_problem(self, i: int, why: str) -> str:
        """A problem of lane `i` (from 1), named by its settings."""
        return f"lane {i} ({lane_text(self.lanes[i - 1])}): {why}"

    def race_args(self, out: str) -> list[str]:
        """`zenlearn race` arguments that rebuild this race into `out` (what `zenlearn serve` launches)."""
        args = ["race", *changed_flags(self.base, skip=("out", "overwrite"))]
        for lane in self.lanes:
            args += ["--lane", lane_text(lane)]
        if self.max_steps is not None:
            args += ["--max-steps", str(self.max_steps)]
        if self.teacher:
            args += ["--teacher", self.teacher]
        return [*args, "--out", out, "--quiet"]

    def compare_command(self, out: str) -> str | None:
        """The `zenlearn compare` command that trains the same lanes one after another (without a step limit:
        a lane the race stops at `max_steps` runs all its epochs there); None for a race with distillation lanes
        (`zenlearn distill --sweep` trains such students, but picks one on the validation split).

        Example:
            >>> spec = RaceSpec(TrainConfig(data="mnist1d", model="mlp", epochs=2), [{"optimizer": "sgd", "lr": 0.1},
            ...                 {"optimizer": "adam"}])
            >>> for part in spec.compare_command("runs/race").split(" --"): print(part)
            zenlearn compare
            data mnist1d
            model mlp
            epochs 2
            variant 'optimizer=sgd lr=0.1'
            variant optimizer=adam
            out runs/race
        """
        if any(self.distill_config(lane) is not None for lane in self.lanes):
            return None
        args = ["zenlearn", "compare", *changed_flags(self.base, skip=("out", "overwrite"))]
        for lane in self.lanes:
            args += ["--variant", lane_text(lane)]
        return shlex.join([*args, "--out", out])


def train_values(lane: dict[str, Any]) -> dict[str, Any]:
    """A lane's config options (its distillation settings left out)."""
    return {k: v for k, v in lane.items() if k not in DISTILL_KEYS}
