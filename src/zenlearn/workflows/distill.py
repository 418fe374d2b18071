"""`zenlearn distill`: the same student trained from labels only and from a teacher, compared; the T × alpha sweep.

Protocol (the survey's two phases): every choice is made on the validation split; the test split is read
once per model, at the very end, after all training and selection are done. The student uses the
teacher's data and validation split (its split seed), so the teacher has never seen a validation sample.

Output folder: `scratch/` and `distilled/` (ordinary run folders), with `--sweep` also `sweep/<T>-<alpha>/`
per candidate, `sweep.csv`, `sweep.json` and `sweep.png`; `distill.yaml` (the distillation options),
`summary.json` and `report.html` (unless --no-report).
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zenlearn.config import DistillConfig, TrainConfig
from zenlearn.data import ArrayData, DataSpec, Splits, resolve_data
from zenlearn.distill.methods import TeacherLogits, bind, check_distill_config
from zenlearn.errors import TrainingError, UsageError
from zenlearn.io.atomic import write_bytes, write_text
from zenlearn.io.live import lives, started
from zenlearn.io.rundir import DISTILL, SUMMARY, SWEEP_CSV, SWEEP_JSON, SWEEP_PNG, RunDir, write_csv, write_json
from zenlearn.report.build import write_report
from zenlearn.report.plots.run import heatmap
from zenlearn.training.build import check_config, eval_loader, load_run, open_splits
from zenlearn.training.device import resolve_device
from zenlearn.training.trainer import Trainer
from zenlearn.workflows.parallel.cells import plan_key, run_cells
from zenlearn.workflows.parallel.outage import STORAGE_TIMEOUT
from zenlearn.workflows.parallel.workers import threads_per_worker
from zenlearn.workflows.train import environment, train_run

DATA_FIELDS = ("data", "val_split")
"""Student options that must equal the teacher's: the same dataset and the same validation split."""
INHERITED = (*DATA_FIELDS, "train_subset")
"""Student options that default to the teacher's (`--train-subset` may differ: the validation split stays the same)."""


