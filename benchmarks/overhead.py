"""Whole-process overhead of one `zenlearn train`: wall time of the process minus `train_seconds`.

Runs `zenlearn train --data mnist --model seed-cnn --epochs 1 --val-split 0` (report on, the default) as a
fresh process, N times, and prints the wall time, the training time, their difference and the run's
`timings` block. With `--baseline SRC` (another checkout's `src/`, e.g. the code before issue 17), the two
alternate in one run, so both see the same machine.

    ZENLEARN_DATA=../shared/datasets python benchmarks/overhead.py --repeats 3 --baseline /path/to/old/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARGS = ["train", "--data", "mnist", "--model", "seed-cnn", "--epochs", "1", "--val-split", "0", "--quiet"]


def run_once(src: str | None, out: Path, extra: list[str]) -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "zenlearn", *ARGS, *extra, "--out", str(out)], env=env,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"zenlearn train failed ({r.returncode}): {r.stderr[-2000:]}")
    s = json.loads((out / "summary.json").read_text())
    return {"wall": wall, "train": s["train_seconds"], "overhead": wall - s["train_seconds"],
            "timings": s.get("timings"), "accuracy": s["test"]["accuracy"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--baseline", default=None, help="src/ folder of the code to compare with")
    p.add_argument("--extra", nargs="*", default=[], help="more train flags (e.g. --threads 2)")
    a = p.parse_args()
    contenders = {"zenlearn": None} | ({"baseline": a.baseline} if a.baseline else {})
    results: dict[str, list[dict]] = {k: [] for k in contenders}
    with tempfile.TemporaryDirectory() as tmp:
        for name, src in contenders.items():  # warm-up: the decoded MNIST copy, the OS file cache
            run_once(src, Path(tmp) / f"warm-{name}", a.extra)
        for i in range(a.repeats):
            for name, src in contenders.items():
                r = run_once(src, Path(tmp) / f"{name}-{i}", a.extra)
                results[name].append(r)
                print(f"{name:<9} run {i + 1}: wall {r['wall']:.2f} s, training {r['train']:.2f} s, "
                      f"overhead {r['overhead']:.2f} s, test acc {r['accuracy']:.4f}", flush=True)
                if r["timings"]:
                    print("           timings: " + ", ".join(f"{k} {v:.2f}" for k, v in r["timings"].items()))
    for name, rs in results.items():
        o = [r["overhead"] for r in rs]
        print(f"{name:<9} overhead median {statistics.median(o):.2f} s (min {min(o):.2f}, max {max(o):.2f}); "
              f"training median {statistics.median(r['train'] for r in rs):.2f} s")


if __name__ == "__main__":
    main()
