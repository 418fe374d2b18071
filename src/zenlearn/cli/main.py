"""The `zenlearn` command line: one function per command; train flags are derived from `TrainConfig`.

Errors a user can fix print one line and exit 2 (1 for a run that failed while training); `--debug`
shows the traceback. Nothing here imports torch until a command needs it, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Sequence

from zenlearn.config import (
    DistillConfig,
    TrainConfig,
    coerce,
    describe_type,
    field_help,
    field_names,
    field_types,
    load_yaml,
)
from zenlearn.errors import UsageError, ZenlearnError
from zenlearn.version import __version__

LISTABLE = {  # `zenlearn list NAME` → module and registry
    "models": ("zenlearn.nn.build", "MODELS"),
    "datasets": ("zenlearn.data", "DATASETS"),
    "activations": ("zenlearn.nn.activations", "ACTIVATIONS"),
    "inits": ("zenlearn.nn.inits", "INITS"),
    "optimizers": ("zenlearn.optim.optimizers", "OPTIMIZERS"),
    "schedules": ("zenlearn.optim.schedules", "SCHEDULES"),
    "distillation": ("zenlearn.distill.methods", "DISTILL_METHODS"),
    "augmentations": ("zenlearn.augment.spec", "AUGMENTATIONS"),
}


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage text is one `--help` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


# ---------------------------------------------------------------- train flags from the config

def add_config_flags(p: argparse.ArgumentParser, skip: Sequence[str] = ()) -> None:
    """Add one flag per `TrainConfig` field (`batch_size` → `--batch-size`), plus `--config`."""
    p.add_argument("--config", metavar="FILE.yaml", help="YAML file of options; flags given here override it")
    add_fields(p.add_argument_group("run options (also YAML keys)"), TrainConfig, skip)


def add_fields(g: Any, cls: type, skip: Sequence[str] = ()) -> None:
    """One flag per field of dataclass `cls`, its docstring as the help; unset flags stay absent from args."""
    helps, types, defaults = field_help(cls), field_types(cls), cls()
    for name in field_names(cls):
        if name in skip:
            continue
        flag, default = "--" + name.replace("_", "-"), getattr(defaults, name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        text = f"{helps.get(name, '')} [{describe_type(types[name])}; default: {shown}]"
        if types[name] is bool:
            g.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                           help=text)
        else:
            g.add_argument(flag, dest=name, metavar=name.upper(), default=argparse.SUPPRESS, help=text)


def config_from_args(args: argparse.Namespace, validate: bool = True, **overrides: Any) -> TrainConfig:
    """Defaults ← `--config` YAML ← flags given on the command line ← `overrides`; then validated."""
    from zenlearn.training.build import check_config

    cfg = TrainConfig.from_dict({**given_options(args), **overrides}, source="options")
    return check_config(cfg) if validate else cfg


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """Only the options the user gave: the `--config` file's keys, then the flags on the command line."""
    merged: dict[str, Any] = {}
    if getattr(args, "config", None):
        yaml_d = load_yaml(args.config)
        TrainConfig.from_dict(yaml_d, source=f"--config {args.config}")  # names and types checked here
        merged.update(yaml_d)
    flags = {k: getattr(args, k) for k in field_names(TrainConfig) if hasattr(args, k)}
    for k, v in flags.items():
        coerce(k, field_types(TrainConfig)[k], v)  # errors name the flag
    merged.update(flags)
    return merged


# ---------------------------------------------------------------- commands

