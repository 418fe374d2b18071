"""One trial of `zenlearn tune`: a searched config trained into `OUT/trials/trial-NNNN/`, its validation
metric reported every epoch to the pruner; the run's `state.json` says how the trial ended.

A trial folder's `state.json` is every run's (running with its heartbeat, finished, stopped, failed with
its reason, or interrupted: read by `RunDir.read_state`), plus a `trial` block: the study, trial number,
searched params, metric and the outcome (running, complete, pruned, failed), with the metric's value and,
for a pruned trial, the epoch it was stopped after. A trial whose worker died reads as "interrupted";
Optuna fails and retries it.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zenlearn.config import TrainConfig
from zenlearn.config.fields import show
from zenlearn.errors import one_line
from zenlearn.io.rundir import RunDir
from zenlearn.training.pruning import Pruning
from zenlearn.workflows.parallel.outage import RERUN, STORAGE_TIMEOUT, StorageUnavailable, at_once
from zenlearn.workflows.parallel.urls import scrub
from zenlearn.workflows.train import train_run
from zenlearn.workflows.tune.space import Param, format_params

TRIALS = "trials"
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("none", "median", "hyperband", "asha")


def make_sampler(name: str, params: list[Param], seed: int) -> Any:
    """The Optuna sampler for `--sampler` (seeded, so a study repeats)."""
    import optuna

    if name == "grid":
        return optuna.samplers.GridSampler({p.name: p.grid() for p in params}, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(name: str, epochs: int) -> Any:
    """The Optuna pruner for `--pruner`; steps are epochs trained (1 … `epochs`).

    - median: stop a trial below the median of earlier trials at the same epoch (after 4 trials, from epoch 2);
    - hyperband: Hyperband (Li et al. 2018) over brackets of successive halving, reduction factor 3, from
      1 epoch to `epochs`: the brackets that start late hedge against judging too early;
    - asha: one bracket of (asynchronous) successive halving, reduction factor 3: rungs after 1, 3, 9, …
      epochs keep the best third. The most aggressive; with few epochs Hyperband's later brackets can hardly
      prune (with 4 epochs, only after epoch 3), so this is the one that saves most there.

    Example:
        >>> type(make_pruner("asha", 4)).__name__, type(make_pruner("hyperband", 4)).__name__
        ('SuccessiveHalvingPruner', 'HyperbandPruner')
    """
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1), reduction_factor=3)
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=0)
    return optuna.pruners.NopPruner()


def trial_dir(out: str | Path, number: int) -> Path:
    return Path(out) / TRIALS / f"trial-{number:04d}"


@dataclass
class TuneJob:
    """What each worker of one `tune` invocation does: finish `trials` trials of study `study_name`."""

    storage: str
    study_name: str
    base: TrainConfig
    params: list[Param]
    metric: str
    sampler: str
    pruner: str
    trials: int
    out: str
    threads: int = 1
    deadline: float | None = None
    storage_timeout: float = STORAGE_TIMEOUT
    invocation: str = field(default_factory=lambda: f"{socket.gethostname()}-{time.time_ns()}")
    verbose: bool = False
    """Print one line per finished or pruned trial (`[3/24] trial 7 pruned after epoch 2: …`)."""
    noun, rerun = "trials", RERUN

    def load_study(self, storage: Any, worker: int) -> Any:
        import optuna

        study = optuna.load_study(study_name=self.study_name, storage=storage,
                                  pruner=make_pruner(self.pruner, self.base.epochs))
        # seeded by --seed, the worker and the trials so far: a fresh study repeats, a continued one draws anew
        seed = self.base.seed + 1000 * worker + len(study.get_trials(deepcopy=False))
        study.sampler = make_sampler(self.sampler, self.params, seed)
        return study

    def next_action(self, study: Any) -> str:
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        mine = [t for t in trials if t.user_attrs.get("invocation") == self.invocation]
        done = sum(counts_as_done(t) for t in mine)
        running = sum(t.state == TrialState.RUNNING for t in mine)
        if done >= self.trials or (self.deadline is not None and time.time() >= self.deadline):
            return "done"
        if self.sampler == "grid" and grid_exhausted(trials, self.params):
            return "done"
        return "run" if done + running < self.trials else "wait"

    def claim(self, trial: Any) -> None:
        """Mark a new trial as this invocation's: from now on `next_action` counts it."""
        trial.set_user_attr("invocation", self.invocation)

    def objective(self, trial: Any) -> float:
        import optuna

        values = {p.name: p.suggest(trial) for p in self.params}
        run = trial_dir(self.out, trial.number)
        cfg = self.base.replace(**values, out=str(run), overwrite=True, threads=self.threads)
        trial_info = {"study": self.study_name, "number": trial.number, "outcome": "running",
                      "params": {k: show(v) for k, v in values.items()}, "metric": self.metric}
        trial.set_user_attr("run_dir", str(run.resolve()))
        trial.set_user_attr("host", socket.gethostname())

        def ended(state: str, **outcome: Any) -> None:  # the run's final state, with how the trial ended
            rd = RunDir(run)
            if rd.path.is_dir():
                kept = {k: v for k, v in rd.read_state().items() if k in ("command", "reason")}
                rd.write_state(state, **kept, trial={**trial_info, **outcome})

        def report(epoch: int, value: float) -> bool:
            try:
                with at_once():  # training never waits for the database: a report is held, pruning skipped
                    trial.report(value, epoch + 1)
                    return trial.should_prune()
            except StorageUnavailable:
                return False

        pruning = Pruning(self.metric, report)
        t0 = time.perf_counter()
        try:
            summary = train_run(cfg, verbose=False, evaluate_test=False, callbacks=[pruning],
                                state={"trial": trial_info})
        except KeyboardInterrupt:
            raise  # the run wrote "stopped"
        except Exception as e:
            msg = scrub(one_line(e), self.storage)
            trial.set_user_attr("error", msg)
            ended("failed", outcome="failed", error=msg)
            raise
        value = float(summary["val"][self.metric.removeprefix("val_")])
        trial.set_user_attr("epochs", summary["epochs"])
        trial.set_user_attr("seconds", round(time.perf_counter() - t0, 3))
        trial.set_user_attr("value", value)
        seconds = time.perf_counter() - t0
        if pruning.pruned_epoch is not None:
            epoch = pruning.pruned_epoch + 1
            ended("finished", outcome="pruned", value=value, pruned_after_epoch=epoch)
            self._say(trial, f"pruned after epoch {epoch}", value, values, seconds)
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")
        ended("finished", outcome="complete", value=value)
        self._say(trial, "complete", value, values, seconds)
        return value

    def _say(self, trial: Any, how: str, value: float, values: dict[str, Any], seconds: float) -> None:
        """`[i/N] trial 7 complete: val_accuracy 0.9512  lr=0.00131 optimizer=adam  (12.3s)`, as compare's `[i/N]`."""
        if not self.verbose:
            return
        try:  # this invocation's trials done so far, this one included (every worker counts the same way)
            with at_once():  # a line never waits for the database
                trials = trial.study.get_trials(deepcopy=False)
            mine = [t for t in trials if t.user_attrs.get("invocation") == self.invocation]
            done = str(sum(counts_as_done(t) for t in mine if t.number != trial.number) + 1)
        except Exception:  # noqa: BLE001 - a storage hiccup costs the count, never the trial
            done = "?"
        print(f"[{done}/{self.trials}] trial {trial.number} {how}: {self.metric} {value:.4g}  "
              f"{format_params(values)}  ({seconds:.1f}s)", flush=True)



def counts_as_done(t: Any) -> bool:
    """A trial that used up one of `--trials`: complete, pruned, or failed by its own error (a diverged
    run); a trial whose worker died is not done: it is retried."""
    from optuna.trial import TrialState

    return t.state in (TrialState.COMPLETE, TrialState.PRUNED) or (t.state == TrialState.FAIL and "error" in t.user_attrs)


def grid_exhausted(trials: list[Any], params: list[Param]) -> bool:
    """Whether every grid point has a finished trial."""
    size = 1
    for p in params:
        size *= len(p.grid())
    seen = {json.dumps(t.params, sort_keys=True) for t in trials if counts_as_done(t)}
    return len(seen) >= size
