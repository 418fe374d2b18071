"""Issue 15 figures: parallel compare speed-up, and what pruning saves in a tune study.

1. `compare` of 4 optimizers x 2 seeds (MLP, MNIST, 1 epoch), `--workers 2` against `--workers 1 --threads 1`
   in the same run: per-cell test metrics must be identical, the wall time <= 0.6x.
2. `tune` of the MLP over lr=log:1e-5:1 optimizer=sgd,momentum,adam (--trials, --epochs; defaults 24 and 4),
   each pruner of `--pruners` (default none,hyperband,asha) for study seeds 0 1 2: total epochs trained,
   the saving against `none`, and the best validation accuracy (mean ± std). Studies run two at a time,
   one thread each.

Usage:
    ZENLEARN_DATA=../shared/datasets python benchmarks/tune_scaleout.py [--only compare|prune]
        [--train-subset N] [--trials 24] [--epochs 4] [--pruners none,hyperband,asha] [--out runs/bench-tune]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ZL = [sys.executable, "-m", "zenlearn"]


def run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def bench_compare(out: Path) -> dict:
    base = [*ZL, "compare", "--data", "mnist", "--model", "mlp", "--epochs", "1", "--vary",
            "optimizer=sgd,momentum,adagrad,adam", "--seeds", "2", "--quiet", "--no-report"]
    seq = run([*base, "--workers", "1", "--threads", "1", "--out", str(out / "seq")])
    par = run([*base, "--workers", "2", "--out", str(out / "par")])
    cols = ("variant", "seed", "test_loss", "test_accuracy", "val_loss", "val_accuracy")
    a, b = rows(out / "seq" / "results.csv"), rows(out / "par" / "results.csv")
    same = [{k: r[k] for k in cols} for r in a] == [{k: r[k] for k in cols} for r in b]
    return {"sequential_s": seq, "workers2_s": par, "ratio": par / seq, "identical": same,
            "cells": [{k: r[k] for k in ("variant", "seed", "test_accuracy")} for r in b]}


def bench_prune(out: Path, subset: int | None, trials: int, epochs: int,
                pruners: tuple[str, ...] = ("none", "hyperband", "asha")) -> dict:
    res: dict = {p: [] for p in pruners}
    jobs = [(seed, pruner) for seed in (0, 1, 2) for pruner in pruners]
    for i in range(0, len(jobs), 2):  # two studies at a time, one thread each
        procs = []
        for seed, pruner in jobs[i:i + 2]:
            cmd = [*ZL, "tune", "--data", "mnist", "--model", "mlp", "--epochs", str(epochs), "--threads", "1",
                   "--search", "lr=log:1e-5:1", "optimizer=sgd,momentum,adam", "--trials", str(trials),
                   "--pruner", pruner, "--seed", str(seed), "--out", str(out / f"{pruner}-{seed}"), "--quiet"]
            if subset:
                cmd += ["--train-subset", str(subset)]
            procs.append((seed, pruner, subprocess.Popen(cmd, stdout=subprocess.DEVNULL)))
        for seed, pruner, p in procs:
            assert p.wait() == 0, pruner
            m = json.loads((out / f"{pruner}-{seed}" / "tune.json").read_text())
            states = [r["state"] for r in rows(out / f"{pruner}-{seed}" / "study.csv")]
            res[pruner].append({"seed": seed, "epochs": m["epochs_trained"], "best": m["best"]["value"],
                                "trials": m["trials"], "pruned": states.count("pruned")})
    for pruner in pruners:
        bests = [r["best"] for r in res[pruner]]
        res[f"{pruner}_summary"] = {"epochs": sum(r["epochs"] for r in res[pruner]),
                                    "pruned": sum(r["pruned"] for r in res[pruner]),
                                    "best_mean": statistics.mean(bests), "best_std": statistics.stdev(bests)}
    if "none" in pruners:
        for pruner in pruners:
            if pruner != "none":
                res[f"{pruner}_epoch_saving"] = 1 - res[f"{pruner}_summary"]["epochs"] / res["none_summary"]["epochs"]
                res[f"{pruner}_best_gap_points"] = 100 * (res["none_summary"]["best_mean"]
                                                          - res[f"{pruner}_summary"]["best_mean"])
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("compare", "prune"))
    ap.add_argument("--train-subset", type=int, default=None)
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--pruners", default="none,hyperband,asha", help="comma-separated --pruner values")
    ap.add_argument("--out", default="runs/bench-tune")
    a = ap.parse_args()
    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    result = {}
    if a.only in (None, "compare"):
        result["compare"] = bench_compare(out / "compare")
        print(json.dumps(result["compare"], indent=2), flush=True)
    if a.only in (None, "prune"):
        result["prune"] = bench_prune(out / "prune", a.train_subset, a.trials, a.epochs,
                                      tuple(a.pruners.split(",")))
        print(json.dumps(result["prune"], indent=2), flush=True)
    (out / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
