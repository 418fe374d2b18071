"""Commands that train many runs: compare, distill, reproduce, quickstart.

Each command's parser sits next to its code; heavy modules are imported inside the command, so
`zenlearn --help` stays instant.
"""

from __future__ import annotations

import argparse

from zenlearn.cli.options import AddCommand, add_config_flags, add_fields, config_from_args
from zenlearn.cli.tune import add_parallel_flags, require_optuna
from zenlearn.config import DistillConfig, TrainConfig, field_names, load_yaml
from zenlearn.errors import UsageError


def cmd_compare(args: argparse.Namespace) -> int:
    from zenlearn.workflows.compare import parse_vary, run_compare
    from zenlearn.workflows.variants import parse_variant

    base = config_from_args(args, validate=False)  # each variant's config is validated by run_compare
    if args.parallel_workers > 1 or args.storage:
        require_optuna()
    run_compare(base, parse_vary(args.vary or []), args.seeds, base.out, args.resume, metric=args.metric,
                verbose=not args.quiet, workers=args.parallel_workers, storage=args.storage,
                storage_timeout=args.storage_timeout, variants=[parse_variant(t) for t in args.variant or []])
    return 0


def cmd_race(args: argparse.Namespace) -> int:
    from zenlearn.workflows.race import RaceSpec, run_race

    base = config_from_args(args, validate=False)  # each lane's config is checked by the race
    spec = RaceSpec.from_texts(base, args.lane or [], max_steps=args.max_steps, teacher=args.teacher)
    run_race(spec, base.out, verbose=not args.quiet)
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    from zenlearn.distill.methods import check_distill_config, parse_sweep
    from zenlearn.training.build import check_config, load_run
    from zenlearn.workflows.distill import INHERITED, distill_run

    dcfg = DistillConfig.from_dict({k: getattr(args, k) for k in field_names(DistillConfig) if hasattr(args, k)})
    check_distill_config(dcfg)
    sweep = parse_sweep(args.sweep)
    student = config_from_args(args, model=args.student)
    given = {k for k in field_names(TrainConfig) if hasattr(args, k)} | set(load_yaml(args.config) if args.config else {})
    t_cfg = load_run(dcfg.teacher)[0]
    inherited = {k: getattr(t_cfg, k) for k in INHERITED if k not in given}
    student = check_config(student.replace(**inherited))
    if not args.quiet and inherited:
        shown = {k: v for k, v in inherited.items() if v is not None}
        print("the student inherits the teacher's " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in shown.items()),
              flush=True)
    if args.parallel_workers > 1 or args.storage:
        if not sweep:
            raise UsageError("--workers/--storage share a --sweep's students between processes; add --sweep "
                             "(e.g. --sweep temperature=2,4,8) or drop them")
        require_optuna()
    s = distill_run(student, dcfg, sweep=sweep, verbose=not args.quiet, workers=args.parallel_workers,
                    storage=args.storage, storage_timeout=args.storage_timeout)
    print(f"{'(test split)':<18}{'params':>10} {'errors':>7} {'accuracy':>9} {'µs/sample':>10}")
    for name in ("teacher", "student_scratch", "student_distilled"):
        r = s[name]
        print(f"{name:<18}{r['params']:>10,} {r['test']['errors']:>7} {r['test']['accuracy']:>9.4f} "
              f"{1e3 * r['inference_ms_per_sample']:>10.2f}")
    d = s["student_distilled"]
    how = (f"T={d['temperature']:g} " if d["method"] == "kd" else "") + f"alpha={d['alpha']:g}"
    how += " (chosen on the validation split)" if s["selection"] else ""
    print(f"distilled with {d['method']} {how}; compression {s['compression_ratio']:.1f}x; "
          f"test errors scratch - distilled = {s['test_error_gap']}")
    print(f"summary: {s['out']}/summary.json")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from zenlearn.workflows.reproduce import reproduce

    budget = "quick" if args.quick else args.budget
    if args.parallel_workers > 1 or args.storage:
        require_optuna()
    reproduce(args.out, args.only, seeds=args.seeds, budget=budget, resume=args.resume, overwrite=args.overwrite,
              data_dir=args.data_dir, device=args.device, verbose=not args.quiet, workers=args.parallel_workers,
              storage=args.storage, threads=args.threads, storage_timeout=args.storage_timeout)
    return 0


def cmd_quickstart(args: argparse.Namespace) -> int:
    import time

    from zenlearn.workflows.quickstart import RECIPES, format_table, run_quickstart

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in models if m not in RECIPES]
    if bad or not models:
        raise UsageError(f"--models: expected a comma-separated subset of {','.join(RECIPES)}, got {args.models!r}")
    if args.seeds < 1:
        raise UsageError(f"--seeds: expected an integer >= 1, got {args.seeds}")
    out = args.out or time.strftime("runs/quickstart-%Y%m%d-%H%M%S")
    print(f"MNIST-1D quick start: {', '.join(models)} (generated locally, no download); run folders under {out}",
          flush=True)
    rows = run_quickstart(out, models=models, seeds=args.seeds, overwrite=args.overwrite,
                          verbose=not args.quiet, device=args.device)
    print(format_table(rows))
    return 0