def cmd_train(args: argparse.Namespace) -> int:
    from zenlearn.workflows.train import train_run

    if args.resume:
        from zenlearn.training.resume import resume_config

        cfg = resume_config(args.resume, given_options(args))
    else:
        cfg = config_from_args(args)
    summary = train_run(cfg, verbose=not args.quiet, resume=bool(args.resume))
    if summary.get("rank", 0) != 0:  # torchrun: rank 0 reports for the group
        return 0
    test, val = summary["test"], summary["val"]
    metric = "accuracy" if "accuracy" in test else "mae"
    line = f"test {metric} {test[metric]:.4f}  test loss {test['loss']:.4f}"
    if val:
        line += f"  val {metric} {val[metric]:.4f}"
    print(f"{line}  ({summary['train_seconds']:.1f}s training, {summary['samples_per_second']:.0f} samples/s)")
    print(f"run folder: {summary.get('out', cfg.out) or ''}".rstrip())
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from zenlearn.workflows.compare import parse_vary, run_compare

    base = config_from_args(args, validate=False)  # each variant's config is validated by run_compare
    run_compare(base, parse_vary(args.vary or []), args.seeds, base.out, args.resume, metric=args.metric,
                verbose=not args.quiet)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from zenlearn.workflows.reproduce import reproduce

    budget = "quick" if args.quick else args.budget
    reproduce(args.out, args.only, seeds=args.seeds, budget=budget, resume=args.resume, overwrite=args.overwrite,
              data_dir=args.data_dir, device=args.device, verbose=not args.quiet)
    return 0


