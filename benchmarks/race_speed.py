"""The Lab race against the targets of issue 28, on this machine, in one run (run by hand).

- throughput: a 4-lane optimizer race (sgd, momentum, adagrad, adam) on mnist1d, mlp, batch 128, in one
  process a step each in turn (`run_race`), against the same four runs one after another through
  `zenlearn compare --variant` (`run_compare`, in this process too), and against four `zenlearn train`
  processes started at once (the other way the issue names). Same threads per run everywhere; no reports.
  Target: the race >= 80 % of compare's throughput (samples trained per second of wall time).
- boundary: a 2-lane spiral race (ReLU, Sigmoid) with decision boundaries drawn as the race draws them against
  the same race with none; target: <= 10 % more time per step.

Arms alternate (A B A B …) so that a busy machine's drift hits both; the best of --repeats is kept.

    python benchmarks/race_speed.py [--part throughput|boundary|all] [--epochs 10] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zenlearn.config import TrainConfig
from zenlearn.workflows import compare
from zenlearn.workflows.race import RaceSpec, run_race
from zenlearn.workflows.race import run as run

OPTIMIZERS = ("sgd", "momentum", "adagrad", "adam")


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children: on a shared machine, steadier than wall time."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _race(base: TrainConfig, lanes: list[dict], out: Path) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), _cpu()
    run_race(RaceSpec(base, lanes), out, verbose=False)
    return time.perf_counter() - t0, _cpu() - c0


def _compare(base: TrainConfig, lanes: list[dict], out: Path) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), _cpu()
    compare.run_compare(base, {}, variants=lanes, out=out, verbose=False)
    return time.perf_counter() - t0, _cpu() - c0


def _processes(base: TrainConfig, lanes: list[dict], out: Path) -> tuple[float, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(base.threads or 1)}
    t0, c0 = time.perf_counter(), _cpu()
    procs = [subprocess.Popen([sys.executable, "-m", "zenlearn", "train", "--data", base.data, "--model", base.model,
                               "--epochs", str(base.epochs), "--batch-size", str(base.batch_size), "--threads",
                               str(base.threads), "--optimizer", lane["optimizer"], "--no-report", "--quiet",
                               "--out", str(out / lane["optimizer"])], env=env, stdout=subprocess.DEVNULL)
             for lane in lanes]
    for p in procs:
        assert p.wait() == 0
    return time.perf_counter() - t0, _cpu() - c0


def throughput(epochs: int, repeats: int, threads: int, tmp: Path) -> None:
    base = TrainConfig(data="mnist1d", model="mlp", batch_size=128, epochs=epochs, threads=threads, report=False)
    lanes = [{"optimizer": o} for o in OPTIMIZERS]
    samples = 3600 * epochs * len(lanes)  # 4,000 training series, a tenth held out for validation
    arms = {"race (one process, a step each in turn)": _race, "compare --variant (one after another)": _compare,
            "4 train processes at once": _processes}
    _race(base.replace(epochs=1), lanes[:2], tmp / "warm-race")  # first-use costs (imports, the data) off the clock
    _compare(base.replace(epochs=1), lanes[:2], tmp / "warm-compare")
    best: dict[str, tuple[float, float]] = {}
    for r in range(repeats):
        for name, arm in arms.items():
            out = tmp / f"{name.split()[0]}-{r}"
            wall, cpu = arm(base, lanes, out)
            best[name] = (min(best.get(name, (wall, cpu))[0], wall), min(best.get(name, (wall, cpu))[1], cpu))
            shutil.rmtree(out, ignore_errors=True)
            print(f"  repeat {r + 1}: {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    ref = best["compare --variant (one after another)"]
    print(f"\n4 lanes x {epochs} epochs of mnist1d, mlp, batch 128, {threads} thread(s) per run; best of {repeats} "
          f"(throughput: samples trained per second; ratio: of compare's)")
    for name, (wall, cpu) in best.items():
        print(f"  {name:<42} wall {wall:6.2f} s {samples / wall:7.0f}/s {ref[0] / wall:6.1%}   "
              f"CPU {cpu:6.2f} s {samples / cpu:7.0f}/s {ref[1] / cpu:6.1%}")


def boundary(epochs: int, repeats: int, threads: int, tmp: Path) -> None:
    base = TrainConfig(data="spiral", model="mlp", hidden=(16, 16), batch_size=16, epochs=epochs, threads=threads,
                       report=False)
    lanes = [{"activation": "relu"}, {"activation": "sigmoid"}]
    drawn, plain = run.is_2d, lambda spec, categorical: False
    best: dict[str, tuple[float, float]] = {}
    frames = 0
    for r in range(repeats):
        for name, test in (("with boundaries", drawn), ("without", plain)):
            run.is_2d = test
            out = tmp / f"spiral-{r}-{name[:4]}"
            wall, cpu = _race(base, lanes, out)
            best[name] = (min(best.get(name, (wall, cpu))[0], wall), min(best.get(name, (wall, cpu))[1], cpu))
            if test is drawn:
                frames = (out / "events.jsonl").read_text().count('"kind": "boundary"')
            shutil.rmtree(out, ignore_errors=True)
            print(f"  repeat {r + 1}: {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    run.is_2d = drawn
    steps = 2 * epochs * 45  # 720 training points (1,000, a fifth for testing, a tenth of the rest for validation) / 16
    print(f"\nspiral, 2 lanes x {epochs} epochs ({steps} steps), mlp 16,16, batch 16; {frames} boundary images "
          f"(last run); best of {repeats}:")
    for name, (wall, cpu) in best.items():
        print(f"  {name:<16} wall {wall:6.2f} s {1e3 * wall / steps:6.3f} ms/step   CPU {cpu:6.2f} s "
              f"{1e3 * cpu / steps:6.3f} ms/step")
    (w1, c1), (w0, c0) = best["with boundaries"], best["without"]
    print(f"  boundaries add {w1 / w0 - 1:+.1%} wall, {c1 / c0 - 1:+.1%} CPU to the race's time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", default="all", choices=["throughput", "boundary", "all"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="race-bench-"))
    try:
        if args.part in ("throughput", "all"):
            throughput(args.epochs, args.repeats, args.threads, tmp)
        if args.part in ("boundary", "all"):
            boundary(args.epochs, args.repeats, args.threads, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
