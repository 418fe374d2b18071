"""`run_race`: a lab race in one process. Every lane is an ordinary `train_run` into its own run folder, all of
them from the same seed (the same initial weights when the architecture is the same, the same batch order) and
the same loaded data; they take turns one step at a time (`Turns`), and the race folder ends as a normal
comparison folder, the same files `zenlearn compare` writes.

Race folder (`out`): everything a comparison folder holds (`runs/<lane>/seed-<s>/`, results.csv, summary.csv,
compare.json, plots), plus `race.json` (lanes, step limit, steps per epoch, whether boundaries are drawn),
`events.jsonl` (every lane's progress, epochs, boundaries and changes, for the page) and `control.json` (the
page's commands). SIGTERM stops every lane at its next step; the lanes are evaluated and saved, then the race
exits with 143 and reads "stopped".
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from zenlearn.data import resolve_data
from zenlearn.distill.methods import TeacherLogits, bind
from zenlearn.errors import UsageError, one_line
from zenlearn.io.atomic import write_text
from zenlearn.io.live import lives, started
from zenlearn.io.rundir import ERROR, EVENTS, RACE, RunDir, make_dir, write_json
from zenlearn.nn.tasks import get_task
from zenlearn.training.build import (
    applicable_config,
    load_run,
    make_loaders,
    open_splits,
    seed_everything,
)
from zenlearn.training.device import resolve_device, set_threads
from zenlearn.training.resume import Interrupted, StopSignals
from zenlearn.workflows.compare import CompareResult, check_plan, run_config, run_row, write_comparison, write_plan
from zenlearn.workflows.distill import check_same_data
from zenlearn.workflows.race.boundary import Boundary, is_2d
from zenlearn.workflows.race.control import Inbox, check_command
from zenlearn.workflows.race.lane import LaneControl, RaceLog
from zenlearn.workflows.race.spec import RaceSpec, lane_text, train_values
from zenlearn.workflows.race.turns import Turns
from zenlearn.workflows.train import train_run
from zenlearn.workflows.variants import explicit_variants

POLL_SECONDS = 0.1
"""How often the race looks at `control.json` and for a stop signal."""


@lives("race")
def run_race(spec: RaceSpec, out: str | Path | None = None, *, verbose: bool = True) -> CompareResult:
    """Train every lane of `spec` in this process, one step each in turn, into the comparison folder `out`.

    Args:
        spec: The race (checked here: bad input writes nothing).
        out: The race folder. Defaults to `spec.base.out`, else runs/race-<time>.
        verbose: Print a line per lane and the final table. Defaults to True.

    Example:
        >>> from zenlearn.config import TrainConfig
        >>> base = TrainConfig(data="mnist1d", model="mlp", hidden=(16,), epochs=1, train_subset=256, report=False)
        >>> res = run_race(RaceSpec(base, [{"optimizer": "sgd"}, {"optimizer": "adam"}]), tmp / "race", verbose=False)
        >>> [r["variant"] for r in res.summary], sorted(p.name for p in (tmp / "race").glob("*.json"))
        (['optimizer=sgd', 'optimizer=adam'], ['compare.json', 'race.json', 'state.json'])
    """
    spec.check()
    base = spec.base
    out = Path(out or base.out or f"runs/race-{time.strftime('%Y%m%d-%H%M%S')}")
    vary, variants = explicit_variants(spec.lanes, base)
    plan = [(v, base.seed, run_config(base, replace(v, values=train_values(v.values)), base.seed, out))
            for v in variants]
    check_plan(plan, out, False, base.overwrite)
    device = resolve_device(base.device)
    data_cfg = applicable_config(base.replace(data=resolve_data(base.data), out=str(out),
                                              test_data=os.path.abspath(base.test_data) if base.test_data else None))
    teacher = _teacher(spec.teacher, data_cfg, device) if spec.teacher else None
    set_threads(data_cfg.threads)
    seed_everything(data_cfg.seed)
    splits = open_splits(data_cfg.replace(seed=teacher[1] if teacher else data_cfg.seed), device)  # once for all lanes
    spec.check_data(splits.spec)
    if teacher is not None and splits.spec != teacher[2]:
        raise UsageError(f"the teacher {spec.teacher} was trained on data prepared differently; distil from a teacher "
                         f"trained on the race's data")
    logits = TeacherLogits(teacher[0]) if teacher else None  # computed once, shared by every distilling lane
    steps = len(make_loaders(data_cfg, splits)[0])
    categorical = get_task(splits.spec.task).categorical
    boundary = (Boundary(splits.images(splits.train) * splits.spec.scale, splits.labels(splits.train),
                         splits.spec.num_outputs, splits.spec.extent) if is_2d(splits.spec, categorical) else None)
    make_dir(out)
    started(RunDir(out))
    write_plan(out, base, vary, [base.seed], variants)  # a comparison folder from the start, finished at the end
    lanes = [{"name": v.name, "values": spec.lanes[i], "text": lane_text(spec.lanes[i]),
              "run": Path(str(cfg.out)).relative_to(out).as_posix()} for i, (v, _, cfg) in enumerate(plan)]
    write_json(out / RACE, {"format": 1, "lanes": lanes,
                            "max_steps": spec.max_steps, "steps_per_epoch": steps, "epochs": base.epochs,
                            "boundary": boundary is not None, "task": splits.spec.task, "teacher": spec.teacher,
                            "compare_command": spec.compare_command(str(out))})
    log = RaceLog(out / EVENTS, time.perf_counter())
    turns = Turns(len(plan))
    controls = [LaneControl(i, turns, log, cfg.out, steps=steps, max_steps=spec.max_steps,  # type: ignore[arg-type]
                            boundary=boundary) for i, (_, _, cfg) in enumerate(plan)]
    ended: list[tuple[dict[str, Any] | None, str]] = [(None, "not run")] * len(plan)
    log.append("race", lanes=len(plan), steps=steps, epochs=base.epochs, max_steps=spec.max_steps,
               boundary=boundary is not None)

    def lane(i: int) -> None:
        cfg, dcfg, made = plan[i][2], spec.distill_config(spec.lanes[i]), []
        factory = bind(dcfg.method, teacher[0], dcfg, logits) if dcfg and teacher else None
        loss = (lambda *args: made.append(factory(*args)) or made[-1]) if factory else None
        turns.wait(i)
        try:
            ended[i] = (train_run(cfg.replace(overwrite=True), verbose=False, splits=splits, loss=loss,
                                  callbacks=[controls[i]]), "")
        except Exception as e:  # noqa: BLE001 - a failed lane is a result; the others race on
            ended[i] = (None, one_line(e))
            if Path(cfg.out).is_dir():  # type: ignore[arg-type]
                write_text(Path(cfg.out) / ERROR, ended[i][1] + "\n")  # type: ignore[arg-type]
        finally:
            for m in made:  # a distillation loss's hooks
                getattr(m, "close", lambda: None)()
            turns.leave(i)
            log.append("lane_end", lane=i, error=ended[i][1], stopped=controls[i].stopped_by,
                       test=(ended[i][0] or {}).get("test"))

    threads = [threading.Thread(target=lane, args=(i,), name=f"zenlearn-lane-{i}", daemon=True)
               for i in range(len(plan))]
    signum = _drive(threads, controls, Inbox(out), log)
    log.append("lanes_done")
    rows = []
    for i, (variant, seed, cfg) in enumerate(plan):
        summary, error = ended[i]
        status = "failed" if summary is None else "stopped" if controls[i].stopped_by else "ok"
        run_dir = Path(cfg.out)  # type: ignore[arg-type]
        rows.append(run_row(variant, seed, run_dir, out, summary, status=status, error=error))
        if verbose:
            print(f"lane {i + 1} ({variant.name}): {status}{': ' + error if error else ''}", flush=True)
    result = write_comparison(out, base, vary, [base.seed], variants, rows, verbose=verbose)
    log.append("saved", best=result.best, metric=result.metric)
    log.close()
    if signum is not None:
        name = signal.Signals(signum).name
        raise Interrupted(f"race stopped by {name}; its lanes are saved as a comparison in {out}", 128 + signum)
    return result


def _teacher(path: str, cfg: Any, device: Any) -> tuple[Any, int, Any]:
    """The teacher's model, split seed and data spec; its data must be the race's (`check_same_data`)."""
    t_cfg, t_spec, t_trainer = load_run(path, device=str(device))
    check_same_data(cfg, t_cfg, path)
    return t_trainer.model, t_cfg.seed, t_spec


def _drive(threads: list[threading.Thread], controls: list[LaneControl], inbox: Inbox, log: RaceLog) -> int | None:
    """Start the lanes; until they end, pass the page's commands on and turn a stop signal into a stop of every
    lane. Returns the signal that stopped the race, or None."""
    with StopSignals() as signals:
        for t in threads:
            t.start()
        stopping = False
        while any(t.is_alive() for t in threads):
            for command in inbox.new():
                try:
                    checked = check_command(command, len(controls))
                except UsageError as e:
                    log.append("refused", id=command.get("id"), error=str(e))
                    continue
                controls[checked["lane"]].commands.append({**checked, "id": command.get("id")})
            if signals.signum is not None and not stopping:
                stopping = True
                for c in controls:
                    c.commands.append({"action": "stop", "by": signal.Signals(signals.signum).name})
            time.sleep(POLL_SECONDS)
        return signals.signum

