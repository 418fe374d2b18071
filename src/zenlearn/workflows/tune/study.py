"""`zenlearn tune`: a hyperparameter search on Optuna, its trials ordinary run folders.

Output folder (`out`):
  trials/trial-NNNN/   one `train_run` folder per trial; its `state.json` has a `trial` block (params, outcome,
                       value; a pruned trial says after which epoch); trained on train, scored on validation only
  study.csv            one row per trial: number, state, params, metric, epochs, seconds, host, run folder
  best.yaml            the best trial's config, for `zenlearn train --config best.yaml`
  history.png, params.png, importances.png   optimization history, each param against the metric, importances
  tune.json            manifest: study, storage (password masked), space, metric, direction, best trial, files
  study.db             the default storage (SQLite); `--storage postgresql://…` shares a study between machines
  best/                with --refit: the best config trained once more, the test split read once
  report.html
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenlearn.config import TrainConfig
from zenlearn.errors import UsageError
from zenlearn.io.atomic import write_text
from zenlearn.io.live import lives, started
from zenlearn.io.rundir import TUNE, RunDir, check_out, make_dir
from zenlearn.nn.tasks import get_task, higher_is_better, metric_names
from zenlearn.training.build import check_config, open_splits
from zenlearn.workflows.parallel.outage import STORAGE_TIMEOUT, check_storage_timeout
from zenlearn.workflows.parallel.storage import dashboard_command, default_storage, mask, open_storage, resolve_storage
from zenlearn.workflows.parallel.workers import check_exits, run_workers, threads_per_worker
from zenlearn.workflows.tune.job import PRUNERS, SAMPLERS, TuneJob
from zenlearn.workflows.tune.outputs import write_outputs
from zenlearn.workflows.tune.space import Param, check_space, space_key

BASE_SKIP = ("out", "overwrite", "threads")  # per machine / per trial; not part of what the study trains


@dataclass
class TuneResult:
    """What `run_tune` returns: the output folder, the best trial and the manifest written to tune.json."""

    out: Path
    best: dict[str, Any] | None
    manifest: dict[str, Any]


def validation_metrics() -> list[str]:
    """What a study may optimize: the validation loss or any task metric on the validation split."""
    return [f"val_{m}" for m in metric_names()] + ["val_loss"]


@lives("tune")
def run_tune(base: TrainConfig, params: Sequence[Param], *, trials: int = 20, timeout: float | None = None,
             sampler: str = "tpe", pruner: str = "none", metric: str | None = None, storage: str | None = None,
             study: str = "zenlearn", workers: int = 1, out: str | Path | None = None, refit: bool = False,
             verbose: bool = True, storage_timeout: float = STORAGE_TIMEOUT) -> TuneResult:
    """Search `params` around `base`: `trials` trials over `workers` processes on one Optuna study.

    Everything is checked before the first trial (nothing is written on bad input); running it again
    with the same study continues it.

    Args:
        base: The config every trial starts from (its `out` is ignored: trials go under `out/trials/`).
        params: The searched options (`parse_search`).
        trials: Trials this call finishes (complete, pruned or failed by its own error); 0 only rewrites
            the outputs from the storage. Defaults to 20.
        timeout: Start no trial after this many seconds. Defaults to None.
        sampler: tpe, random or grid. Defaults to "tpe".
        pruner: none, median, hyperband or asha (per epoch on the metric; see `make_pruner`). Defaults to "none".
        metric: val_accuracy, val_mae or val_loss. Defaults to the task's validation metric.
        storage: Optuna storage URL. Defaults to `$ZENLEARN_STORAGE`, else sqlite:///OUT/study.db.
        study: The study's name in the storage. Defaults to "zenlearn".
        workers: Processes; each gets cores // workers torch threads unless `base.threads`. Defaults to 1.
        out: Output folder. Defaults to `base.out`, else runs/tune-<time>.
        refit: Train the best config once more into `out/best` and read its test split. Defaults to False.
        verbose: Print progress and the result. Defaults to True.
        storage_timeout: Seconds each worker waits for a database that stopped answering (a restart, a
            network blip) before it stops with exit 1; its trial keeps training meanwhile. Defaults to 120.

    Example:
        >>> from zenlearn.workflows.tune.space import parse_search
        >>> base = TrainConfig(data="mnist1d", model="logreg", epochs=1, train_subset=300, report=False)
        >>> res = run_tune(base, parse_search(["lr=log:1e-3:1e-1"]), trials=2, out=tmp / "tune", verbose=False)
        >>> sorted(p.name for p in (tmp / "tune").iterdir() if p.suffix in (".csv", ".yaml"))
        ['best.yaml', 'study.csv']
    """
    if sampler not in SAMPLERS:
        raise UsageError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if pruner not in PRUNERS:
        raise UsageError(f"--pruner must be one of {', '.join(PRUNERS)}, got {pruner!r}")
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if trials < 0:
        raise UsageError(f"--trials must be >= 0, got {trials}")
    if timeout is not None and timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {timeout}")
    check_storage_timeout(storage_timeout)
    if base.val_split <= 0:
        raise UsageError("tune selects on the validation split, but --val-split is 0; pass e.g. --val-split 0.1")
    check_config(base)
    check_space(base, params, sampler)
    out = Path(out or base.out or f"runs/tune-{time.strftime('%Y%m%d-%H%M%S')}")
    check_out(out, may_hold_files=(out / TUNE).is_file(),
              hint="it is not a tune folder (no tune.json); choose another --out")
    metric = metric or f"val_{get_task(open_splits(base).spec.task).metric}"
    if metric not in validation_metrics():
        raise UsageError(f"--metric must be a validation metric ({', '.join(validation_metrics())}; selection never "
                         f"reads the test split), got {metric!r}")
    direction = "maximize" if higher_is_better(metric) else "minimize"
    url = resolve_storage(storage, out)
    if url == default_storage(out):
        make_dir(out)  # the SQLite file lives in it
    # a server (or another file) is reachable, writable and holds the same study before anything is written
    rdb = open_storage(url, heartbeat=False, timeout=storage_timeout)
    stored = _create_study(rdb, study, params, metric, direction, base, sampler, pruner)
    make_dir(out)
    started(RunDir(out))
    threads = threads_per_worker(workers, base.threads)
    changed = [k for k, v in base.to_dict().items() if k not in BASE_SKIP and json.dumps(stored.get(k), default=list)
               != json.dumps(v, default=list)]
    if changed and verbose:
        print(f"note: study {study!r} continues with the options it was created with; ignoring the new "
              f"{', '.join(changed)} (use another --study to change them)", flush=True)
    manifest = {"format": 1, "study": study, "storage": mask(url), "metric": metric, "direction": direction,
                "space": space_key(params), "sampler": sampler, "pruner": pruner, "base_config": stored,
                "dashboard": dashboard_command(url)}
    write_text(out / TUNE, json.dumps({**manifest, "finished": None}, indent=2))
    if verbose:
        print(f"study {study!r} in {mask(url)}: {trials} trial(s) on {workers} worker(s) x {threads} thread(s), "
              f"{metric} ({direction}); trial folders under {out}/trials\nwatch it: {dashboard_command(url)}",
              flush=True)
    if trials:
        job = TuneJob(storage=url, study_name=study, base=TrainConfig.from_dict(stored), params=list(params),
                      metric=metric, sampler=sampler, pruner=pruner, trials=trials, out=str(out.resolve()),
                      threads=threads, deadline=time.time() + timeout if timeout else None,
                      storage_timeout=storage_timeout, verbose=verbose)
        codes = run_workers(job, workers)
        check_exits(codes, finished=job.next_action(_load(rdb, study)) == "done")
    manifest = write_outputs(_load(rdb, study), out, manifest, refit=refit, verbose=verbose)
    return TuneResult(out, manifest.get("best"), manifest)


def _load(storage: Any, name: str) -> Any:
    import optuna

    return optuna.load_study(study_name=name, storage=storage)


def _existing(storage: Any, name: str) -> Any | None:
    try:
        return _load(storage, name)
    except KeyError:
        return None


def _check_study(storage: Any, name: str, params: Sequence[Param], metric: str) -> None:
    """Refuse to continue a study that searched another space or another metric."""
    found = _existing(storage, name)
    if found is None:
        return
    attrs = found.user_attrs
    if attrs.get("zenlearn_metric") not in (None, metric):
        raise UsageError(f"study {name!r} already exists with metric {attrs['zenlearn_metric']}, not {metric}; use "
                         f"the same --metric, or another --study")
    old, new = attrs.get("zenlearn_space"), space_key(params)
    if old is not None and old != new:
        show = lambda d: " ".join(f"{k}={v}" for k, v in d.items())
        raise UsageError(f"study {name!r} already exists with another search space ({show(old)}; now {show(new)}); "
                         f"use the same --search, or another --study")


def _create_study(storage: Any, name: str, params: Sequence[Param], metric: str, direction: str, base: TrainConfig,
                  sampler: str, pruner: str) -> dict[str, Any]:
    """Create the study (or check the existing one); returns the base config every trial starts from."""
    import optuna

    _check_study(storage, name, params, metric)
    found = _existing(storage, name)
    base_d = {k: v for k, v in base.to_dict().items() if k not in BASE_SKIP}
    if found is not None:
        return found.user_attrs.get("zenlearn_base") or base_d
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    created = optuna.create_study(study_name=name, storage=storage, direction=direction, load_if_exists=True)
    for key, value in (("zenlearn_metric", metric), ("zenlearn_space", space_key(params)), ("zenlearn_base", base_d),
                       ("zenlearn_sampler", sampler), ("zenlearn_pruner", pruner)):
        created.set_user_attr(key, value)
    return base_d
