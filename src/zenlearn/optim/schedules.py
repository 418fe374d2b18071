"""Learning-rate schedules by name (`SCHEDULES`): pure functions of the step, plus one stateful driver.

Each schedule is a pure function `f(t, steps_per_epoch, total_steps, **params) -> multiplier` of the
peak learning rate at optimizer step `t` (0-based). Epoch schedules (step, multistep, exponential)
change the LR at epoch boundaries (`t // steps_per_epoch`); batch schedules (cosine, one-cycle, the
warmup) change it every step. `LRSchedule` applies them to an optimizer, is stepped once per batch by
the `Trainer`, and handles reduce-on-plateau at the end of each epoch. A linear warmup can sit in
front of any schedule; the schedule then runs on the steps after the warmup.

The functions here take keyword arguments; `training.build` turns a `TrainConfig` into them.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Callable

import torch

from zenlearn.registry import Registry

ScheduleFn = Callable[..., float]
SCHEDULES: Registry[ScheduleFn] = Registry("schedule")

SCHEDULE_FIELDS = ("lr_step_size", "lr_milestones", "lr_gamma", "lr_patience", "lr_min", "lr_monitor")
"""`TrainConfig` fields that are schedule options (None / empty means "the schedule's default")."""


@dataclass(frozen=True)
class ScheduleInfo:
    """When a schedule changes the LR ("step": every batch, "epoch": at epoch ends) and the options it takes."""

    interval: str
    takes: tuple[str, ...] = ()


@SCHEDULES.register("constant", "the same LR for the whole run", info=ScheduleInfo("step", ()))
def constant(t: int, spe: int, total: int) -> float:
    return 1.0


@SCHEDULES.register("step", "LR × lr_gamma every lr_step_size epochs (per epoch)", info=ScheduleInfo("epoch",
                    ("lr_step_size", "lr_gamma")))
def step(t: int, spe: int, total: int, *, step_size: int, gamma: float) -> float:
    return gamma ** ((t // spe) // step_size)


@SCHEDULES.register("multistep", "LR × lr_gamma at each epoch of lr_milestones (per epoch)", info=ScheduleInfo("epoch",
                    ("lr_milestones", "lr_gamma")))
def multistep(t: int, spe: int, total: int, *, milestones: tuple[int, ...], gamma: float) -> float:
    return gamma ** bisect_right(sorted(milestones), t // spe)


@SCHEDULES.register("exponential", "LR × lr_gamma^epoch (per epoch)", info=ScheduleInfo("epoch", ("lr_gamma",)))
def exponential(t: int, spe: int, total: int, *, gamma: float) -> float:
    return gamma ** (t // spe)


@SCHEDULES.register("cosine", "cosine decay from LR to lr_min over the run (per batch)", info=ScheduleInfo("step",
                    ("lr_min",)))
def cosine(t: int, spe: int, total: int, *, min_ratio: float = 0.0) -> float:
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t / total))


@SCHEDULES.register("one-cycle", "Smith's 1cycle: cosine up from LR/25 to LR over 30% of steps, then down "
                    "to LR/25e4 (per batch)", info=ScheduleInfo("step"), aliases=("onecycle", "one_cycle"))
def one_cycle(t: int, spe: int, total: int, *, pct_start: float = 0.3, div_factor: float = 25.0,
              final_div_factor: float = 1e4) -> float:
    # torch.optim.lr_scheduler.OneCycleLR (anneal "cos", two phases), as a multiplier of the peak LR.
    start, low = 1.0 / div_factor, 1.0 / (div_factor * final_div_factor)
    phases = ((pct_start * total - 1, start, 1.0), (total - 1, 1.0, low))
    begin = 0.0
    for i, (end, a, b) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            pct = (t - begin) / (end - begin)
            return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
        begin = end
    raise AssertionError("unreachable")


@SCHEDULES.register("plateau", "LR × lr_gamma when the val loss (or --lr-monitor) has not improved for lr_patience "
                    "epochs (per epoch)", info=ScheduleInfo("epoch", ("lr_gamma", "lr_patience", "lr_min", "lr_monitor")),
                    aliases=("reduce-on-plateau", "reduce_on_plateau"))
def plateau(t: int, spe: int, total: int, *, gamma: float = 0.1) -> float:
    return 1.0  # the reductions by gamma are state (they depend on the losses): see LRSchedule.epoch_end


def lr_factor(name: str, t: int, *, steps_per_epoch: int, total_steps: int, warmup_steps: int = 0,
              **params: Any) -> float:
    """Multiplier of the peak LR at step `t` for schedule `name` with a linear warmup in front.

    During the warmup the LR rises linearly, (t + 1) / warmup_steps of the schedule's first value;
    after it, the schedule runs on `t - warmup_steps` over the remaining `total_steps - warmup_steps`.

    Args:
        name: Schedule name (see `SCHEDULES.names()`).
        t: Optimizer step, 0-based.
        steps_per_epoch: Batches per epoch.
        total_steps: Steps in the whole run.
        warmup_steps: Steps of linear warmup. Defaults to 0.
        **params: The schedule's parameters (`gamma`, `step_size`, `milestones`, `min_ratio`).

    Example:
        >>> lr_factor("step", 25, steps_per_epoch=10, total_steps=50, step_size=2, gamma=0.1)
        0.1
    """
    fn = SCHEDULES.get(name)
    rest = max(1, total_steps - warmup_steps)
    if t < warmup_steps:
        return (t + 1) / warmup_steps * fn(0, steps_per_epoch, rest, **params)
    return fn(t - warmup_steps, steps_per_epoch, rest, **params)


class LRSchedule:
    """Drives an optimizer's learning rates along a schedule: `step()` after every batch, `epoch_end(logs)`
    after every epoch (reduce-on-plateau). Each param group keeps its own peak LR (`initial_lr`).

    Args:
        optimizer: The optimizer whose param groups' `lr` is set.
        name: Schedule name. Defaults to "constant".
        steps_per_epoch: Batches per epoch.
        epochs: Epochs of the run.
        warmup_epochs: Linear warmup length in epochs (fractions allowed). Defaults to 0.
        lr_min: Floor: the end of the cosine, the lowest plateau LR. Defaults to 0.
        patience: Plateau: epochs without improvement before a reduction. Defaults to 2.
        monitor: Plateau: the epoch-log column watched. Defaults to None: "val_loss" if logged, else "loss".
        mode: Plateau: "min" (lower is better) or "max". Defaults to "min".
        **params: The schedule function's parameters (`gamma`, `step_size`, `milestones`).

    Example:
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> sched = LRSchedule(opt, "cosine", steps_per_epoch=10, epochs=2)
        >>> for _ in range(10): sched.step()
        >>> round(opt.param_groups[0]["lr"], 6)
        0.05
    """

    def __init__(self, optimizer: torch.optim.Optimizer, name: str = "constant", *, steps_per_epoch: int,
                 epochs: int, warmup_epochs: float = 0.0, lr_min: float = 0.0, patience: int = 2,
                 monitor: str | None = None, mode: str = "min", **params: Any) -> None:
        self.optimizer, self.name = optimizer, SCHEDULES.entry(name).name
        self.steps_per_epoch, self.total_steps = max(1, steps_per_epoch), max(1, epochs * steps_per_epoch)
        self.warmup_steps = round(warmup_epochs * self.steps_per_epoch)
        self.lr_min, self.patience, self.params = lr_min, patience, params
        self.monitor, self.sign = monitor, -1.0 if mode == "max" else 1.0  # "max": watch -value, lower is better
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.t, self.scales = 0, [1.0] * len(self.base_lrs)
        self.best, self.bad_epochs = math.inf, 0
        self._apply()

    def lr_at(self, t: int, group: int = 0) -> float:
        """The LR of param group `group` at step `t` (plateau reductions so far included)."""
        base = self.base_lrs[group]
        params = dict(self.params)
        if self.name == "cosine":
            params["min_ratio"] = self.lr_min / base if base else 0.0
        f = lr_factor(self.name, t, steps_per_epoch=self.steps_per_epoch, total_steps=self.total_steps,
                      warmup_steps=self.warmup_steps, **params)
        return base * f * self.scales[group]

    def _apply(self) -> None:
        for i, g in enumerate(self.optimizer.param_groups):
            g["lr"] = self.lr_at(self.t, i)

    def set_peak(self, lr: float) -> None:
        """Make `lr` every param group's peak LR from now on (a lab race's LR change); the schedule goes on."""
        self.base_lrs = [float(lr)] * len(self.base_lrs)
        self._apply()

    def step(self) -> None:
        """Advance one optimizer step and set the next step's LR."""
        self.t += 1
        self._apply()

    def epoch_end(self, logs: dict[str, Any]) -> None:
        """Plateau: reduce the LR by `gamma` when `monitor` (default `val_loss`, else `loss`) stalled for `patience`
        epochs."""
        if self.name != "plateau" or self.t < self.warmup_steps:
            return
        value = logs.get(self.monitor) if self.monitor else logs.get("val_loss", logs.get("loss"))
        if value is None or not math.isfinite(value):
            return
        value *= self.sign
        if self.best == math.inf or value < self.best - 1e-4 * abs(self.best):  # torch's relative threshold
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            gamma = self.params.get("gamma", 0.1)
            self.scales = [max(s * gamma, self.lr_min / b if b else 0.0) for s, b in zip(self.scales, self.base_lrs)]
            self.bad_epochs = 0
            self._apply()

    def get_last_lr(self) -> list[float]:
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "t": self.t, "scales": list(self.scales), "best": self.best,
                "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t, self.scales = int(state["t"]), [float(s) for s in state["scales"]]
        self.best, self.bad_epochs = float(state["best"]), int(state["bad_epochs"])
        self._apply()


