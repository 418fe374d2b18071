"""Worker processes on one Optuna study: the loop each worker runs, and `run_workers`, which starts N.

A `Job` (picklable: it travels to spawned processes) says how to open the study, what one trial does
(`objective`) and what to do next (`next_action`: run a trial, wait for running ones, or stop). Trials
run through `study.optimize`, so each has a heartbeat: a worker killed with `kill -9` leaves a trial
that the next worker to look marks failed and re-queues (`RetryFailedTrialCallback`), so nothing is lost.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Literal, Protocol

from zenlearn.errors import TrainingError, UsageError
from zenlearn.workflows.parallel.outage import StorageTimeout
from zenlearn.workflows.parallel.storage import open_storage, scrub

Action = Literal["run", "wait", "done"]
POLL_SECONDS = 1.0
DECIDE_SECONDS = 60.0  # the longest a worker waits for another to decide and claim its next trial  # how often an idle worker looks for queued or dead-worker trials
STOP_GRACE_SECONDS = 120  # after Ctrl-C, how long workers may take to checkpoint and mark their trials


class Job(Protocol):
    """What every worker of one invocation does (a picklable object)."""

    storage: str
    storage_timeout: float  # seconds to wait for a database that stopped answering
    threads: int
    noun: str  # what a worker finishes: "trials", "runs"
    rerun: str  # how to continue after the wait for the database ran out

    def load_study(self, storage: Any, worker: int) -> Any: ...
    def claim(self, trial: Any) -> None: ...
    def objective(self, trial: Any) -> float: ...
    def next_action(self, study: Any) -> Action: ...


def cpu_count() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def exit_with_parent(parent: int, every: float = 1.0) -> None:
    """In a helper process (e.g. a `ProcessPoolExecutor`'s initializer): exit as soon as process `parent` is
    gone. A pool's worker otherwise outlives a parent that was killed (`kill -9`, a crash), waiting forever on
    its task queue with the memory it holds. A daemon thread compares the parent pid every `every` seconds.

    Example:
        >>> import concurrent.futures
        >>> with concurrent.futures.ProcessPoolExecutor(
        ...         1, mp_context=mp.get_context("spawn"), initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
        ...     pool.submit(os.getpid).result() != os.getpid()
        True
    """
    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="zenlearn-exit-with-parent", daemon=True).start()


def threads_per_worker(workers: int, threads: int | None) -> int:
    """`--threads` if given, else the cores shared out: cores // workers (at least 1)."""
    return threads or max(1, cpu_count() // workers)


def work(job: Job, worker: int = 0, who: str = "", deciding: Any = None) -> None:
    """One worker: run trials until `job.next_action` says done (the loop every process runs); `who` names
    it in the lines that say it waits for the database. `deciding`, a lock shared by the workers of one
    command, is held from `next_action` until the new trial is claimed: two workers that finish together
    cannot both start the last trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # trial errors go to study.csv
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    import torch

    torch.set_num_threads(job.threads)
    # the command that started this worker has reached the database: if it does not answer now, it stopped
    storage = open_storage(job.storage, timeout=job.storage_timeout, who=who, noun=job.noun, rerun=job.rerun,
                           answered=True)
    study = job.load_study(storage, worker)
    deciding = deciding or threading.Lock()
    while True:
        turn = _Turn(deciding)
        try:
            action = job.next_action(study)
            if action == "run":
                study.optimize(turn.claiming(job), n_trials=1, catch=(Exception,), gc_after_trial=False)
        except Exception:
            if storage.patience.gave_up:  # Optuna's clean-up after a failed tell can raise its own error instead
                raise storage.patience.timed_out() from None
            raise
        finally:
            turn.end()
        if action == "done":
            return
        if action == "wait":  # another worker's trial is running; if that worker died, its heartbeat stops
            time.sleep(POLL_SECONDS)
            optuna.storages.fail_stale_trials(study)


class _Turn:
    """A worker's turn to decide what to do next, held until its new trial is claimed (or it decided not to
    start one); a worker killed during its turn blocks the others for at most `DECIDE_SECONDS`."""

    def __init__(self, lock: Any) -> None:
        self.lock, self.held = lock, lock.acquire(timeout=DECIDE_SECONDS)

    def end(self) -> None:
        if self.held:
            self.held = False
            self.lock.release()

    def claiming(self, job: Job) -> Callable[[Any], float]:
        """`job.objective`, ending the turn once the trial is claimed."""
        def objective(trial: Any) -> float:
            try:
                job.claim(trial)
            finally:
                self.end()
            return job.objective(trial)

        return objective


def _worker_main(job: Job, worker: int, lost: Any, deciding: Any) -> None:
    try:
        work(job, worker, who=f"worker {worker}", deciding=deciding)
    except StorageTimeout as e:  # the parent says it once, for every worker
        lost.put(str(e))
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except UsageError as e:
        print(f"zenlearn: worker {worker}: error: {scrub(str(e), job.storage)}", flush=True)
        raise SystemExit(2) from None


@contextlib.contextmanager
def _process_state_kept() -> Iterator[None]:
    """Run a worker in the caller's process and leave it as it was: torch's thread count, Optuna's verbosity and
    the warning filters that `work` sets for a worker process."""
    import optuna
    import torch

    threads, verbosity = torch.get_num_threads(), optuna.logging.get_verbosity()
    try:
        with warnings.catch_warnings():
            yield
    finally:
        torch.set_num_threads(threads)
        optuna.logging.set_verbosity(verbosity)


def run_workers(job: Job, workers: int) -> list[int]:
    """Run `job` in `workers` processes (in this process when 1) and wait; returns their exit codes.

    Ctrl-C (or SIGTERM) is passed on to every worker: each finishes its batch, checkpoints its run and
    marks its trial failed, so that rerunning the command continues the study. A worker whose database
    stopped answering for longer than `job.storage_timeout` stops; then this raises its `StorageTimeout`.

    Args:
        job: What each worker does.
        workers: Number of processes.

    Example:
        >>> run_workers(None, 0)
        Traceback (most recent call last):
        zenlearn.errors.UsageError: --workers must be >= 1, got 0
    """
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if workers == 1:
        with _process_state_kept():
            work(job, 0)
        return [0]
    ctx = mp.get_context("spawn")  # fresh interpreters: no forked torch thread pools or DB connections
    lost = ctx.SimpleQueue()  # the StorageTimeout message of each worker that gave up waiting
    deciding = ctx.Lock()
    procs = [ctx.Process(target=_worker_main, args=(job, i, lost, deciding), name=f"zenlearn-worker-{i}")
             for i in range(workers)]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        _stop(procs)
        raise KeyboardInterrupt("interrupted: every worker stopped (each running trial is marked failed, its run "
                                "checkpointed); rerun the same command to continue the study") from None
    if not lost.empty():
        raise StorageTimeout(lost.get())
    return [p.exitcode if p.exitcode is not None else 1 for p in procs]


def _stop(procs: list[mp.process.BaseProcess]) -> None:
    for p in procs:  # a terminal's Ctrl-C reached them already; a SIGINT sent to this process only did not
        if p.is_alive():
            os.kill(p.pid, signal.SIGINT)  # type: ignore[arg-type]
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for p in procs:
        while p.is_alive() and time.monotonic() < deadline:
            try:
                p.join(timeout=1)
            except KeyboardInterrupt:  # a second Ctrl-C: stop at once
                deadline = 0
        if p.is_alive():
            p.kill()
            p.join()


def check_exits(codes: list[int], finished: bool) -> None:
    """Raise if the workers stopped without finishing (a worker killed by a signal is fine if others took over)."""
    if finished:
        return
    if any(c == 130 for c in codes):
        raise KeyboardInterrupt("interrupted; rerun the same command to continue the study")
    raise TrainingError(f"the workers stopped before the study finished (exit codes {codes}); rerun the same command "
                   f"to continue it")
