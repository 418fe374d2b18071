"""The command lines behind a reproduction: the `zenlearn reproduce` invocation and, per experiment, the
`zenlearn compare` / `distill` commands that rerun one section by hand (or on your own data)."""

from __future__ import annotations

import re
import shlex
from typing import Any

from zenlearn.config import TrainConfig
from zenlearn.config.fields import show
from zenlearn.workflows.suite import SUITE, Budget, Comparison, Experiment, seeds_of, student_options


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-").lower() or "compare"


SKIP_FLAGS = ("out", "overwrite", "report", "data_dir", "device", "seed")


def cli_flags(cfg: TrainConfig) -> str:
    """The `train`/`compare` flags that set `cfg` (fields that differ from the defaults; run-folder options left out)."""
    default = TrainConfig().to_dict()
    flags = []
    for k, v in cfg.to_dict().items():
        if k in SKIP_FLAGS or v == default[k]:
            continue
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            flags.append(flag if v else "--no-" + flag[2:])
        else:
            flags.append(f"{flag} {shlex.quote(_cli_value(v))}")
    return " ".join(flags)


def _cli_value(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else show(v)


def commands_for(exp: Experiment, steps: list[tuple[Comparison, TrainConfig]], seeds: int,
                 budget: Budget | None = None, fixed_seeds: bool = False) -> list[str]:
    """Equivalent `zenlearn compare` / `train` / `distill` commands: rerun one section by hand, or on your data."""
    out = []
    n_seeds = seeds
    for comp, cfg in steps:
        seeds = seeds_of(budget, comp, n_seeds, fixed_seeds) if budget is not None else n_seeds
        if exp.distill:
            extra = student_options(exp, budget) if budget is not None else dict(exp.distill["student"])
            student = cfg.replace(**{k: list(v) if isinstance(v, tuple) else v for k, v in extra.items()})
            opts = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in exp.distill["options"].items())
            out.append(f"zenlearn compare {cli_flags(cfg)} --seeds {seeds} --out teacher")
            out.append(f"zenlearn distill --teacher teacher/runs/base/seed-S --student {student.model} "
                       f"{cli_flags(student.replace(model='seed-cnn'))} {opts} --seed S --out distill/seed-S")
        elif comp.lr_grid:
            grid = ",".join(f"{x:g}" for x in comp.lr_grid)
            out.append(f"zenlearn compare {cli_flags(cfg)} --vary lr={grid} --out {slug(comp.name)}/lr-grid  "
                       f"# then, at the best val_accuracy: --lr LR --seed 1 --seeds {seeds - 1}")
        else:
            vary = " ".join("--vary " + shlex.quote(f"{k}=" + (";" if any("," in _cli_value(v) for v in vs) else ",")
                                                    .join(_cli_value(v) for v in vs)) for k, vs in comp.vary.items())
            out.append(f"zenlearn compare {cli_flags(cfg)} {vary} --seeds {seeds} --out {slug(comp.name or 'compare')}"
                       .replace("  ", " "))
    return out


def command_line(names: list[str], seeds: int | None, budget: str, *, threads: int | None = None,
                 workers: int = 1) -> str:
    """The `zenlearn reproduce` invocation that made a results.md (settings that change its numbers or time).

    Example:
        >>> command_line(["models"], None, "full", threads=1, workers=2)
        'zenlearn reproduce --only models --workers 2 --threads 1 --out DIR'
    """
    parts = ["zenlearn reproduce"]
    if names != SUITE.names():
        parts.append("--only " + " ".join(names))
    if seeds:
        parts.append(f"--seeds {seeds}")
    if budget == "quick":
        parts.append("--quick")
    elif budget != "full":
        parts.append(f"--budget {budget}")
    if workers != 1:
        parts.append(f"--workers {workers}")
    if threads is not None:
        parts.append(f"--threads {threads}")
    return " ".join(parts + ["--out DIR"])