@lives("distill")
def distill_run(student: TrainConfig, cfg: DistillConfig, *, sweep: dict[str, tuple[float, ...]] | None = None,
                verbose: bool = True, workers: int = 1, storage: str | None = None,
                storage_timeout: float = STORAGE_TIMEOUT) -> dict[str, Any]:
    """Train `student` from labels only and distilled from `cfg.teacher`; evaluate all three once on test.

    Args:
        student: The student's training options (model, data, epochs, seed, out, …).
        cfg: Teacher run folder, method, temperature, alpha.
        sweep: Grid `{"temperature": (…), "alpha": (…)}` tuned on the validation split; the best setting
            is the distilled student. Defaults to None (use `cfg` as given).
        verbose: Show progress. Defaults to True.
        workers: Processes that share the sweep's cells (each its own T × alpha student), on the Optuna engine
            of `zenlearn tune`; each gets cores // workers torch threads unless `student.threads`. Defaults to 1
            (the cells run one after another in this process).
        storage: Optuna storage URL, so that several machines share one sweep. Defaults to None (a SQLite
            file in the output folder when `workers` > 1).
        storage_timeout: With `workers` or `storage`: seconds each worker waits for a database that stopped
            answering before it stops with exit 1 (rerun to continue). Defaults to 120.

    Returns:
        The summary written to `<out>/summary.json`.

    Example:
        >>> student = TrainConfig(data="mnist1d", model="logreg", epochs=1, report=False, out=str(tmp / "kd"))
        >>> s = distill_run(student, DistillConfig(teacher=run_dir, temperature=20), verbose=False)
        >>> sorted(k for k in s if k.startswith(("teacher", "student")))
        ['student_distilled', 'student_scratch', 'teacher']
    """
    check_config(student)
    check_distill_config(cfg)
    sweep = dict(sweep or {})
    if cfg.method == "hint" and len(sweep.get("temperature", ())) > 1:
        raise UsageError("--sweep temperature: the hint method has no temperature; sweep alpha only, or use --method kd")
    device = resolve_device(student.device)
    t_cfg, t_spec, t_trainer = load_run(cfg.teacher, device=str(device))
    check_same_data(student, t_cfg, cfg.teacher)
    splits = open_splits(student.replace(seed=t_cfg.seed), device=device)  # the teacher's split
    if splits.spec != t_spec:
        raise UsageError(f"the teacher {cfg.teacher} was trained on data prepared differently ({_diff(t_spec, splits.spec)}); "
                         f"distill from a teacher trained on the student's data")
    if sweep and splits.val is None:
        raise UsageError("--sweep tunes on the validation split, but --val-split is 0; use e.g. --val-split 0.1")
    out = RunDir(student.out or _default_out(student)).create(overwrite=student.overwrite).path
    started(RunDir(out))
    write_text(out / DISTILL, _yaml({**cfg.__dict__, "sweep": {k: list(v) for k, v in sweep.items()} or None}))
    teacher = t_trainer.model
    teacher_logits = TeacherLogits(teacher)  # computed once, shared by every distilled candidate

    def fit(run_cfg: TrainConfig, folder: str, dcfg: DistillConfig | None) -> dict[str, Any]:
        made: list[Any] = []  # the loss objects train_run builds, closed (hooks removed) afterwards
        if dcfg is not None:
            factory = bind(dcfg.method, teacher, dcfg, teacher_logits)
            loss = lambda *args: made.append(factory(*args)) or made[-1]  # noqa: E731
        try:
            title = "scratch (labels only)" if dcfg is None else _title(dcfg)
            return train_run(run_cfg.replace(out=str(out / folder), overwrite=True), verbose=verbose,
                             splits=splits, loss=loss if dcfg is not None else None, evaluate_test=False, title=title)
        finally:
            for m in made:
                getattr(m, "close", lambda: None)()

    scratch = fit(student, "scratch", None)
    selection = None
    if sweep:
        grid = {k: sweep.get(k, (getattr(cfg, k),)) for k in ("temperature", "alpha")}
        cells = [(t, a) for t in grid["temperature"] for a in grid["alpha"]]
        here = (t_trainer.model, splits, teacher_logits, verbose) if workers == 1 and not storage else None
        runs = _sweep(student, cfg, cells, out, workers, storage, here, storage_timeout)
        best = max(runs, key=lambda k: (runs[k]["val"]["accuracy"], -runs[k]["val"]["loss"]))
        cfg = cfg.replace(temperature=best[0], alpha=best[1])
        selection = write_sweep(out, grid, runs, best, cfg.method)
        distilled, distilled_dir = runs[best], Path(runs[best]["out"])
        if verbose:
            print(selection["text"])
    else:
        distilled = fit(student, "distilled", cfg)
        distilled_dir = out / "distilled"

    # Phase 2: all training and selection is done; each model reads the test split exactly once.
    _, _, scratch_trainer = load_run(out / "scratch", device=str(device))
    _, _, distilled_trainer = load_run(distilled_dir, device=str(device))
    models = {"teacher": (t_trainer, t_cfg, None, cfg.teacher), "student_scratch": (scratch_trainer, student, scratch,
              str(out / "scratch")), "student_distilled": (distilled_trainer, student, distilled, str(distilled_dir))}
    summary: dict[str, Any] = {}
    for name, (trainer, run_cfg, run_summary, run_dir) in models.items():
        summary[name] = describe(trainer, run_cfg, splits, run_summary, run_dir, student.eval_batch_size)
    summary["student_distilled"].update(method=cfg.method, temperature=cfg.temperature, alpha=cfg.alpha,
                                        hint_layer=cfg.hint_layer)
    summary["compression_ratio"] = summary["teacher"]["params"] / summary["student_distilled"]["params"]
    summary["test_error_gap"] = summary["student_scratch"]["test"]["errors"] - summary["student_distilled"]["test"]["errors"]
    summary["splits"] = {
        "train": len(splits.train), "val": len(splits.val) if splits.val is not None else 0, "test": len(splits.test),
        "split_seed": t_cfg.seed,
        "val_used_for": "selection of temperature/alpha (--sweep) and reporting" if sweep else "reporting only",
        "test_used_for": "final report only: each model evaluated once on test, after all training and selection",
    }
    summary["selection"] = {k: v for k, v in selection.items() if k != "text"} if selection else None
    summary.update(data=student.data, seed=student.seed, device=str(device), environment=environment())
    write_json(out / SUMMARY, summary)
    if student.report:  # teacher vs students, curves and the T x alpha heat-map in one page
        write_report(out)
    return {**summary, "out": str(out)}