def cmd_lr_find(args: argparse.Namespace) -> int:
    from zenlearn.workflows.lr_find import lr_find_run

    cfg = config_from_args(args)
    res = lr_find_run(cfg, start_lr=args.start_lr, end_lr=args.end_lr, steps=args.steps)
    print(f"suggested lr {res.suggestion:.3g}  ({res.rule})")
    print(f"loss-vs-LR plot: {res.files['plot']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from zenlearn.workflows.train import evaluate_run

    metrics = evaluate_run(args.run_dir, args.split, args.data_dir)
    print("  ".join(f"{args.split} {k} {v:.4f}" for k, v in metrics.items()))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from zenlearn.data.files import read_inputs
    from zenlearn.training.build import load_run

    _, spec, trainer = load_run(args.run_dir)
    for path in args.files:
        x = read_inputs(path, spec)
        out = trainer.predict(x)
        for i, row in enumerate(out):
            name = path if len(out) == 1 else f"{path}[{i}]"
            if spec.task == "classification":
                k = int(row.argmax())
                label = spec.classes[k] if k < len(spec.classes) else str(k)
                print(f"{name}\t{label}\t{float(row[k]):.4f}")
            else:
                print(f"{name}\t" + " ".join(f"{v:.5g}" for v in row.flatten().tolist()))
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    from zenlearn.distill.methods import check_distill_config, parse_sweep
    from zenlearn.training.build import check_config, load_run
    from zenlearn.workflows.distill import DATA_FIELDS, distill_run

    dcfg = DistillConfig.from_dict({k: getattr(args, k) for k in field_names(DistillConfig) if hasattr(args, k)})
    check_distill_config(dcfg)
    sweep = parse_sweep(args.sweep)
    student = config_from_args(args, model=args.student)
    given = {k for k in field_names(TrainConfig) if hasattr(args, k)} | set(load_yaml(args.config) if args.config else {})
    t_cfg = load_run(dcfg.teacher)[0]
    student = check_config(student.replace(**{k: getattr(t_cfg, k) for k in DATA_FIELDS if k not in given}))
    s = distill_run(student, dcfg, sweep=sweep, verbose=not args.quiet)
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


def cmd_augment(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from zenlearn.augment.pipeline import Augment
    from zenlearn.data import FolderSplits, load_splits, to_float
    from zenlearn.report.preview import image_grid, write_png

    for name in ("samples", "rows"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name} must be >= 1, got {getattr(args, name)}")
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; pass a file name such as grid.png")
    aug = Augment.from_spec(args.augment, seed=args.seed)
    options = {}
    if args.data.startswith("folder:"):
        image_size = coerce("image_size", field_types(TrainConfig)["image_size"], args.image_size)
        options = dict(image_size=image_size, color=args.color, workers=0)
    splits = load_splits(args.data, root=args.data_dir, seed=args.seed, **options)
    if isinstance(splits, FolderSplits):
        x = next(iter(splits.loader(splits.train, args.samples, shuffle=True, seed=args.seed)))[0]
    else:
        if splits.spec.kind != "image":
            raise UsageError(f"--data {args.data} holds {splits.spec.kind} samples, not images; nothing to augment")
        idx = torch.randperm(len(splits.train), generator=torch.Generator().manual_seed(args.seed))[: args.samples]
        x = to_float(splits.train.x[idx], splits.spec.scale)  # (N, C, H, W)
    write_png(out, image_grid([x] + [aug(x) for _ in range(args.rows)]))
    print(f"wrote {out}: top row {len(x)} originals from {args.data}, then {args.rows} rows augmented with "
          f"{args.augment!r}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    import importlib

    what = [args.what] if args.what else list(LISTABLE)
    for w in what:
        if w not in LISTABLE:
            raise UsageError(f"zenlearn list: unknown kind {w!r}; choose one of: {', '.join(LISTABLE)}")
        module, attr = LISTABLE[w]
        registry = getattr(importlib.import_module(module), attr)
        print(f"{w}:")
        for e in registry:
            extra = e.listing()
            extra_s = "  (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")" if extra else ""
            print(f"  {e.name:<16} {e.description}{extra_s}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from zenlearn.report.build import write_report

    print(f"wrote {write_report(args.run_dir, data_dir=args.data_dir)}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from zenlearn.report.runs import format_runs, list_runs

    rows = list_runs(args.dir)
    print(format_runs(rows) if rows else f"no run folders under {args.dir}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from zenlearn.workflows.export import export_run

    r = export_run(args.run_dir, args.format, out=args.out, samples=args.samples, tolerance=args.tolerance,
                   data_dir=args.data_dir)
    print(f"wrote {r['path']} ({r['bytes']:,} bytes, dynamic batch); onnxruntime vs PyTorch on {r['samples']} "
          f"test samples: max abs diff {r['max_abs_diff']:.2e} (tolerance {r['tolerance']:g})")
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


def cmd_plot_activations(args: argparse.Namespace) -> int:
    from zenlearn.nn.activations import ACTIVATIONS, plot_activations

    names = [ACTIVATIONS.entry(n).name for n in args.names.split(",") if n.strip()] if args.names else None
    if args.lo >= args.hi:
        raise UsageError(f"--lo/--hi: expected --lo < --hi, got {args.lo} and {args.hi}; swap or change them")
    path = plot_activations(args.out, names, lo=args.lo, hi=args.hi, negative_slope=args.negative_slope,
                            elu_alpha=args.elu_alpha)
    print(f"wrote {path} ({len(names or ACTIVATIONS.names())} activations, each with its derivative)")
    return 0


# ---------------------------------------------------------------- parser and entry point

def build_parser() -> Parser:
    p = Parser(prog="zenlearn", description="zenlearn: classic deep-learning techniques as measured tools.")
    p.add_argument("--version", action="version", version=f"zenlearn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("--debug", action="store_true", help="show the full traceback on errors")
        sp.set_defaults(fn=fn)
        return sp

    sp = add("train", cmd_train, "train a model; writes a run folder (config, metrics, weights, summary)")
    add_config_flags(sp)
    sp.add_argument("--quiet", action="store_true", help="no progress output")
    sp.add_argument("--resume", metavar="RUN_DIR", default=None,
                    help="continue the interrupted run in RUN_DIR from its checkpoint.pt, with its saved config "
                         "(flags may change only --epochs, --data-dir, --device, --eval-batch-size, "
                         "--checkpoint-every, --deterministic); ends bit-identical to an uninterrupted CPU run")

    sp = add("compare", cmd_compare, "train every combination of --vary values x --seeds (each a run folder); "
             "writes results.csv, summary.csv (mean ± std), plots and compare.json into --out")
    add_config_flags(sp)
    sp.add_argument("--vary", action="append", metavar="KEY=V1,V2,…",
                    help="a config key and the values to try, like optimizer=sgd,adam or lr=0.1,0.01 (repeatable: "
                         "every combination runs); tuple keys separate values with ';' (hidden=64;128,128)")
    sp.add_argument("--seeds", type=int, default=1, metavar="N",
                    help="seeds per variant: --seed, --seed+1, … [default: 1]")
    sp.add_argument("--resume", action="store_true", help="skip runs whose folder under --out is complete")
    sp.add_argument("--metric", default=None, metavar="COLUMN",
                    help="results column that picks the best variant [default: val_accuracy (val_mae), else test]")
    sp.add_argument("--quiet", action="store_true", help="no progress output")

    sp = add("reproduce", cmd_reproduce, "measure the survey's claims: models, activations, optimizers, augmentation "
             "and distillation, each a normal compare/distill run, beside the published numbers; writes "
             "results.md (+ results/*.png) and report.html into --out")
    sp.add_argument("--out", required=True, metavar="DIR", help="output folder (run folders, results.md, report.html)")
    sp.add_argument("--only", nargs="+", metavar="NAME",
                    help="run only these experiments: models, activations, optimizers, augmentation, distillation")
    sp.add_argument("--seeds", type=int, default=None, metavar="N", help="seeds per row [default: the budget's]")
    sp.add_argument("--quick", action="store_true",
                    help="the quick budget: ≤ 15 min on 2 CPU cores (fewer epochs, subsets; results.md states which)")
    sp.add_argument("--budget", default="full", choices=["full", "quick", "tiny"],
                    help="full (≈ 20 min on 2 CPU cores), quick (= --quick) or tiny (seconds; a smoke test whose "
                         "numbers mean nothing) [default: full]")
    sp.add_argument("--resume", action="store_true", help="reuse the finished runs under --out (same settings)")
    sp.add_argument("--overwrite", action="store_true", help="redo runs whose folders exist under --out")
    sp.add_argument("--data-dir", default=None, help="data folder [default: $ZENLEARN_DATA, else ~/.cache/zenlearn]")
    sp.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train [default: auto]")
    sp.add_argument("--quiet", action="store_true", help="no progress output")

    sp = add("lr-find", cmd_lr_find, "sweep the LR exponentially over training batches; plot loss vs LR and "
             "suggest an LR (the model and optimizer are restored afterwards)")
    add_config_flags(sp)
    sp.add_argument("--start-lr", type=float, default=1e-7, help="first LR of the sweep [default: 1e-7]")
    sp.add_argument("--end-lr", type=float, default=10.0, help="last LR of the sweep [default: 10]")
    sp.add_argument("--steps", type=int, default=100, help="batches in the sweep [default: 100]")

    sp = add("evaluate", cmd_evaluate, "reload a run folder's model and print its metrics")
    sp.add_argument("run_dir", metavar="RUN_DIR")
    sp.add_argument("--split", default="test", choices=["test", "val"], help="which split [default: test]")
    sp.add_argument("--data-dir", default=None, help="data folder, if not the run's")

    sp = add("predict", cmd_predict, "class and probability for each input file (image, .npy, IDX)")
    sp.add_argument("run_dir", metavar="RUN_DIR")
    sp.add_argument("files", metavar="FILE", nargs="+")

    sp = add("report", cmd_report, "(re)build report.html in a run, comparison or distillation folder")
    sp.add_argument("run_dir", metavar="RUN_DIR")
    sp.add_argument("--data-dir", default=None, help="data folder, if not the run's (for test-set errors)")

    sp = add("runs", cmd_runs, "list result folders with their key metrics, newest first")
    sp.add_argument("dir", nargs="?", default="runs", metavar="DIR", help="folder to search [default: runs]")

    sp = add("export", cmd_export, "export a run's model (ONNX, dynamic batch) and check it with onnxruntime")
    sp.add_argument("run_dir", metavar="RUN_DIR")
    sp.add_argument("--format", default="onnx", choices=["onnx"], help="export format [default: onnx]")
    sp.add_argument("--out", default=None, help="output file [default: RUN_DIR/model.onnx]")
    sp.add_argument("--samples", type=int, default=256, help="test samples to compare [default: 256]")
    sp.add_argument("--tolerance", type=float, default=1e-4,
                    help="max allowed abs difference onnxruntime vs PyTorch; above it nothing is written [default: 1e-4]")
    sp.add_argument("--data-dir", default=None, help="data folder, if not the run's")

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
    sp.add_argument("--quiet", action="store_true", help="no progress output")

    sp = add("augment", cmd_augment, "write a PNG grid of training images and augmented versions of them")
    sp.add_argument("--data", default="mnist", help="dataset name or folder:PATH [default: mnist]")
    sp.add_argument("--augment", required=True, metavar="SPEC",
                    help="preset (mnist, cifar, imagenet) and/or key=value options, as for `train --augment`")
    sp.add_argument("--out", default="augment.png", metavar="FILE.png", help="grid to write [default: augment.png]")
    sp.add_argument("--samples", type=int, default=8, help="images per row [default: 8]")
    sp.add_argument("--rows", type=int, default=4, help="rows of augmented draws below the originals [default: 4]")
    sp.add_argument("--seed", type=int, default=0, help="picks the images and seeds the augmentation [default: 0]")
    sp.add_argument("--data-dir", default=None, help="data folder [default: $ZENLEARN_DATA, else ~/.cache/zenlearn]")
    sp.add_argument("--image-size", default=None, metavar="H,W", help="folder images: size [default: first image's]")
    sp.add_argument("--color", default="rgb", choices=["rgb", "grayscale"], help="folder images [default: rgb]")

    sp = add("quickstart", cmd_quickstart, "train logistic regression, MLP, CNN and GRU on MNIST-1D (offline, a few "
                                           "minutes on 2 CPU cores) and compare with the published accuracies")
    sp.add_argument("--out", default=None, help="parent of the run folders [default: runs/quickstart-<time>]")
    sp.add_argument("--models", default="logreg,mlp,cnn,gru", help="subset to train [default: logreg,mlp,cnn,gru]")
    sp.add_argument("--seeds", type=int, default=1, help="seeds per model; >1 reports mean ± std [default: 1]")
    sp.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="[default: auto]")
    sp.add_argument("--overwrite", action="store_true", help="replace existing run folders")
    sp.add_argument("--quiet", action="store_true", help="no per-epoch progress")

    sp = add("plot-activations", cmd_plot_activations, "write a PNG of every activation and its derivative")
    sp.add_argument("--out", default="activations.png", help="PNG file to write [default: activations.png]")
    sp.add_argument("--names", default=None, help="comma-separated activations [default: all registered]")
    sp.add_argument("--negative-slope", type=float, default=None, help="leaky_relu slope [default: 0.01]")
    sp.add_argument("--elu-alpha", type=float, default=None, help="elu alpha [default: 1.0]")
    sp.add_argument("--lo", type=float, default=-4.0, help="left end of the x range [default: -4]")
    sp.add_argument("--hi", type=float, default=4.0, help="right end of the x range [default: 4]")

    sp = add("list", cmd_list, "list registered names with descriptions")
    sp.add_argument("what", nargs="?", metavar="|".join(LISTABLE))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 run failed, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help, --version, or a one-line usage error already printed
            return int(e.code or 0)
        if not getattr(args, "fn", None):
            parser.print_help()
            return 2
        return args.fn(args)
    except ZenlearnError as e:
        if debug:
            raise
        print(f"zenlearn: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:  # resume.Interrupted says where it stopped and how to continue
        print(f"zenlearn: {str(e) or 'interrupted'}", file=sys.stderr)
        return getattr(e, "exit_code", 130)
    except Exception as e:  # noqa: BLE001 - the CLI never shows a traceback unless asked
        if debug:
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"zenlearn: internal error: {type(e).__name__}: {msg} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1