def register(add: AddCommand) -> None:
    """Add the compare, distill, reproduce, quickstart commands."""
    sp = add("compare", cmd_compare, "train every combination of --vary values x --seeds (each a run folder); "
             "writes results.csv, summary.csv (mean ± std), plots and compare.json into --out")
    add_config_flags(sp)
    add_parallel_flags(sp, "runs")
    sp.add_argument("--vary", action="append", metavar="KEY=V1,V2,…",
                    help="a config key and the values to try, like optimizer=sgd,adam or lr=0.1,0.01 (repeatable: "
                         "every combination runs); tuple keys separate values with ';' (hidden=64;128,128)")
    sp.add_argument("--variant", action="append", metavar="'KEY=V KEY=V'",
                    help="one variant: the keys it changes, space separated, like 'optimizer=sgd lr=0.1' (repeatable: "
                         "each runs as listed, instead of --vary's combinations; `zenlearn race` lanes); base: no change")
    sp.add_argument("--seeds", type=int, default=1, metavar="N",
                    help="seeds per variant: --seed, --seed+1, … [default: 1]")
    sp.add_argument("--resume", action="store_true", help="skip runs whose folder under --out is complete")
    sp.add_argument("--metric", default=None, metavar="COLUMN",
                    help="results column that picks the best variant [default: val_accuracy (val_mae), else test]")
    sp.add_argument("--quiet", action="store_true", help="no progress output")

    sp = add("race", cmd_race, "train 2-6 lanes of one config side by side in one process, a step each in turn, "
             "from the same initial weights and batch order; each lane changes the optimizer (and its lr), the "
             "activation, the augmentation or the distillation temperature (--teacher); --out ends as a comparison folder (as `zenlearn compare --variant`)")
    add_config_flags(sp)
    sp.add_argument("--lane", action="append", metavar="'KEY=V KEY=V'",
                    help="one lane: what it changes, space separated, like 'optimizer=sgd lr=0.1' or activation=tanh "
                         "(repeat 2-6 times; base: no change)")
    sp.add_argument("--max-steps", type=int, default=None, metavar="N",
                    help="stop each lane after N optimizer steps (it is still evaluated and saved) [default: every epoch]")
    sp.add_argument("--teacher", default=None, metavar="RUN_DIR",
                    help="a trained teacher on the same data: lanes with temperature=T (and alpha=A) distil from it "
                         "(kd); a lane without them learns from the labels only")
    sp.add_argument("--quiet", action="store_true", help="no progress output")

    sp = add("distill", cmd_distill, "train a student from labels only and from a teacher's soft targets, "
             "then compare both with the teacher on the test set (once)")
    sp.add_argument("--teacher", required=True, metavar="RUN_DIR", help="run folder of the trained teacher")
    sp.add_argument("--student", required=True, metavar="MODEL",
                    help="student model name (see `zenlearn list models`); size it with the run options (--hidden, …)")
    add_fields(sp.add_argument_group("distillation options"), DistillConfig, skip=("teacher",))
    sp.add_argument("--sweep", nargs="+", metavar="KEY=V1,V2", help="tune on the validation split over a grid, e.g. "
                    "--sweep temperature=1,2,4,8,20 alpha=0.5,0.9; writes sweep.csv / sweep.png, then tests the "
                    "chosen setting once")
    add_config_flags(sp, skip=("model",))
    add_parallel_flags(sp, "sweep's T x alpha students")
    sp.add_argument("--quiet", action="store_true", help="no progress output")

    sp = add("reproduce", cmd_reproduce, "measure the survey's claims: models, activations, optimizers, augmentation, "
             "distillation and tables (beside scikit-learn's models, measured in the same run), each a normal "
             "compare/distill run, beside the published numbers; writes "
             "results.md (+ results/*.png) and report.html into --out")
    sp.add_argument("--out", required=True, metavar="DIR", help="output folder (run folders, results.md, report.html)")
    sp.add_argument("--only", nargs="+", metavar="NAME",
                    help="run only these experiments: models, activations, optimizers, augmentation, distillation, "
                         "tables, tables-regression, sequences")
    sp.add_argument("--seeds", type=int, default=None, metavar="N", help="seeds per row [default: the budget's]")
    sp.add_argument("--quick", action="store_true",
                    help="the quick budget: ≤ 15 min on 2 CPU cores (fewer epochs, subsets; results.md states which)")
    sp.add_argument("--budget", default="full", choices=["full", "quick", "tiny"],
                    help="full (≈ 40 min on 2 CPU cores; 41.9 min measured, docs/results.md), quick (= --quick) or tiny (seconds; a smoke test whose "
                         "numbers mean nothing) [default: full]")
    sp.add_argument("--resume", action="store_true", help="reuse the finished runs under --out (same settings)")
    sp.add_argument("--overwrite", action="store_true", help="redo runs whose folders exist under --out")
    sp.add_argument("--data-dir", default=None, help="data folder [default: $ZENLEARN_DATA, else ~/.cache/zenlearn]")
    sp.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train [default: auto]")
    sp.add_argument("--threads", type=int, default=None, metavar="N",
                    help="torch threads of every run (0: one per idle core); compare a --workers run with a "
                         "sequential one at the same threads per run [default: torch's, or cores/--workers]")
    add_parallel_flags(sp, "runs of each comparison")
    sp.add_argument("--quiet", action="store_true", help="no progress output")

    sp = add("quickstart", cmd_quickstart, "train logistic regression, MLP, CNN and GRU on MNIST-1D (offline, a few "
                                           "minutes on 2 CPU cores) and compare with the published accuracies")
    sp.add_argument("--out", default=None, help="parent of the run folders [default: runs/quickstart-<time>]")
    sp.add_argument("--models", default="logreg,mlp,cnn,gru", help="subset to train [default: logreg,mlp,cnn,gru]")
    sp.add_argument("--seeds", type=int, default=1, help="seeds per model; >1 reports mean ± std [default: 1]")
    sp.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="[default: auto]")
    sp.add_argument("--overwrite", action="store_true", help="replace existing run folders")
    sp.add_argument("--quiet", action="store_true", help="no per-epoch progress")
