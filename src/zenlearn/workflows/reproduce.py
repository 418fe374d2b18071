"""`zenlearn reproduce`: run the suite (suite.py) as ordinary comparisons and write results.md + report.html.

Output folder (`out`):
  <experiment>/<comparison>/     a `zenlearn compare` folder per comparison (optimizers: lr-grid/ and final/;
                                 distillation: teacher/ and distill/seed-<s>/ `zenlearn distill` folders)
  reproduce.json                 settings, every row's per-seed values and curves, timing, machine
                                 (rewritten after each experiment, so an interrupted suite keeps what it did)
  results.md, results/*.png      the tables beside their published anchors, the claims checked, the plots
  report.html                    the same as one self-contained page
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zenlearn.config import DistillConfig, TrainConfig
from zenlearn.config.fields import show
from zenlearn.errors import UsageError, one_line
from zenlearn.io.atomic import write_text
from zenlearn.io.rundir import GRAD_NORMS, REPORT, REPRODUCE, RESULTS_MD, SUMMARY, RunDir, read_curves, read_json
from zenlearn.nn.tasks import metric_names
from zenlearn.report.reproduction import write_html, write_markdown
from zenlearn.training.build import check_config
from zenlearn.workflows.claims import describe_experiment, machine
from zenlearn.workflows.commands import command_line, commands_for, slug
from zenlearn.workflows.compare import comparable, finished_config, resolved_config, run_compare
from zenlearn.workflows.distill import distill_run
from zenlearn.workflows.parallel.outage import STORAGE_TIMEOUT
from zenlearn.workflows.parallel.workers import threads_per_worker
from zenlearn.workflows.peers import run_peer
from zenlearn.workflows.suite import (
    BUDGETS,
    SUITE,
    Budget,
    Comparison,
    Experiment,
    budget_of,
    lr_points,
    seeds_of,
    student_options,
)

FORMAT = 1


def reproduce(out: str | Path, only: Sequence[str] | None = None, *, seeds: int | None = None, budget: str = "full",
              resume: bool = False, overwrite: bool = False, data_dir: str | None = None, device: str = "auto",
              verbose: bool = True, workers: int = 1, storage: str | None = None,
              threads: int | None = None, storage_timeout: float = STORAGE_TIMEOUT) -> dict[str, Any]:
    """Run the reproduction suite (or the experiments in `only`) and write results.md and report.html.

    Args:
        out: Output folder.
        only: Experiment names (see `zenlearn.workflows.suite.SUITE`). Defaults to all of them.
        seeds: Seeds per row, overriding the budget's. Defaults to the budget's.
        budget: "full", "quick" (≤ 15 min on 2 CPU cores) or "tiny" (a smoke test). Defaults to "full".
        resume: Reuse finished runs in `out` (same settings). Defaults to False.
        overwrite: Redo runs whose folders exist. Defaults to False.
        data_dir: Data folder. Defaults to $ZENLEARN_DATA, else ~/.cache/zenlearn.
        device: auto, cpu or cuda. Defaults to "auto".
        verbose: Print progress. Defaults to True.
        workers: Processes sharing each comparison's runs (see `run_compare`). Defaults to 1.
        storage: Optuna storage URL shared with other machines (see `run_compare`). Defaults to None.
        threads: Torch threads of every run (`--threads`); a CPU run's numbers depend on it, so compare a
            parallel reproduction with a sequential one at the same threads per run. Defaults to None (the
            runs' own: torch's choice; with `workers` > 1, cores // workers).
        storage_timeout: Seconds each worker waits for a database that stopped answering (see
            `run_compare`). Defaults to 120.

    Returns:
        The contents of `out/reproduce.json`.

    Example:
        >>> res = reproduce(tmp / "repro", only=["models"], budget="tiny", verbose=False)
        >>> [r["label"] for r in res["experiments"][0]["rows"]]
        ['logistic', 'MLP', 'CNN', 'GRU']
    """
    names = check_names(only)
    if budget not in BUDGETS:
        raise UsageError(f"--budget must be one of {', '.join(BUDGETS)}, got {budget!r}")
    if seeds is not None and seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {seeds}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; choose a folder path")
    if out.is_dir() and any(out.iterdir()) and not (resume or overwrite):
        raise UsageError(f"--out {out} already holds files; pass --resume to reuse the finished runs, --overwrite "
                         f"to redo them, or choose another --out")
    given_threads, threads = threads, run_threads(threads, workers)
    common = {"data_dir": data_dir, "device": device, "report": False, "overwrite": overwrite,
              **({"threads": threads} if threads is not None else {})}
    plans = {n: plan(SUITE.get(n), budget, common) for n in names}  # every config checked before any run
    result: dict[str, Any] = {"format": FORMAT,
                              "command": command_line(names, seeds, budget, threads=given_threads, workers=workers),
                              "budget": budget, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "machine": _machine(threads),
                              "experiments": []}
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    for name in names:
        exp = SUITE.get(name)
        n_seeds = seeds or budget_of(exp, budget).seeds
        if verbose:
            print(f"== {name}: {exp.title} ({budget} budget, {n_seeds} seed{'s' * (n_seeds > 1)})", flush=True)
        t0 = time.perf_counter()
        rows = run_experiment(exp, budget_of(exp, budget), plans[name], n_seeds, out / name, resume, verbose,
                              {"workers": workers, "storage": storage, "storage_timeout": storage_timeout},
                              fixed_seeds=seeds is not None)
        record = describe_experiment(exp, budget, n_seeds, rows, time.perf_counter() - t0)
        if seeds is not None:  # --seeds N: every row has N
            record["budget"]["tag_seeds"] = {}
        record["commands"] = commands_for(exp, plans[name], n_seeds, budget_of(exp, budget), fixed_seeds=seeds is not None)
        result["experiments"].append(record)
        result["seconds"] = time.perf_counter() - t_all
        write_results(out, result)
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_results(out, result)
    if verbose:
        print(f"wrote {out / RESULTS_MD} and {out / REPORT} ({result['seconds'] / 60:.1f} min)")
    return result


def run_threads(threads: int | None, workers: int) -> int | None:
    """Torch threads of every run: `--threads`, else with workers cores // workers, also for the runs that stay
    in this process (distillation students), so a parallel reproduction computes what a sequential one at
    that thread count does; None (torch's choice) for a sequential default run.

    Example:
        >>> run_threads(None, 1), run_threads(3, 2), run_threads(None, 2) == threads_per_worker(2, None)
        (None, 3, True)
    """
    if threads is None and workers > 1:
        return threads_per_worker(workers, None)
    return threads


def _machine(threads: int | None) -> dict[str, Any]:
    """`machine()` with the torch threads every run got (`run_threads`), when they were set."""
    m = machine()
    if threads:
        m["cpu_threads"] = threads
    return m


def check_names(only: Sequence[str] | None) -> list[str]:
    """`only` as canonical experiment names in suite order (all when empty); a miss lists the choices."""
    if not only:
        return SUITE.names()
    unknown = [n for n in only if n not in SUITE]
    if unknown:
        raise UsageError(f"--only: unknown experiment {', '.join(map(repr, unknown))}; choose from: "
                         f"{', '.join(SUITE.names())}")
    wanted = {SUITE.entry(n).name for n in only}
    return [n for n in SUITE.names() if n in wanted]


def write_results(out: Path, result: dict[str, Any]) -> None:
    write_text(out / REPRODUCE, json.dumps(result, indent=1, default=str))
    write_markdown(out, result)
    write_html(out, result)


# ---------------------------------------------------------------- configs

def config_for(exp: Experiment, comp: Comparison, budget: Budget, common: dict[str, Any]) -> TrainConfig:
    """Defaults ← experiment base ← comparison ← budget ← budget per tag ← common options (a distillation
    student: that config ← `student_options`)."""
    merged = {**exp.base, **comp.overrides, **budget.overrides, **budget.per_tag.get(comp.tag, {}), **common}
    return TrainConfig.from_dict({k: list(v) if isinstance(v, tuple) else v for k, v in merged.items()},
                                 source=f"experiment {exp.name!r}")


def plan(exp: Experiment, budget_name: str, common: dict[str, Any]) -> list[tuple[Comparison, TrainConfig]]:
    """Each comparison's base config, validated with every varied value (a bad suite fails before any run)."""
    budget = budget_of(exp, budget_name)
    steps = []
    for comp in exp.comparisons:
        cfg = config_for(exp, comp, budget, common)
        variants = [cfg.replace(**{k: v}) for k, vs in comp.vary.items() for v in vs] or [cfg]
        variants += [cfg.replace(lr=lr) for lr in lr_points(comp.lr_grid, budget.lr_points)]
        if exp.distill:
            variants.append(cfg.replace(**{k: list(v) if isinstance(v, tuple) else v
                                           for k, v in student_options(exp, budget).items()}))
        for v in variants:
            try:
                check_config(v)
            except UsageError as e:
                raise UsageError(f"experiment {exp.name!r} ({comp.name or 'base'}): {e}") from None
        steps.append((comp, cfg))
    return steps


# ---------------------------------------------------------------- running

def run_experiment(exp: Experiment, budget: Budget, steps: list[tuple[Comparison, TrainConfig]], seeds: int,
                   folder: Path, resume: bool, verbose: bool, parallel: dict[str, Any] | None = None,
                   fixed_seeds: bool = False) -> list[dict[str, Any]]:
    """Every comparison of `exp` (normal compare / distill runs); returns one row per label.

    `seeds` per row, except where the budget gives a comparison's tag its own (`Budget.tag_seeds`) and
    `fixed_seeds` (`--seeds N`) is False. `parallel` ({"workers": N, "storage": URL, "storage_timeout": S}) spreads each
    comparison's runs (see `run_compare`)."""
    parallel = parallel or {}
    if exp.distill:
        comp, cfg = steps[0]
        return run_distillation(exp, comp, cfg, seeds, folder, resume, verbose, student_options(exp, budget), parallel)
    rows: list[dict[str, Any]] = []
    for comp, cfg in steps:
        where = folder / slug(comp.name or "compare")
        n = seeds_of(budget, comp, seeds, fixed_seeds)
        if comp.lr_grid:
            rows.append(run_lr_grid(comp, cfg, budget, n, where, folder, resume, verbose, parallel))
        else:
            res = run_compare(cfg, dict(comp.vary), n, where, resume, verbose=verbose, **parallel)
            rows += rows_of(res, comp, folder)
        rows += [run_peers(exp, comp, cfg, peer, label, range(cfg.seed, cfg.seed + n), where, folder, verbose)
                 for peer, label in zip(exp.peers, peer_rows(exp, comp))]
    return rows


def peer_rows(exp: Experiment, comp: Comparison) -> list[str]:
    """The labels of the peer rows beside comparison `comp`: "<table> · <peer>" ("iris · zenlearn MLP" → "iris")."""
    return [f"{comp.name.split(' · ')[0]} · {peer}" for peer in exp.peers]


def run_peers(exp: Experiment, comp: Comparison, cfg: TrainConfig, peer: str, label: str, seeds: Sequence[int],
              where: Path, folder: Path, verbose: bool) -> dict[str, Any]:
    """The row of peer `peer` beside comparison `comp`: fitted in this process on each seed's rows (`run_peer`)."""
    row = new_row(label, where, folder)
    row["peer"] = peer
    for seed in seeds:
        try:
            values = run_peer(peer, cfg, seed)
        except Exception as e:  # a peer that fails is listed, as a failed run is
            row["failed"].append(f"seed {seed}: {one_line(e)}")
            continue
        row["seeds"].append(seed)
        row["train_samples"] = values.pop("train_samples")
        for k, v in values.items():
            row["values"].setdefault(k, []).append(float(v))
    if verbose:
        vals = row["values"].get(exp.metric, [])
        print(f"{label}: {exp.metric} " + " ".join(f"{v:.4f}" for v in vals), flush=True)
    return row


def run_lr_grid(comp: Comparison, cfg: TrainConfig, budget: Budget, seeds: int, where: Path, folder: Path,
                resume: bool, verbose: bool, parallel: dict[str, Any] | None = None) -> dict[str, Any]:
    """DeepOBS' protocol: pick the LR on the validation split (one seed per grid point), then add seeds at that LR.

    The grid's run at the chosen LR is the first seed (selection used its validation split only, never the
    test split); the other seeds run as a second comparison in `final/`.
    """
    grid = run_compare(cfg, {"lr": list(lr_points(comp.lr_grid, budget.lr_points))}, [cfg.seed], where / "lr-grid",
                       resume, metric="val_accuracy", verbose=verbose, **(parallel or {}))
    best = next((s for s in grid.summary if s["best"]), None)
    if best is None:  # every grid point failed
        row = rows_of(grid, comp, folder)[0]
        row["label"] = comp.name
        return row
    lr = float(best["lr"])
    row = new_row(comp.name, where, folder)
    _add_rows(row, grid, [r for r in grid.rows if r["variant"] == best["variant"]])
    if seeds > 1:
        final = run_compare(cfg.replace(lr=lr), {}, list(range(cfg.seed + 1, cfg.seed + seeds)), where / "final",
                            resume, verbose=verbose, **(parallel or {}))
        _add_rows(row, final, final.rows)
    row.update(lr=lr, lr_grid=[{"lr": float(s["lr"]), "val_accuracy": s.get("val_accuracy_mean")} for s in grid.summary])
    return row


def label_of(comp: Comparison, variant_values: dict[str, Any]) -> str:
    """Row label: the comparison's name, the varied value (or its label), or "name · value"."""
    if not variant_values:
        return comp.name
    shown = " ".join(comp.labels.get(show(v), show(v)) for v in variant_values.values())
    return f"{comp.name} · {shown}" if comp.name else shown


DISTILL_LABELS = {"teacher": "teacher", "student_scratch": "student (labels only)",
                  "student_distilled": "student (distilled)"}


def row_labels(exp: Experiment) -> list[str]:
    """The labels of the rows `exp` produces, in order (anchors and claims refer to these)."""
    if exp.distill:
        return list(DISTILL_LABELS.values())
    labels = []
    for comp in exp.comparisons:
        if not comp.vary:
            labels.append(comp.name)
        for combo in itertools.product(*comp.vary.values()) if comp.vary else ():
            labels.append(label_of(comp, dict(zip(comp.vary, combo))))
        labels += peer_rows(exp, comp)
    return labels


def rows_of(res: Any, comp: Comparison, folder: Path) -> list[dict[str, Any]]:
    """One row per variant of a `CompareResult`: per-seed metrics, curves and gradient norms."""
    rows = []
    for v in res.variants:
        row = new_row(label_of(comp, v.values), res.out, folder)
        _add_rows(row, res, [r for r in res.rows if r["variant"] == v.name])
        rows.append(row)
    return rows


def _add_rows(row: dict[str, Any], res: Any, runs: list[dict[str, Any]]) -> None:
    """Add a comparison's result rows (one per seed) to a suite row; failures are listed, not averaged."""
    row["failed"] += [f"seed {r['seed']}: {r['error']}" for r in runs if r["status"] == "failed"]
    for r in runs:
        if r["status"] != "failed":
            add_run(row, res.out / r["run_dir"], r["seed"],
                    {k: r.get(k) for k in (*(f"{split}_{m}" for m in metric_names() for split in ("test", "val")),
                                           "test_loss", "train_seconds") if k in r})


def new_row(label: str, where: Path, folder: Path) -> dict[str, Any]:
    return {"label": label, "folder": str(where.relative_to(folder.parent)), "seeds": [], "values": {}, "curves": [],
            "grad_norms": [], "train_samples": None, "failed": []}


def add_run(row: dict[str, Any], run_dir: Path, seed: int, metrics: dict[str, Any]) -> None:
    """Append one finished run's numbers, curves (metrics.csv) and gradient norms to `row`."""
    curves = read_curves(run_dir)
    metrics = {**metrics, "train_loss": curves["loss"][-1] if curves.get("loss") else None}
    norms = _grad_norms(run_dir)
    if norms and norms["norms"]:
        first = norms["norms"][0]  # epoch 0: the first batch, the network at initialization
        metrics["grad_ratio"] = first[0] / first[-1] if first[-1] > 0 else None
        row["grad_norms"].append(norms)
    row["seeds"].append(seed)
    for k, v in metrics.items():
        row["values"].setdefault(k, []).append(float(v) if isinstance(v, (int, float)) else None)
    row["curves"].append({k: curves[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in curves})
    summary = RunDir(run_dir).read_summary()
    if summary is not None:
        row["train_samples"] = summary.data.get("train")


def _grad_norms(run_dir: Path) -> dict[str, Any] | None:
    """grad_norms.csv as {"names": layer names, "epochs": [0, 1, …], "norms": [[norm per layer] per epoch]}."""
    path = run_dir / GRAD_NORMS
    if not path.is_file():
        return None
    lines = [line.split(",") for line in path.read_text().splitlines() if line]
    head, body = lines[0], lines[1:]
    return {"names": head[1:], "epochs": [int(r[0]) for r in body], "norms": [[float(x) for x in r[1:]] for r in body]}


def run_distillation(exp: Experiment, comp: Comparison, cfg: TrainConfig, seeds: int, folder: Path, resume: bool,
                     verbose: bool, student_extra: dict[str, Any], parallel: dict[str, Any] | None = None
                     ) -> list[dict[str, Any]]:
    """A teacher comparison (one teacher per seed), then `zenlearn distill` from each teacher."""
    teachers = run_compare(cfg, {}, seeds, folder / "teacher", resume, verbose=verbose, **(parallel or {}))
    labels = DISTILL_LABELS
    rows = {role: new_row(label, folder / ("teacher" if role == "teacher" else "distill"), folder)
            for role, label in labels.items()}
    for t in teachers.rows:
        if t["status"] == "failed":
            rows["teacher"]["failed"].append(f"seed {t['seed']}: {t['error']}")
            continue
        out = folder / "distill" / f"seed-{t['seed']}"
        student = cfg.replace(**{k: list(v) if isinstance(v, tuple) else v for k, v in student_extra.items()},
                              seed=t["seed"], out=str(out), overwrite=cfg.overwrite or resume)
        summary = _finished_distill(out, student) if resume else None
        if summary is None:
            summary = distill_run(student, DistillConfig(teacher=str(teachers.out / t["run_dir"]), **exp.distill["options"]),
                                  verbose=False)
        if verbose:
            errs = "  ".join(f"{labels[r]} {summary[r]['test']['errors']} errors" for r in labels)
            print(f"distill seed {t['seed']}: {errs}", flush=True)
        for role, row in rows.items():
            rec = summary[role]
            add_run(row, Path(rec["run"]), t["seed"], {"errors": rec["test"]["errors"], "test_accuracy": rec["test"]["accuracy"],
                                              "val_accuracy": (rec.get("val") or {}).get("accuracy"),
                                              "params": rec["params"], "train_seconds": rec.get("train_seconds")})
    return list(rows.values())


def _finished_distill(out: Path, student: TrainConfig) -> dict[str, Any] | None:
    """A finished distill folder's summary when its student config matches `student` (for --resume)."""

    done = finished_config(out / "scratch")
    if not (out / SUMMARY).is_file() or done is None:
        return None
    if comparable(done) != comparable(resolved_config(student.replace(out=str(out / "scratch")))):
        return None
    return read_json(out / SUMMARY)  # a distillation folder's summary of its three runs


# ---------------------------------------------------------------- description
