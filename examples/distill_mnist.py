"""Hinton-style knowledge distillation on MNIST, sized for a CPU budget.

Hinton, Vinyals & Dean (2015): a 1200-1200 ReLU teacher (dropout, jittered inputs) makes 67 test errors;
an 800-800 student trained alone makes 146; the same student trained on the teacher's soft targets at
T = 20 makes 74. This script runs the same protocol with zenlearn, smaller:

1. teacher: MLP 1200-1200, dropout 0.5, inputs jittered by up to 2 pixels (`--teacher-augment`), cosine
   LR decay; trained once;
2. seed 0: `distill --sweep temperature=1,2,4,8,20 alpha=0.5,0.9` — every (T, alpha) scored on the
   validation split only; the best one is the distilled student, tested once. The student (800-800, no
   dropout, no jitter — as in the paper) is trained from scratch with the same seed and settings;
3. seeds 1, 2, …: the same student from scratch and distilled at the chosen (T, alpha), tested once each;
4. mean ± standard deviation over seeds of the test errors, and of the paired gap scratch − distilled,
   written to `<out>/results.json` and `<out>/results.md`.

Run: `ZENLEARN_DATA=../shared/datasets python examples/distill_mnist.py --out runs/distill-mnist`
(the numbers in docs/benchmarks.md come from the defaults: all 54,000 training images, 15.5 minutes
with `--threads 1` on a 2-core machine; `--train-subset 5000 --teacher-epochs 3 --student-epochs 2` is a
3-minute smoke run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from zenlearn.config import DistillConfig, TrainConfig
from zenlearn.io.atomic import write_text
from zenlearn.workflows.distill import distill_run
from zenlearn.workflows.train import train_run

HINTON = {"teacher": 67, "student_scratch": 146, "student_distilled": 74}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/distill-mnist")
    p.add_argument("--train-subset", type=int, default=None,
                   help="training samples (of those left after the split); default: all")
    p.add_argument("--val-split", type=float, default=0.1)
    p.add_argument("--teacher-epochs", type=int, default=20)
    p.add_argument("--teacher-augment", default="width_shift_range=2,height_shift_range=2",
                   help="the teacher's input jitter (zenlearn --augment syntax); 'none' to switch it off")
    p.add_argument("--student-epochs", type=int, default=10)
    p.add_argument("--student-hidden", default="800,800", help="Hinton's student is 800,800")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--sweep", nargs="+", default=["temperature=1,2,4,8,20", "alpha=0.5,0.9"])
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    args = p.parse_args()
    out = Path(args.out)
    common = dict(data="mnist", model="mlp", batch_size=128, train_subset=args.train_subset, val_split=args.val_split,
                  schedule="cosine", threads=args.threads, report=False)
    augment = None if args.teacher_augment.lower() == "none" else args.teacher_augment
    times: dict[str, float] = {}

    t0 = time.perf_counter()
    teacher_dir = out / "teacher"
    if not (teacher_dir / "summary.json").is_file():
        train_run(TrainConfig(**common, hidden=(1200, 1200), dropout=0.5, augment=augment,
                              epochs=args.teacher_epochs,
                              out=str(teacher_dir), overwrite=True))
    times["teacher"] = time.perf_counter() - t0

    from zenlearn.distill.methods import parse_sweep

    sweep = parse_sweep(args.sweep)
    student = TrainConfig(**common, hidden=tuple(int(h) for h in args.student_hidden.split(",")),
                          epochs=args.student_epochs)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs, chosen = [], None
    for seed in seeds:
        t0 = time.perf_counter()
        cfg = student.replace(seed=seed, out=str(out / f"seed{seed}"), overwrite=True)
        if chosen is None:  # the first seed tunes (T, alpha) on the validation split
            s = distill_run(cfg, DistillConfig(teacher=str(teacher_dir)), sweep=sweep)
            chosen = DistillConfig(teacher=str(teacher_dir), temperature=s["student_distilled"]["temperature"],
                                   alpha=s["student_distilled"]["alpha"])
        else:
            s = distill_run(cfg, chosen)
        times[f"seed{seed}"] = time.perf_counter() - t0
        runs.append(s)

    errors = {k: [r[k]["test"]["errors"] for r in runs] for k in HINTON}
    gaps = [r["test_error_gap"] for r in runs]

    def ms(v: list[float]) -> str:
        return f"{statistics.mean(v):.1f} ± {statistics.stdev(v) if len(v) > 1 else 0.0:.1f}"

    res = {"seeds": seeds, "chosen": {"temperature": chosen.temperature, "alpha": chosen.alpha, "split": "val"},
           "test_errors": errors, "gap_scratch_minus_distilled": gaps, "hinton_2015": HINTON,
           "params": {k: runs[0][k]["params"] for k in HINTON}, "seconds": times,
           "settings": {"train_subset": args.train_subset, "teacher_epochs": args.teacher_epochs,
                        "teacher": "mlp 1200-1200, dropout 0.5, augment " + str(augment),
                        "student_epochs": args.student_epochs, "student_hidden": args.student_hidden,
                        "sweep": args.sweep, "val_split": args.val_split, "batch_size": 128,
                        "optimizer": "adam lr 1e-3, cosine decay"}}
    rows = ["| model | params | test errors (mean ± sd over seeds) | per seed | Hinton et al. 2015 |",
            "|---|---:|---:|---|---:|"]
    for k in HINTON:
        rows.append(f"| {k} | {res['params'][k]:,} | {ms(errors[k])} | {', '.join(map(str, errors[k]))} | {HINTON[k]} |")
    rows.append(f"| gap scratch − distilled | | {ms(gaps)} | {', '.join(map(str, gaps))} | 72 |")
    text = "\n".join(rows) + (f"\n\nchosen on the validation split (seed {seeds[0]}): T = {chosen.temperature:g}, "
                              f"alpha = {chosen.alpha:g}; wall seconds: " +
                              ", ".join(f"{k} {v:.0f}" for k, v in times.items()) + "\n")
    write_text(out / "results.json", json.dumps(res, indent=2))
    write_text(out / "results.md", text)
    print(text)


if __name__ == "__main__":
    main()