def _title(dcfg: DistillConfig) -> str:
    """A distilled student's header: "distilled (kd, T=4, alpha=0.9)"."""
    t = f"T={dcfg.temperature:g}, " if dcfg.method == "kd" else ""
    return f"distilled ({dcfg.method}, {t}alpha={dcfg.alpha:g})"


def _cell_folder(t: float, a: float) -> str:
    return f"sweep/T{t:g}-alpha{a:g}"


def _sweep(student: TrainConfig, cfg: DistillConfig, cells: list[tuple[float, float]], out: Path, workers: int,
           storage: str | None, here: tuple[Any, ...] | None,
           storage_timeout: float) -> dict[tuple[float, float], dict[str, Any]]:
    """The sweep's cells through `run_cells` (here, one after another, sharing the loaded teacher, its split and
    its logit cache `here`; or as enqueued trials for `workers` processes); {(T, alpha): the student's summary}."""
    threads = threads_per_worker(workers, student.threads) if here is None else student.threads or 0
    student = student.replace(threads=threads) if here is None else student
    key = plan_key([student.to_dict() | {"out": None}, cfg.__dict__, cells])
    rows = run_cells(len(cells), functools.partial(_sweep_cell, student, cfg, cells, str(out), here=here), key=key,
                     out=out, storage=storage, workers=workers, threads=threads, fresh=True,
                     storage_timeout=storage_timeout, rerun="rerun the same command with --overwrite to sweep again")
    missing = [cells[i] for i, r in enumerate(rows) if r is None]
    if missing:
        raise TrainingError(f"--sweep: no result for {', '.join(f'T={t:g} alpha={a:g}' for t, a in missing)} "
                            f"(their workers died too often); rerun the same command")
    return {cell: row for cell, row in zip(cells, rows)}  # type: ignore[misc]


def _sweep_cell(student: TrainConfig, cfg: DistillConfig, cells: list[tuple[float, float]], out: str,
                index: int, here: tuple[Any, ...] | None = None) -> dict[str, Any]:
    """One T × alpha student: in a worker process it loads the teacher and the teacher's split itself; in the
    command's own process (`here`: teacher, split, logit cache, verbose) it shares them."""
    t, a = cells[index]
    if here is None:
        device = resolve_device(student.device)
        t_cfg, _, t_trainer = load_run(cfg.teacher, device=str(device))
        splits = open_splits(student.replace(seed=t_cfg.seed), device=device)
        teacher, logits, verbose = t_trainer.model, None, False
    else:
        teacher, splits, logits, verbose = here
    dcfg = cfg.replace(temperature=t, alpha=a)
    factory, made = bind(dcfg.method, teacher, dcfg, logits), []
    try:
        return train_run(student.replace(out=str(Path(out) / _cell_folder(t, a)), overwrite=True), verbose=verbose,
                         splits=splits, loss=lambda *args: made.append(factory(*args)) or made[-1],
                         evaluate_test=False, title=_title(dcfg))
    finally:
        for m in made:
            getattr(m, "close", lambda: None)()


def check_same_data(student: TrainConfig, teacher: TrainConfig, teacher_dir: str) -> None:
    """The student's dataset and validation split must be the teacher's; otherwise one `UsageError`."""
    def value(cfg: TrainConfig, k: str) -> Any:  # a dataset folder is the same folder whatever the cwd
        return resolve_data(cfg.data) if k == "data" else getattr(cfg, k)

    diff = [f"{k}: teacher {getattr(teacher, k)!r}, student {getattr(student, k)!r}" for k in DATA_FIELDS
            if value(teacher, k) != value(student, k)]
    if diff:
        raise UsageError(f"the student's data must match the teacher's ({'; '.join(diff)}); drop those student "
                         f"options (they default to the teacher's) or distill from a teacher trained on this data")


