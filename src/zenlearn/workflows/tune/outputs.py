"""A study's files, rewritten from the storage after every invocation (any machine can write them):
study.csv, best.yaml, the plots, tune.json, report.html, and with --refit the best config's test run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from zenlearn.config import TrainConfig, dump_yaml
from zenlearn.config.fields import plain
from zenlearn.io.atomic import write_text
from zenlearn.io.rundir import BEST, STUDY, TUNE, write_csv
from zenlearn.report.build import write_report
from zenlearn.report.study import plot_study
from zenlearn.workflows.train import train_run
from zenlearn.workflows.tune.space import format_params, parse_search

REFIT = "best"


def trial_rows(study: Any, params: list[str], metric: str) -> list[dict[str, Any]]:
    """One row per trial: number, state, params (as written on the command line), metric, epochs, seconds."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        value = t.value if t.value is not None else t.user_attrs.get("value")
        rows.append({"trial": t.number, "state": t.state.name.lower(),
                     **{p: _show(t.params.get(p)) for p in params}, metric: value,
                     "epochs": t.user_attrs.get("epochs"), "seconds": t.user_attrs.get("seconds"),
                     "host": t.user_attrs.get("host", ""), "run_dir": t.user_attrs.get("run_dir", ""),
                     "error": t.user_attrs.get("error", "")})
    return rows


def _show(v: Any) -> Any:
    return "" if v is None else v


def best_config(study: Any) -> TrainConfig | None:
    """The best complete trial's config (the study's base options with its params), else None."""
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    space = parse_search([f"{k}={v}" for k, v in study.user_attrs["zenlearn_space"].items()])
    best = study.best_trial
    values = {}
    for p in space:  # categorical tuples travel as text: map back through the parsed choices
        v = best.params[p.name]
        values[p.name] = next((c for c in p.choices if plain(c) == v), v) if p.kind == "choice" else v
    return TrainConfig.from_dict({**study.user_attrs["zenlearn_base"], **values, "out": None})


def write_outputs(study: Any, out: Path, manifest: dict[str, Any], *, refit: bool = False,
                  verbose: bool = True) -> dict[str, Any]:
    """Write study.csv, best.yaml, plots, tune.json and report.html from the storage; returns the manifest."""
    metric, space = manifest["metric"], manifest["space"]
    rows = trial_rows(study, list(space), metric)
    write_csv(out / STUDY, rows, () if rows else ("trial", "state"))
    counts = {s: sum(r["state"] == s for r in rows) for s in ("complete", "pruned", "fail", "running", "waiting")}
    files = {"study": STUDY, "manifest": TUNE}
    best = None
    cfg = best_config(study)
    if cfg is not None:
        t = study.best_trial
        write_text(out / BEST, dump_yaml(cfg))
        files["best"] = BEST
        best = {"trial": t.number, "value": t.value, "params": {k: _show(v) for k, v in t.params.items()},
                "run_dir": t.user_attrs.get("run_dir"), "host": t.user_attrs.get("host")}
    files.update(plot_study(out, rows, list(space), metric, manifest["direction"], _importances(study),
                                  log=[k for k, v in space.items() if v.startswith("log:")]))
    manifest = {**manifest, "trials": counts, "best": best, "files": files,
                "epochs_trained": sum(r["epochs"] or 0 for r in rows),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if refit and cfg is not None:  # the test split, read once for the whole study
        summary = train_run(cfg.replace(out=str(out / REFIT), overwrite=True), verbose=verbose)
        manifest["refit"] = {"run_dir": REFIT, "test": summary["test"], "val": summary["val"]}
    write_text(out / TUNE, json.dumps(manifest, indent=2, default=str))
    write_report(out)
    if verbose:
        print(f"{len(rows)} trials in study {manifest['study']!r}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
        if best:
            print(f"best: trial {best['trial']} {metric} {best['value']:.4g} with {format_params(best['params'])}")
            print(f"train it: zenlearn train --config {out / BEST}")
        if "refit" in manifest:
            print("refit test: " + "  ".join(f"{k} {v:.4f}" for k, v in manifest["refit"]["test"].items()
                                             if isinstance(v, float)))
        print(f"study folder: {out}")
    return manifest


def _importances(study: Any) -> dict[str, float]:
    """Each param's share of the metric's variance (Optuna's fANOVA); {} with too few complete trials."""
    import optuna

    try:
        return dict(optuna.importance.get_param_importances(study))
    except (ValueError, RuntimeError):
        return {}
