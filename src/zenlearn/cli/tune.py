"""`zenlearn tune`: a hyperparameter search over any train option, on Optuna (pip install 'zenlearn[tune]')."""

from __future__ import annotations

import argparse

from zenlearn.cli.options import AddCommand, add_config_flags, config_from_args
from zenlearn.errors import UsageError

SAMPLERS, PRUNERS = ("tpe", "random", "grid"), ("none", "median", "hyperband", "asha")


def require_optuna() -> None:
    """Refuse with the install command when the `tune` extra is missing."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise UsageError("this command needs Optuna: pip install 'zenlearn[tune]'") from None


def cmd_tune(args: argparse.Namespace) -> int:
    require_optuna()
    from zenlearn.workflows.tune import parse_search, run_tune

    params = parse_search(args.search or [])
    base = config_from_args(args, validate=False)  # checked with the search space by run_tune
    run_tune(base, params, trials=args.trials, timeout=args.timeout, sampler=args.sampler, pruner=args.pruner,
             metric=args.metric, storage=args.storage, study=args.study, workers=args.parallel_workers, out=base.out,
             refit=args.refit, verbose=not args.quiet, storage_timeout=args.storage_timeout)
    return 0


def positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def add_parallel_flags(sp: argparse.ArgumentParser, what: str) -> None:
    """--workers, --storage and --storage-timeout, shared by tune, compare, distill --sweep and reproduce."""
    sp.add_argument("--workers", dest="parallel_workers", type=positive_int, default=1, metavar="N",
                    help=f"processes that share the {what} (each gets cores/N torch threads unless --threads) "
                         f"[default: 1]")
    sp.add_argument("--storage", default=None, metavar="URL",
                    help="Optuna storage URL shared by every worker and machine, e.g. postgresql://user@host/db "
                         "(password from PGPASSWORD or ~/.pgpass; never written or printed) [default: "
                         "$ZENLEARN_STORAGE, else a SQLite file in --out]")
    sp.add_argument("--storage-timeout", type=seconds, default=120.0, metavar="S",
                    help="when the storage stops answering (a database restart, a network blip), each worker "
                         "waits up to S seconds, its run training on, then stops with exit 1 and one line that says "
                         "how to continue [default: 120]")


def register(add: AddCommand) -> None:
    """Add the tune command."""
    sp = add("tune", cmd_tune, "search hyperparameters on Optuna: each trial a run folder under OUT/trials/, "
             "pruned per epoch, shared by --workers and machines; writes study.csv, best.yaml, plots, report.html")
    sp.add_argument("--search", nargs="+", metavar="NAME=SPEC", required=True,
                    help="options to search: log:1e-4:1e-1 (log-uniform), uniform:0:0.5, int:1:4 or a,b,c "
                         "(choices; tuple options separate them with ';': hidden=64;128,128)")
    sp.add_argument("--trials", type=positive_int, default=20, metavar="N",
                    help="trials this command finishes, over its workers (rerunning adds N more; 0 only rewrites "
                         "the outputs from the storage) [default: 20]")
    sp.add_argument("--timeout", type=float, default=None, metavar="S", help="start no trial after S seconds")
    sp.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="[default: tpe]")
    sp.add_argument("--pruner", choices=PRUNERS, default="none",
                    help="stop hopeless trials early, judged every epoch on --metric: median (below earlier "
                         "trials' median), hyperband (brackets of successive halving, factor 3), asha (one "
                         "bracket: keep the best third after 1, 3, 9… epochs; saves most with few epochs) "
                         "[default: none]")
    sp.add_argument("--metric", default=None, metavar="val_METRIC",
                    help="what to optimize, on the validation split: val_loss or val_ and one of the task's metrics "
                         "(`zenlearn list tasks`) [default: the task's primary metric]")
    sp.add_argument("--study", default="zenlearn", metavar="NAME",
                    help="study name in the storage; the same name continues it [default: zenlearn]")
    add_parallel_flags(sp, "study")
    sp.add_argument("--refit", action="store_true",
                    help="train the best config once more into OUT/best and read the test split, once")
    sp.add_argument("--quiet", action="store_true", help="no progress output")
    add_config_flags(sp)