def schedule_params(name: str, *, epochs: int, lr_gamma: float | None = None, lr_step_size: int | None = None,
                    lr_milestones: tuple[int, ...] = ()) -> dict[str, Any]:
    """Schedule `name`'s function parameters, defaults filled in (`gamma`, `step_size`, `milestones`).

    Example:
        >>> schedule_params("step", epochs=9)
        {'gamma': 0.1, 'step_size': 3}
    """
    name = SCHEDULES.entry(name).name
    out: dict[str, Any] = {}
    if name in ("step", "multistep", "exponential", "plateau"):
        out["gamma"] = lr_gamma if lr_gamma is not None else (0.9 if name == "exponential" else 0.1)
    if name == "step":
        out["step_size"] = lr_step_size or max(1, round(epochs / 3))
    if name == "multistep":
        out["milestones"] = tuple(lr_milestones) or default_milestones(epochs)
    return out


def default_milestones(epochs: int) -> tuple[int, ...]:
    """Half and three quarters of the run (the ResNet recipe), at least epoch 1."""
    return tuple(sorted({max(1, epochs // 2), max(1, 3 * epochs // 4)}))


def schedule_problems(name: str, *, epochs: int, warmup_epochs: float = 0.0, **options: Any) -> list[str]:
    """Problems with schedule `name` and its options (`SCHEDULE_FIELDS`): ones it does not take, bad ranges.

    Example:
        >>> schedule_problems("cosine", epochs=5, lr_gamma=0.5)
        ["schedule 'cosine' does not take --lr-gamma; it takes: --lr-min; drop the option or pick another --schedule"]
    """
    if name not in SCHEDULES:
        return [SCHEDULES.miss(name)]
    entry = SCHEDULES.entry(name)
    takes = entry.info.takes
    p = []
    for o in SCHEDULE_FIELDS:
        if options.get(o) not in (None, ()) and o not in takes:
            p.append(f"schedule {entry.name!r} does not take --{o.replace('_', '-')}; it takes: "
                     + (", ".join("--" + t.replace("_", "-") for t in takes) or "no options")
                     + "; drop the option or pick another --schedule")
    gamma, step_size, ms = options.get("lr_gamma"), options.get("lr_step_size"), options.get("lr_milestones") or ()
    patience, lr_min = options.get("lr_patience"), options.get("lr_min")
    if not 0 <= warmup_epochs < epochs:
        p.append(f"warmup_epochs must be in [0, epochs={epochs}), got {warmup_epochs}")
    if gamma is not None and not 0 < gamma <= 1:
        p.append(f"lr_gamma must be in (0, 1], got {gamma}")
    if step_size is not None and step_size < 1:
        p.append(f"lr_step_size must be >= 1 epoch, got {step_size}")
    if ms and (any(m < 1 for m in ms) or list(ms) != sorted(set(ms))):
        p.append(f"lr_milestones must be increasing epochs >= 1 like 10,20, got {','.join(map(str, ms))}")
    if patience is not None and patience < 0:
        p.append(f"lr_patience must be >= 0, got {patience}")
    if lr_min is not None and lr_min < 0:
        p.append(f"lr_min must be >= 0, got {lr_min}")
    return p


def create_schedule(name: str, optimizer: torch.optim.Optimizer, *, steps_per_epoch: int, epochs: int,
                    warmup_epochs: float = 0.0, lr_gamma: float | None = None, lr_step_size: int | None = None,
                    lr_milestones: tuple[int, ...] = (), lr_patience: int | None = None,
                    lr_min: float | None = None, lr_monitor: str | None = None,
                    lr_mode: str = "min") -> LRSchedule | None:
    """The `LRSchedule` for schedule `name` over `optimizer`, or None for a constant LR without warmup.

    Example:
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> create_schedule("step", opt, steps_per_epoch=10, epochs=6).params
        {'gamma': 0.1, 'step_size': 2}
    """
    name = SCHEDULES.entry(name).name
    if name == "constant" and not warmup_epochs:
        return None
    params = schedule_params(name, epochs=epochs, lr_gamma=lr_gamma, lr_step_size=lr_step_size,
                             lr_milestones=lr_milestones)
    return LRSchedule(optimizer, name, steps_per_epoch=steps_per_epoch, epochs=epochs, warmup_epochs=warmup_epochs,
                      lr_min=lr_min or 0.0, patience=lr_patience if lr_patience is not None else 2,
                      monitor=lr_monitor, mode=lr_mode, **params)
