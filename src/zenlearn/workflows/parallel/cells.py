"""A fixed grid of cells (compare's variant × seed) spread over processes and machines, on the same
Optuna engine as `tune`: each cell is an enqueued trial, so workers share it through the storage, a
killed worker's cell is retried, and the rows come back in plan order whatever order they finished in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenlearn.io.rundir import CELLS_DB
from zenlearn.workflows.parallel.outage import STORAGE_TIMEOUT
from zenlearn.workflows.parallel.storage import default_storage, open_storage, resolve_storage
from zenlearn.workflows.parallel.workers import check_exits, run_workers


def plan_key(cells: list[Any]) -> str:
    """A name for the grid that every machine running the same command derives alike."""
    return hashlib.sha1(json.dumps(cells, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass
class CellsJob:
    """What each worker does: run enqueued cells (`run_cell(index) -> row`) until none is left."""

    storage: str
    study_name: str
    cells: int
    run_cell: Callable[[int], dict[str, Any]]
    threads: int = 1
    storage_timeout: float = STORAGE_TIMEOUT
    rerun: str = "rerun the same command with --resume to continue"
    noun = "runs"

    def load_study(self, storage: Any, worker: int) -> Any:
        import optuna

        return optuna.load_study(study_name=self.study_name, storage=storage)

    def next_action(self, study: Any) -> str:
        from optuna.trial import TrialState

        states = [t.state for t in study.get_trials(deepcopy=False)]
        if TrialState.WAITING in states:
            return "run"
        return "wait" if TrialState.RUNNING in states else "done"

    def claim(self, trial: Any) -> None:
        """Nothing to mark: a cell is claimed by popping it from the queue."""

    def objective(self, trial: Any) -> float:
        import optuna

        frozen = next(t for t in trial.study.get_trials(deepcopy=False) if t.number == trial.number)  # public API
        if "fixed_params" not in frozen.system_attrs and "cell" not in frozen.params:
            raise optuna.TrialPruned("no queued cell left")  # another worker took the last one first
        cell = trial.suggest_int("cell", 0, self.cells - 1)
        row = self.run_cell(cell)
        trial.set_user_attr("row", json.dumps(row, default=str))
        return 0.0


def run_cells(n: int, run_cell: Callable[[int], dict[str, Any]], *, key: str, out: Path, storage: str | None,
              workers: int, threads: int, fresh: bool = False,
              storage_timeout: float = STORAGE_TIMEOUT, rerun: str = CellsJob.rerun,
              on_row: Callable[[int, dict[str, Any] | None], None] | None = None) -> list[dict[str, Any] | None]:
    """Run cells 0 … n-1 over `workers` processes sharing `storage`; returns their rows in cell order.

    The one execution path of compare, distill's sweep and reproduce: with one worker and no storage the cells
    run here, one after another, with no storage and no Optuna; otherwise they are enqueued trials of a study
    that every worker (on any machine) pops.

    Args:
        n: Number of cells.
        run_cell: `run_cell(i) -> row` (picklable: a module-level function or a `functools.partial`).
        key: Names the grid's study (`plan_key`): the same plan on another machine joins it.
        out: Folder of the default SQLite storage (`cells.db`).
        storage: Optuna storage URL. Defaults to `$ZENLEARN_STORAGE`, else sqlite in `out`.
        workers: Processes on this machine.
        threads: Torch threads of each process.
        fresh: Start the grid over (not --resume) when its storage is this folder's own SQLite file; a
            shared `--storage` is always joined. Defaults to False.
        storage_timeout: Seconds to wait for a database that stopped answering (`--storage-timeout`).
            Defaults to 120.
        rerun: How to continue when that wait ran out. Defaults to "rerun the same command with --resume …".
        on_row: Called with (i, row) as each cell finishes here, or for every cell in order after the workers
            end (a row is None when no worker finished that cell). Defaults to None.
    """
    if workers == 1 and not storage:  # in this process: run_cell may hold unpicklable state (a loaded teacher)
        rows: list[dict[str, Any] | None] = []
        for i in range(n):
            rows.append(run_cell(i))
            if on_row is not None:
                on_row(i, rows[-1])
        return rows
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = resolve_storage(storage, out, CELLS_DB)
    rdb = open_storage(url, heartbeat=False, timeout=storage_timeout, noun=CellsJob.noun, rerun=rerun)
    name = f"cells-{key}"
    if fresh and url == default_storage(out, CELLS_DB):  # this machine's own grid: start it over
        try:
            optuna.delete_study(study_name=name, storage=rdb)
        except KeyError:
            pass
    study = optuna.create_study(study_name=name, storage=rdb, load_if_exists=True)
    taken = {t.params.get("cell", t.system_attrs.get("fixed_params", {}).get("cell"))
             for t in study.get_trials(deepcopy=False)
             if t.state in (TrialState.COMPLETE, TrialState.WAITING, TrialState.RUNNING)}
    for i in range(n):
        if i not in taken:
            study.enqueue_trial({"cell": i})
    job = CellsJob(storage=url, study_name=name, cells=n, run_cell=run_cell, threads=threads,
                   storage_timeout=storage_timeout, rerun=rerun)
    codes = run_workers(job, workers)
    rows: dict[int, dict[str, Any]] = {}
    for t in sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number):
        rows.setdefault(int(t.params["cell"]), json.loads(t.user_attrs["row"]))
    check_exits(codes, finished=len(rows) == n or job.next_action(study) == "done")
    for i in range(n) if on_row is not None else ():
        on_row(i, rows.get(i))  # type: ignore[misc]
    return [rows.get(i) for i in range(n)]
