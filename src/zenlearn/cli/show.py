"""Commands that look at results and registries: report, runs, list, augment, plot-activations.

Each command's parser sits next to its code; heavy modules are imported inside the command, so
`zenlearn --help` stays instant.
"""

from __future__ import annotations

import argparse
import difflib

from zenlearn.cli.options import AddCommand
from zenlearn.config import TrainConfig, coerce, field_types
from zenlearn.errors import UsageError

LISTABLE = {  # `zenlearn list NAME` → module and registry
    "models": ("zenlearn.nn.build", "MODELS"),
    "datasets": ("zenlearn.data", "DATASETS"),
    "activations": ("zenlearn.nn.activations", "ACTIVATIONS"),
    "inits": ("zenlearn.nn.inits", "INITS"),
    "optimizers": ("zenlearn.optim.optimizers", "OPTIMIZERS"),
    "schedules": ("zenlearn.optim.schedules", "SCHEDULES"),
    "distillation": ("zenlearn.distill.methods", "DISTILL_METHODS"),
    "augmentations": ("zenlearn.augment.spec", "AUGMENTATIONS"),
    "tasks": ("zenlearn.nn.tasks", "TASKS"),
}


def cmd_report(args: argparse.Namespace) -> int:
    import sys

    from zenlearn.report.build import write_report

    notes: list[str] = []
    print(f"wrote {write_report(args.run_dir, data_dir=args.data_dir, data=args.data, notes=notes)}")
    for note in notes:
        print(f"zenlearn: warning: {note}", file=sys.stderr)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from zenlearn.report.runs import format_runs, list_runs

    rows = list_runs(args.dir)
    print(format_runs(rows) if rows else f"no run folders under {args.dir}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    import importlib

    what = [args.what] if args.what else list(LISTABLE)
    for w in what:
        w = w if w in LISTABLE or f"{w}s" not in LISTABLE else f"{w}s"  # `zenlearn list model` works too
        if w not in LISTABLE:
            match = difflib.get_close_matches(w, list(LISTABLE), n=1)
            hint = f"did you mean {match[0]!r}? " if match else ""
            raise UsageError(f"zenlearn list: unknown kind {w!r}; {hint}choose one of: {', '.join(LISTABLE)}")
        module, attr = LISTABLE[w]
        registry = getattr(importlib.import_module(module), attr)
        print(f"{w}:")
        for e in registry:
            extra = e.listing()
            extra_s = "  (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")" if extra else ""
            print(f"  {e.name:<16} {e.description}{extra_s}")
    return 0


def cmd_augment(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zenlearn.augment.pipeline import Augment
    from zenlearn.data import dataset_options, load_splits
    from zenlearn.report.preview import augment_grid, write_png

    for name in ("samples", "rows"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name} must be >= 1, got {getattr(args, name)}")
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; pass a file name such as grid.png")
    aug = Augment.from_spec(args.augment, seed=args.seed)
    takes = dataset_options(args.data)
    options = {k: v for k, v in (("image_size", args.image_size), ("color", args.color), ("decode_workers", 0))
               if k in takes}
    if "image_size" in options:
        options["image_size"] = coerce("image_size", field_types(TrainConfig)["image_size"], args.image_size)
    splits = load_splits(args.data, root=args.data_dir, seed=args.seed, **options)
    if splits.spec.kind != "image":
        raise UsageError(f"--data {args.data} holds {splits.spec.kind} samples, not images; nothing to augment")
    x = next(iter(splits.loader(splits.train, args.samples, shuffle=True, seed=args.seed)))[0]  # (N, C, H, W)
    write_png(out, augment_grid(x, aug, args.rows))
    print(f"wrote {out}: top row (labelled) {len(x)} originals from {args.data}, then {args.rows} rows augmented with "
          f"{args.augment!r}")
    return 0


def cmd_plot_activations(args: argparse.Namespace) -> int:
    from zenlearn.nn.activations import ACTIVATIONS
    from zenlearn.report.plots.tools import plot_activations

    names = [ACTIVATIONS.entry(n).name for n in args.names.split(",") if n.strip()] if args.names else None
    if args.lo >= args.hi:
        raise UsageError(f"--lo/--hi: expected --lo < --hi, got {args.lo} and {args.hi}; swap or change them")
    path = plot_activations(args.out, names, lo=args.lo, hi=args.hi, negative_slope=args.negative_slope,
                            elu_alpha=args.elu_alpha)
    print(f"wrote {path} ({len(names or ACTIVATIONS.names())} activations, each with its derivative)")
    return 0


def register(add: AddCommand) -> None:
    """Add the report, runs, list, augment, plot-activations commands."""
    sp = add("report", cmd_report, "(re)build report.html in a run, comparison or distillation folder")
    sp.add_argument("run_dir", metavar="RUN_DIR")
    sp.add_argument("--data-dir", default=None, help="data folder, if not the run's (for test-set errors)")
    sp.add_argument("--data", default=None, metavar="SPEC",
                    help="the run's dataset, if it moved (as `train --data`, e.g. folder:/new/place/of/photos)")

    sp = add("runs", cmd_runs, "list result folders with their key metrics, newest first")
    sp.add_argument("dir", nargs="?", default="runs", metavar="DIR", help="folder to search [default: runs]")

    sp = add("list", cmd_list, "list registered names with descriptions")
    sp.add_argument("what", nargs="?", metavar="|".join(LISTABLE))

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

    sp = add("plot-activations", cmd_plot_activations, "write a PNG of every activation and its derivative")
    sp.add_argument("--out", default="activations.png", help="PNG file to write [default: activations.png]")
    sp.add_argument("--names", default=None, help="comma-separated activations [default: all registered]")
    sp.add_argument("--negative-slope", type=float, default=None, help="leaky_relu slope [default: 0.01]")
    sp.add_argument("--elu-alpha", type=float, default=None, help="elu alpha [default: 1.0]")
    sp.add_argument("--lo", type=float, default=-4.0, help="left end of the x range [default: -4]")
    sp.add_argument("--hi", type=float, default=4.0, help="right end of the x range [default: 4]")
