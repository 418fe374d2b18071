"""The comparison runner: every combination of varied config values × seeds, each a normal run folder.

Output folder (`out`):
  runs/<variant>/seed-<s>/   one `train_run` folder per run (config.yaml, metrics.csv, summary.json, …)
  results.csv                one row per run: variant, varied values, seed, status, test/val metrics,
                             train_seconds, epochs, run_dir, error (rewritten after every run)
  summary.csv                one row per variant: runs, ok, mean and std of each metric, best, error
  val_curves.png             validation curves per variant, mean with a ± std band over seeds
  final_metric.png           final metric per variant: mean ± std and every seed
  compare.json               manifest: base config, varied values, seeds, variants and their run folders,
                             the ranking metric, the best variant and the file names
"""

from __future__ import annotations

import functools
import json
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zenlearn.config import TrainConfig, load_yaml
from zenlearn.config.fields import show
from zenlearn.errors import UsageError, one_line
from zenlearn.io.atomic import write_text
from zenlearn.io.live import lives, started
from zenlearn.io.rundir import COMPARE, ERROR, RESULTS, STATS, RunDir, check_out, write_csv
from zenlearn.nn.tasks import first_metric, higher_is_better, metric_names
from zenlearn.report.build import write_report
from zenlearn.report.plots.compare import plot_comparison
from zenlearn.training.build import check_config, resolve_lr
from zenlearn.workflows.parallel.cells import plan_key, run_cells
from zenlearn.workflows.parallel.outage import STORAGE_TIMEOUT
from zenlearn.workflows.parallel.workers import threads_per_worker
from zenlearn.workflows.train import train_run
from zenlearn.workflows.variants import Variant, check_vary, explicit_variants, make_variants, parse_vary

__all__ = ["CompareResult", "Variant", "parse_vary", "run_compare", "run_row", "write_comparison"]


@dataclass
class CompareResult:
    """What `run_compare` returns: the per-run rows, the per-variant summary and where they were written."""

    out: Path
    variants: list[Variant]
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    metric: str
    best: str | None
    table: str = ""
    files: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- running