def describe(trainer: Trainer, cfg: TrainConfig, splits: Splits, run: dict[str, Any] | None, run_dir: str,
             batch_size: int) -> dict[str, Any]:
    """Params, val and test metrics (test read once, here), and inference time of one model."""
    model = trainer.model
    rec: dict[str, Any] = {"run": run_dir, "model": cfg.model, "hidden": list(cfg.hidden),
                           "params": sum(p.numel() for p in model.parameters())}
    if splits.val is not None:
        rec["val"] = evaluate(trainer, splits, splits.val, batch_size)
    rec["test"] = evaluate(trainer, splits, splits.test, batch_size)
    rec["inference_ms_per_sample"] = inference_ms_per_sample(model, splits.spec.input_shape, trainer.device)
    if run is not None:
        rec.update(train_seconds=run["train_seconds"], epochs=run["epochs"])
    return rec


def evaluate(trainer: Trainer, splits: Splits, data: ArrayData, batch_size: int) -> dict[str, Any]:
    """Loss, accuracy and the number of errors of `trainer.model` on `data` (one split of `splits`)."""
    m = trainer.evaluate(eval_loader(splits, data, batch_size), batch_size=batch_size)
    n = len(data)
    return {"loss": m["loss"], "accuracy": m["accuracy"], "errors": int(round((1 - m["accuracy"]) * n)), "samples": n}


@torch.inference_mode()
def inference_ms_per_sample(model: nn.Module, input_shape: tuple[int, ...], device: torch.device,
                            batch_size: int = 256, repeats: int = 10) -> float:
    """Fastest forward time per sample (ms) over `repeats` passes of a random batch, in eval mode.

    The minimum, as `timeit` advises: on a shared machine the slower passes measure the other processes.
    """
    was = model.training
    model.eval()
    x = torch.rand(batch_size, *input_shape, device=device)
    times = []
    for i in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i:  # the first pass warms up
            times.append(time.perf_counter() - t0)
    model.train(was)
    return min(times) / batch_size * 1e3


def write_sweep(out: Path, grid: dict[str, tuple[float, ...]], runs: dict[tuple[float, float], dict[str, Any]],
                best: tuple[float, float], method: str) -> dict[str, Any]:
    """Write `sweep.csv` / `sweep.json` / `sweep.png` (validation accuracy, T × alpha) and return the selection."""
    ts, alphas = grid["temperature"], grid["alpha"]
    acc = [[runs[(t, a)]["val"]["accuracy"] for a in alphas] for t in ts]
    write_csv(out / SWEEP_CSV, [{"temperature": f"{t:g}", **{f"alpha={a:g}": f"{v:.4f}" for a, v in zip(alphas, r)}}
                                for t, r in zip(ts, acc)], ["temperature", *(f"alpha={a:g}" for a in alphas)])
    head = "val accuracy (%)  " + "".join(f"alpha={a:<8g}" for a in alphas)
    lines = [head] + [f"T={t:<15g}" + "".join(
        f"{100 * v:7.2f}{'*' if (t, a) == best else ' '}     " for a, v in zip(alphas, r)) for t, r in zip(ts, acc)]
    text = "\n".join(lines) + f"\nselected on the validation split: temperature={best[0]:g} alpha={best[1]:g} (*)"
    selection = {"split": "val", "metric": "accuracy", "method": method, "temperature": list(ts), "alpha": list(alphas),
                 "val_accuracy": acc, "val_loss": [[runs[(t, a)]["val"]["loss"] for a in alphas] for t in ts],
                 "chosen": {"temperature": best[0], "alpha": best[1]}, "text": text}
    write_text(out / SWEEP_JSON, json.dumps({k: v for k, v in selection.items() if k != "text"}, indent=2))
    write_bytes(out / SWEEP_PNG, heatmap(100 * np.array(acc), [f"{t:g}" for t in ts], [f"{a:g}" for a in alphas],
                                           "validation accuracy (%)", "alpha (weight of the soft targets)",
                                           "temperature T", "validation accuracy (%)",
                                           mark=(ts.index(best[0]), alphas.index(best[1])), cell="{:.2f}"))
    return selection


def _default_out(cfg: TrainConfig) -> Path:
    return Path("runs") / f"distill-{cfg.data.replace(':', '-').replace('/', '_')}-{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}"


def _diff(a: DataSpec, b: DataSpec) -> str:
    return ", ".join(f"{k}: teacher {v!r}, student {getattr(b, k)!r}" for k, v in a.__dict__.items() if getattr(b, k) != v)


def _yaml(d: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(d, sort_keys=False)
