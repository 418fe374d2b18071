"""`zenlearn quickstart`: logistic regression, MLP, CNN and GRU on MNIST-1D, offline, next to the paper.

MNIST-1D is generated in memory (no download, no data folder), so this runs on a fresh clone. Each model
trains with its recipe below into its own run folder, and the table compares the test accuracy with the
one published by Greydanus ("Scaling down deep learning", 2020). The recipes were chosen on the
validation split (10 % of the training set), never on the test split.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from zenlearn.config import TrainConfig
from zenlearn.errors import UsageError
from zenlearn.io.atomic import write_text
from zenlearn.io.rundir import QUICKSTART, RESULTS, RESULTS_MD, RunDir, check_out, write_csv, write_json
from zenlearn.report.build import write_report
from zenlearn.training.build import check_config
from zenlearn.workflows.suite import MNIST1D_PUBLISHED as PUBLISHED
from zenlearn.workflows.train import train_run

COMMON: dict[str, Any] = {"data": "mnist1d", "val_split": 0.1, "optimizer": "adam"}
RECIPES: dict[str, dict[str, Any]] = {
    "logreg": {"model": "logreg", "epochs": 20, "batch_size": 100, "lr": 1e-2},
    "mlp": {"model": "mlp", "hidden": (100, 100), "batch_norm": True, "epochs": 20, "batch_size": 100, "lr": 1e-2,
            "schedule": "cosine"},
    "cnn": {"model": "cnn", "channels": (32, 32, 32), "kernel_size": 3, "batch_norm": True, "hidden": (),
            "epochs": 15, "batch_size": 128, "lr": 1e-2, "schedule": "cosine"},
    "gru": {"model": "gru", "hidden_size": 24, "bidirectional": True, "head": "max", "epochs": 20,
            "batch_size": 128, "lr": 1e-2, "schedule": "cosine"},
}
"""The quickstart's training recipe per model (`TrainConfig` options on top of `COMMON`)."""
SOURCE = 'the accuracies published by Greydanus, "Scaling down deep learning" (2020)'
"""Where the published column comes from."""


def quickstart_config(name: str, *, seed: int = 0, out: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """The `TrainConfig` that `zenlearn quickstart` trains for model `name` ("logreg", "mlp", "cnn", "gru").

    Args:
        name: One of `RECIPES`.
        seed: Run seed. Defaults to 0.
        out: Run folder. Defaults to the run's default folder.
        **overrides: Further options (e.g. `device="cpu"`). Defaults to none.

    Example:
        >>> quickstart_config("gru").hidden_size
        24
    """
    if name not in RECIPES:
        raise UsageError(f"quickstart: unknown model {name!r}; choose from {', '.join(RECIPES)}")
    return TrainConfig(**{**COMMON, **RECIPES[name], "seed": seed, "out": str(out) if out else None, **overrides})


def run_quickstart(out: str | Path = "runs/quickstart", *, models: list[str] | None = None, seeds: int = 1,
                   overwrite: bool = False, verbose: bool = False, **overrides: Any) -> list[dict[str, Any]]:
    """Train each quickstart model (`seeds` times) into `out/<model>[-s<seed>]`, each with its report.html; one
    result row per model. `out` gets the table as `results.md` and `results.csv`, the rows as `quickstart.json`
    and a `report.html` (`zenlearn report OUT` rebuilds it).

    Args:
        out: Parent folder of the run folders. Defaults to "runs/quickstart".
        models: Which of logreg, mlp, cnn, gru. Defaults to all four.
        seeds: Seeds per model (0, 1, …); rows hold the mean and std. Defaults to 1.
        overwrite: Replace existing run folders. Defaults to False.
        verbose: Show each run's progress. Defaults to False.
        **overrides: Options applied to every run (e.g. `device="cpu"`). Defaults to none.

    Example:
        >>> rows = run_quickstart(tmp / "qs", models=["logreg"], epochs=1)
        >>> rows[0]["model"], rows[0]["published"]
        ('logreg', 0.32)
    """
    names = models or list(RECIPES)
    folders_of = {name: [Path(out) / (name if seeds == 1 else f"{name}-s{seed}") for seed in range(seeds)]
                  for name in names}
    check_out(out, may_hold_files=True, hint="")
    for folder in (f for fs in folders_of.values() for f in fs):  # every folder checked before any training
        RunDir(folder).check(overwrite=overwrite)
    rows = []
    for name in names:
        accs, secs, folders = [], [], []
        for seed, folder in enumerate(folders_of[name]):
            cfg = quickstart_config(name, seed=seed, out=folder, overwrite=overwrite, **overrides)
            summary = train_run(check_config(cfg), verbose=verbose)
            accs.append(summary["test"]["accuracy"])
            secs.append(summary["train_seconds"])
            folders.append(summary["out"])
        rows.append({"model": name, "published": PUBLISHED[name], "accuracy": statistics.fmean(accs),
                     "std": statistics.stdev(accs) if len(accs) > 1 else 0.0, "accuracies": accs,
                     "train_seconds": statistics.fmean(secs), "runs": folders})
    write_results(out, rows)
    return rows


def write_results(out: str | Path, rows: list[dict[str, Any]]) -> None:
    """`results.md`, `results.csv`, `quickstart.json` and `report.html` of a quickstart folder."""
    out = Path(out)
    write_json(out / QUICKSTART, {"data": COMMON["data"], "source": SOURCE, "rows": rows})
    write_csv(out / RESULTS, [{"model": r["model"], "published_accuracy": r["published"], "accuracy": r["accuracy"],
                               "accuracy_std": r["std"], "seeds": len(r["accuracies"]),
                               "train_seconds": r["train_seconds"], "run_dir": r["runs"][0]} for r in rows])
    write_text(out / RESULTS_MD, f"# MNIST-1D quick start\n\nTest accuracy next to {SOURCE}; one run folder per "
               f"model (and seed), each with its report.html.\n\n```\n{format_table(rows)}\n```\n")
    write_report(out)


def format_table(rows: list[dict[str, Any]]) -> str:
    """The quickstart table: model, published accuracy, zenlearn's test accuracy, training time, run folder."""
    lines = [f"{'model':<8} {'published':>9} {'zenlearn':>15} {'train s':>8}  run folder"]
    for r in rows:
        acc = f"{100 * r['accuracy']:.1f} %" + (f" ± {100 * r['std']:.1f}" if len(r["accuracies"]) > 1 else "")
        lines.append(f"{r['model']:<8} {100 * r['published']:>7.0f} % {acc:>15} {r['train_seconds']:>8.1f}  "
                     f"{r['runs'][0] if len(r['runs']) == 1 else Path(r['runs'][0]).parent}")
    return "\n".join(lines)
