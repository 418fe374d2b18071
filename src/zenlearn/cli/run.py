"""Commands on one training run: train, lr-find, evaluate, predict, export.

Each command's parser sits next to its code; heavy modules are imported inside the command, so
`zenlearn --help` stays instant.
"""

from __future__ import annotations

import argparse

from zenlearn.cli.options import AddCommand, add_config_flags, config_from_args, given_options
from zenlearn.report.html import fmt


def cmd_train(args: argparse.Namespace) -> int:
    from zenlearn.nn.tasks import first_metric
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
    metric = first_metric(test) or "loss"
    line = f"test {metric} {fmt(test[metric])}  test loss {fmt(test['loss'])}"
    if val:
        line += f"  val {metric} {fmt(val[metric])}"
    others = {k: v for k, v in (summary.get("timings") or {}).items() if k != "fit"}
    part = max(others, key=others.get, default=None)
    slowest = f"; most time outside training: {part} {others[part]:.1f}s" if part and others[part] > 1.0 else ""
    print(f"{line}  ({summary['train_seconds']:.1f}s training, {fmt(float(summary['samples_per_second']), 3)} "
          f"samples/s{slowest})")
    print(f"run folder: {summary.get('out', cfg.out) or ''}".rstrip())
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

    metrics = evaluate_run(args.run_dir, args.split, args.data_dir, data=args.data)
    print("  ".join(f"{args.split} {k} {fmt(v)}" for k, v in metrics.items()))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import sys

    from zenlearn.errors import UsageError
    from zenlearn.workflows.predict import is_table_run, predict_files, predict_table, write_predictions

    if is_table_run(args.run_dir):
        if args.output is not None and len(args.files) > 1:
            raise UsageError(f"--output takes the predictions of one table; got {len(args.files)} files")
        if args.top_k != 1:
            raise UsageError("--top-k: a table run's predictions already hold every class's probability; drop it")
        if args.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
        for path in args.files:
            write_predictions(predict_table(args.run_dir, path, batch_size=args.batch_size), args.output)
        return 0
    table = predict_files(args.run_dir, args.files, top_k=args.top_k, batch_size=args.batch_size,
                          warn=lambda line: print(f"zenlearn: warning: {line}", file=sys.stderr))
    if args.output is not None:
        write_predictions(table, args.output)
        print(f"wrote {args.output} ({table.num_rows:,} predictions)", file=sys.stderr)
        return 0
    from collections import Counter

    counts = Counter(table.column("file").to_pylist())
    for row in table.to_pylist():  # FILE[INDEX], then class and probability (top-k pairs), tab-separated
        name, i = row.pop("file"), row.pop("index")
        cells = [f"{v:.4f}" if k.startswith("probability") else f"{v:.5g}" if isinstance(v, float) else str(v)
                 for k, v in row.items()]
        print("\t".join([name if counts[name] == 1 else f"{name}[{i}]", *cells]))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from zenlearn.workflows.export import export_run

    r = export_run(args.run_dir, args.format, out=args.out, samples=args.samples, tolerance=args.tolerance,
                   data_dir=args.data_dir)
    print(f"wrote {r['path']} ({r['bytes']:,} bytes, dynamic batch); onnxruntime vs PyTorch on {r['samples']} "
          f"test samples: max abs diff {r['max_abs_diff']:.2e} (tolerance {r['tolerance']:g})")
    return 0


def register(add: AddCommand) -> None:
    """Add the train, lr-find, evaluate, predict, export commands."""
    sp = add("train", cmd_train, "train a model; writes a run folder (config, metrics, weights, summary)")
    add_config_flags(sp)
    sp.add_argument("--workers", dest="decode_workers", metavar="N", default=argparse.SUPPRESS,
                    help=argparse.SUPPRESS)  # the old name of --decode-workers (compare/tune's --workers count runs)
    sp.add_argument("--quiet", action="store_true", help="no progress output")
    sp.add_argument("--resume", metavar="RUN_DIR", default=None,
                    help="continue the interrupted run in RUN_DIR from its checkpoint.pt, with its saved config "
                         "(flags may change only --epochs, --data-dir, --device, --eval-batch-size, "
                         "--checkpoint-every, --deterministic); ends bit-identical to an uninterrupted CPU run")

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
    sp.add_argument("--data", default=None, metavar="SPEC",
                    help="evaluate on this dataset or folder instead of the run's (as `train --data`; same inputs and "
                         "classes, prepared as in training), e.g. --data folder:/new/place/of/photos")

    sp = add("predict", cmd_predict, "class and probability for each input file (image, .npy, IDX); for a run "
             "trained on a table, a CSV of the file's rows plus the prediction (and one probability per class)")
    sp.add_argument("run_dir", metavar="RUN_DIR")
    sp.add_argument("files", metavar="FILE", nargs="+")
    sp.add_argument("--output", default=None, metavar="FILE.csv",
                    help="write the predictions as CSV (file, index, prediction, probability, …; a table run: its "
                         "rows plus the prediction) [default: tab-separated lines on standard output]")
    sp.add_argument("--top-k", type=int, default=1, metavar="K",
                    help="the K most probable classes per sample, each with its probability [default: 1]")
    sp.add_argument("--batch-size", type=int, default=1000, help="samples per forward pass [default: 1000]")

    sp = add("export", cmd_export, "export a run's model (ONNX, dynamic batch) and check it with onnxruntime")
    sp.add_argument("run_dir", metavar="RUN_DIR")
    sp.add_argument("--format", default="onnx", choices=["onnx"], help="export format [default: onnx]")
    sp.add_argument("--out", default=None, help="output file [default: RUN_DIR/model.onnx]")
    sp.add_argument("--samples", type=int, default=256, help="test samples to compare [default: 256]")
    sp.add_argument("--tolerance", type=float, default=1e-4,
                    help="max allowed abs difference onnxruntime vs PyTorch; above it nothing is written [default: 1e-4]")
    sp.add_argument("--data-dir", default=None, help="data folder, if not the run's")