@lives("compare")
def run_compare(base: TrainConfig, vary: dict[str, Sequence[Any]], seeds: int | Sequence[int] = 1,
                out: str | Path | None = None, resume: bool = False, *, metric: str | None = None,
                verbose: bool = True, workers: int = 1, storage: str | None = None,
                storage_timeout: float = STORAGE_TIMEOUT, variants: Sequence[dict[str, Any]] = ()) -> CompareResult:
    """Train every combination of `vary` × seed as its own run folder, then write results, summary and plots.

    Runs that fail are recorded with their error and the others still run. The configs of all runs are
    checked before the first one starts, so a bad combination is reported at once.

    Args:
        base: The config every run starts from (its `out`, `seed` and `overwrite` are set per run).
        vary: {config field: [values]}; values may be strings (as on the command line) or typed.
        seeds: How many seeds (`base.seed`, `base.seed + 1`, …) or the seeds themselves. Defaults to 1.
        out: Comparison folder. Defaults to `base.out`, else runs/compare-<time>.
        resume: Skip runs whose folder is complete (same config, summary.json written). Defaults to False.
        metric: Column that ranks the variants ("val_accuracy", "test_loss", …). Defaults to the validation
            accuracy (MAE for regression), else the test one.
        verbose: Print one line per run and the final table. Defaults to True.
        workers: Processes sharing the runs (Optuna, `workflows.parallel.cells`); each run gets `base.threads`,
            else cores // workers threads. Defaults to 1 (in this process, one run after another).
        storage: Optuna storage URL shared with other machines running the same command. Defaults to
            None (sequential), or with `workers` > 1 a SQLite file in `out`.
        storage_timeout: Seconds a worker waits for a database that stopped answering, then exit 1. Defaults to 120.
        variants: Explicit variants instead of `vary`'s combinations (`--variant`, a lab race's lanes): each a
            dict of changed values. Defaults to none.

    Example:
        >>> base = TrainConfig(data="mnist1d", model="logreg", epochs=1, train_subset=200, report=False)
        >>> res = run_compare(base, {"optimizer": ["sgd", "adam"]}, seeds=2, out=tmp / "cmp", verbose=False)
        >>> [(r["variant"], r["ok"]) for r in res.summary]
        [('optimizer=sgd', 2), ('optimizer=adam', 2)]
    """
    if variants and vary:
        raise UsageError("give either --vary (every combination) or --variant (each run set listed), not both")
    vary, planned = explicit_variants(variants, base) if variants else (check_vary(dict(vary)), None)
    seed_list = list(range(base.seed, base.seed + seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list or len(set(seed_list)) != len(seed_list):
        raise UsageError(f"--seeds must be >= 1 (or distinct seeds), got {seeds!r}")
    out = Path(out or base.out or f"runs/compare-{time.strftime('%Y%m%d-%H%M%S')}")
    variants = planned or make_variants(vary)
    plan = [(v, s, run_config(base, v, s, out)) for v in variants for s in seed_list]
    check_plan(plan, out, resume, base.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    started(RunDir(out))
    write_plan(out, base, vary, seed_list, variants)
    rows: list[dict[str, Any]] = []

    def record(i: int, row: dict[str, Any] | None) -> None:  # as each cell finishes (in plan order when parallel)
        variant, seed, cfg = plan[i]
        rows.append(row or {"variant": variant.name, **{k: show(x) for k, x in variant.values.items()}, "seed": seed,
                            "status": "failed", "run_dir": str(Path(cfg.out).relative_to(out)),
                            "error": "not run (its worker died too often)"})
        _write_csv(out / RESULTS, rows)
        if verbose:
            print(f"[{i + 1:>{len(str(len(plan)))}}/{len(plan)}] {variant.name} seed {seed}: {_row_line(rows[-1])}",
                  flush=True)

    _run_cells(plan, out, resume, workers, storage, record, storage_timeout)
    return write_comparison(out, base, vary, seed_list, variants, rows, metric=metric, verbose=verbose)


def write_plan(out: Path, base: TrainConfig, vary: dict[str, list[Any]], seeds: list[int],
               variants: list[Variant]) -> None:
    """compare.json before the first run (base config, varied values, seeds, variants; not finished yet)."""
    write_text(out / COMPARE, json.dumps({**_manifest(base, vary, seeds, variants, out), "finished": None}, indent=2,
                                         default=str))


def write_comparison(out: Path, base: TrainConfig, vary: dict[str, list[Any]], seeds: list[int],
                     variants: list[Variant], rows: list[dict[str, Any]], *, metric: str | None = None,
                     verbose: bool = False) -> CompareResult:
    """Write a comparison folder's results.csv, summary.csv, plots, compare.json and report from its `rows`
    (one per run, as `run_row` makes them); the lab's race ends with it too."""
    _write_csv(out / RESULTS, rows)
    manifest = _manifest(base, vary, seeds, variants, out)
    metric = metric or default_metric(rows)
    summary = summarize(rows, variants, list(vary), metric)
    _write_csv(out / STATS, summary)
    best = next((r["variant"] for r in summary if r["best"]), None)
    table = format_table(summary, metric)
    files = {"results": RESULTS, "summary": STATS, "manifest": COMPARE}
    try:
        files.update(plot_comparison(out, rows, [v.name for v in variants], metric, best))
    except ImportError as e:  # matplotlib is a core dependency; a broken install should not lose the results
        print(f"zenlearn: warning: no plots ({e})")
    manifest.update(metric=metric, higher_is_better=higher_is_better(metric), best=best, files=files,
                    finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    for v in manifest["variants"]:
        v["runs"] = [{k: r[k] for k in ("seed", "status", "run_dir", "error")} for r in rows if r["variant"] == v["name"]]
    write_text(out / COMPARE, json.dumps(manifest, indent=2, default=str))
    if base.report:  # the comparison's own report.html (tables, bands over seeds, links to each run's report)
        write_report(out)
    if verbose:
        print(table)
        print(f"comparison folder: {out}")
    return CompareResult(out, variants, rows, summary, metric, best, table, files)


def _run_cells(plan: list[tuple[Variant, int, TrainConfig]], out: Path, resume: bool, workers: int,
               storage: str | None, on_row: Any, storage_timeout: float) -> None:
    """Every cell through `run_cells`: here one after another, or enqueued for `workers` processes / a storage."""
    parallel = workers > 1 or bool(storage)
    threads = threads_per_worker(workers, plan[0][2].threads) if parallel else plan[0][2].threads or 0
    if parallel:
        plan = [(v, s, cfg.replace(threads=threads)) for v, s, cfg in plan]
    key = plan_key([comparable(cfg) | {"out": str(Path(cfg.out).relative_to(out))} for _, _, cfg in plan])  # type: ignore[arg-type]
    run_cells(len(plan), functools.partial(_run_cell, plan, out, resume), key=key, out=out, storage=storage,
              workers=workers, threads=threads, fresh=not resume, on_row=on_row, storage_timeout=storage_timeout,
              rerun="rerun the same command " + ("to continue" if resume else "with --resume to continue"))


def _run_cell(plan: list[tuple[Variant, int, TrainConfig]], out: Path, resume: bool, i: int) -> dict[str, Any]:
    variant, seed, cfg = plan[i]
    return _run_one(variant, seed, cfg, out, resume)


def run_config(base: TrainConfig, variant: Variant, seed: int, out: Path) -> TrainConfig:
    """The config of `variant`'s run with `seed`, in its folder under the comparison folder `out`."""
    return base.replace(**variant.values, seed=seed, out=str(out / "runs" / variant.slug / f"seed-{seed}"))


def check_plan(plan: list[tuple[Variant, int, TrainConfig]], out: Path, resume: bool, overwrite: bool) -> None:
    """Check every run's config (one `UsageError` naming each bad variant) and the comparison folder."""
    problems = []
    for variant, seed, cfg in plan:
        try:
            check_config(cfg)
        except UsageError as e:
            msg = str(e).removeprefix("invalid config: ")
            if f"{variant.name}: {msg}" not in problems:
                problems.append(f"{variant.name}: {msg}")
    if problems:
        raise UsageError("invalid variant(s): " + "; ".join(problems))
    check_out(out, may_hold_files=resume or overwrite,
              hint="pass --resume to skip the finished runs, --overwrite to redo them, or choose another --out")
    if resume and not overwrite:
        for variant, seed, cfg in plan:
            done = finished_config(Path(cfg.out))  # type: ignore[arg-type]
            if done is not None and comparable(done) != comparable(resolved_config(cfg)):
                diff = [k for k, v in comparable(resolved_config(cfg)).items() if comparable(done).get(k) != v]
                raise UsageError(f"--resume: {cfg.out} holds a run with other settings ({', '.join(diff)}); "
                                 f"use the same options as before, --overwrite, or another --out")


def resolved_config(cfg: TrainConfig) -> TrainConfig:
    """`cfg` with its learning rate resolved (the optimizer's default filled in), as a finished run records it."""
    return cfg.replace(lr=resolve_lr(cfg))


def comparable(cfg: TrainConfig) -> dict[str, Any]:
    """The options that define a run's result (where it is written, and whether a report is, excluded)."""
    return {k: v for k, v in cfg.to_dict().items() if k not in ("out", "overwrite", "data_dir", "report", "tensorboard")}


def finished_config(run_dir: Path) -> TrainConfig | None:
    """The config of a complete run folder (summary.json written), else None."""
    rd = RunDir(run_dir)
    if not rd.summary.is_file() or not rd.config.is_file():
        return None
    try:
        return TrainConfig.from_dict(load_yaml(rd.config))
    except UsageError:
        return None


def _run_one(variant: Variant, seed: int, cfg: TrainConfig, out: Path, resume: bool) -> dict[str, Any]:
    run_dir = Path(cfg.out)  # type: ignore[arg-type]
    summary, status, error = None, "ok", ""
    if resume and not cfg.overwrite and finished_config(run_dir) is not None:
        try:
            done = RunDir(run_dir).read_summary()
        except UsageError:  # a corrupt summary.json: the cell is trained again
            done = None
        if done is not None:
            summary, status = done.to_dict(), "resumed"
    if summary is None:
        try:  # the plan's folders were checked (check_plan): an unfinished or retried cell redoes its folder
            summary = train_run(cfg.replace(overwrite=True), verbose=False)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - a failed run is a result; the others go on
            status, error = "failed", one_line(e)
            if run_dir.is_dir():
                write_text(run_dir / ERROR, error + "\n")
    return run_row(variant, seed, run_dir, out, summary, status=status, error=error)


def run_row(variant: Variant, seed: int, run_dir: Path, out: Path, summary: dict[str, Any] | None, *,
            status: str = "ok", error: str = "") -> dict[str, Any]:
    """A results.csv row: the variant's values, the seed, the status, the test and val metrics of `summary`
    (None for a failed run), the training time and epochs, the run folder relative to `out`, the error."""
    row: dict[str, Any] = {"variant": variant.name, **{k: show(v) for k, v in variant.values.items()}, "seed": seed,
                           "status": status}
    if summary is not None:
        for split in ("test", "val"):
            for k, v in (summary.get(split) or {}).items():
                row[f"{split}_{k}"] = v
        row.update(train_seconds=summary.get("train_seconds"), epochs_run=summary.get("epochs"))
    row["run_dir"] = str(run_dir.relative_to(out))
    row["error"] = error
    return row


def _row_line(row: dict[str, Any]) -> str:
    if row["status"] == "failed":
        return f"FAILED: {row['error']}"
    parts = [f"{k.replace('_', ' ')} {row[k]:.4f}" for m in metric_names(primary=True) for k in (f"test_{m}", f"val_{m}")
             if isinstance(row.get(k), float)]
    return "  ".join(parts) + f"  ({row['train_seconds']:.1f}s training{', resumed' if row['status'] == 'resumed' else ''})"


def _manifest(base: TrainConfig, vary: dict[str, list[Any]], seeds: list[int], variants: list[Variant],
              out: Path) -> dict[str, Any]:
    return {"format": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "base_config": base.to_dict(),
            "vary": {k: [list(v) if isinstance(v, tuple) else v for v in vs] for k, vs in vary.items()},
            "seeds": seeds,
            "variants": [{"name": v.name, "values": {k: list(x) if isinstance(x, tuple) else x for k, x in v.values.items()},
                          "dir": f"runs/{v.slug}"} for v in variants]}


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    write_csv(path, rows, last=("run_dir", "error"))


# ---------------------------------------------------------------- statistics and the table

def default_metric(rows: list[dict[str, Any]]) -> str:
    """The task's primary validation metric (accuracy, MAE for regression) if the runs have one, else the test one."""
    scored = {k for r in rows for k, v in r.items() if isinstance(v, (int, float))}
    return first_metric(scored, ("val_", "test_")) or f"test_{metric_names(primary=True)[0]}"


def stat_columns() -> list[str]:
    """The columns a comparison summarises over seeds: every task metric and the loss, test then val, and time."""
    return [f"{split}_{m}" for split in ("test", "val") for m in (*metric_names(), "loss")] + ["train_seconds"]


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1); the std of a single value is NaN."""
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan


def summarize(rows: list[dict[str, Any]], variants: list[Variant], keys: list[str], metric: str) -> list[dict[str, Any]]:
    """One row per variant: runs, ok, `<metric>_mean` / `_std` of every metric column, best, first error."""
    cols = [c for c in stat_columns() if any(isinstance(r.get(c), (int, float)) for r in rows)]
    if metric not in cols and any(isinstance(r.get(metric), (int, float)) for r in rows):
        cols.append(metric)
    summary = []
    for v in variants:
        mine = [r for r in rows if r["variant"] == v.name]
        ok = [r for r in mine if r["status"] != "failed"]
        s: dict[str, Any] = {"variant": v.name, **{k: show(v.values[k]) for k in keys}, "runs": len(mine), "ok": len(ok)}
        for c in cols:
            s[f"{c}_mean"], s[f"{c}_std"] = mean_std([float(r[c]) for r in ok if isinstance(r.get(c), (int, float))])
        s["best"] = False
        s["error"] = next((r["error"] for r in mine if r["status"] == "failed"), "")
        summary.append(s)
    scored = [s for s in summary if not math.isnan(s.get(f"{metric}_mean", math.nan))]
    if scored:
        pick = max if higher_is_better(metric) else min
        pick(scored, key=lambda s: s[f"{metric}_mean"])["best"] = True
    return summary


def format_table(summary: list[dict[str, Any]], metric: str) -> str:
    """The summary as an aligned text table, mean ± std per metric, the best variant marked with *."""
    metrics = [c for c in [f"{split}_{m}" for split in ("test", "val") for m in metric_names(primary=True)]
               + ["train_seconds"] if any(f"{c}_mean" in s for s in summary)]

    def cell(s: dict[str, Any], c: str) -> str:
        m, sd = s.get(f"{c}_mean", math.nan), s.get(f"{c}_std", math.nan)
        if math.isnan(m):
            return "-"
        digits = 1 if c == "train_seconds" else 4
        return f"{m:.{digits}f} ± {sd:.{digits}f}" if not math.isnan(sd) else f"{m:.{digits}f}"

    head = ["", "variant", "runs"] + [c.replace("_", " ") for c in metrics]
    body = [["*" if s["best"] else "", s["variant"], f"{s['ok']}/{s['runs']}"] + [cell(s, c) for c in metrics]
            for s in summary]
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    fmt = lambda r: "  ".join(x.ljust(w) if i < 2 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths)))
    lines = [fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body]
    lines += [f"  failed: {s['variant']}: {s['error']}" for s in summary if s["error"]]
    order = "highest" if higher_is_better(metric) else "lowest"
    lines.append(f"* best: {order} mean {metric.replace('_', ' ')}; mean ± sample std over seeds")
    return "\n".join(lines)
