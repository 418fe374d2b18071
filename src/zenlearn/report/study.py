"""A hyperparameter study (zenlearn tune): its three figures (`plots.study`, and the importances as bars)
and its report sections."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zenlearn.io.atomic import write_bytes
from zenlearn.io.rundir import CONFIG, HISTORY, IMPORTANCES, PARAMS, STUDY, TUNE, read_csv, read_json
from zenlearn.report.html import Link, esc, fmt, img, kv_table, section, table
from zenlearn.report.plots import run as plots
from zenlearn.report.plots.study import finite_number, history, param_panels

MIN_TRIALS_FOR_IMPORTANCES = 5
"""Complete trials below which no importance plot is drawn (the report says why)."""


def plot_study(out: Path, rows: Sequence[dict[str, Any]], params: Sequence[str], metric: str, direction: str,
               importances: dict[str, float], log: Sequence[str] = ()) -> dict[str, str]:
    """Write history.png, params.png and (when known, from at least `MIN_TRIALS_FOR_IMPORTANCES` complete
    trials) importances.png into `out`; returns {name: file}."""
    files = {}
    if any(finite_number(r[metric]) is not None for r in rows):
        write_bytes(out / HISTORY, history(rows, metric, direction == "maximize"))
        write_bytes(out / PARAMS, param_panels(rows, params, metric, log))
        files.update(history=HISTORY, params=PARAMS)
    complete = sum(r.get("state") == "complete" for r in rows)
    if importances and complete >= MIN_TRIALS_FOR_IMPORTANCES:  # fANOVA on a handful of trials is noise
        names = list(importances)
        write_bytes(out / IMPORTANCES, plots.bars(names, [importances[n] for n in names], None,
                                                  "Param importances (fANOVA)", "importance"))
        files["importances"] = IMPORTANCES
    return files


def is_study(folder: Path) -> bool:
    return (folder / TUNE).is_file() and (folder / STUDY).is_file()


def study_sections(folder: Path, **_: Any) -> tuple[str, list[str]]:
    """Title and sections of a study folder (tune.json, study.csv, the figures)."""
    m, rows = read_json(folder / TUNE), read_csv(folder / STUDY)
    counts = m.get("trials") or {}
    best = m.get("best")
    lead = (f'<p class="lead">Study <b>{esc(m["study"])}</b>: <b>{len(rows)}</b> trials ('
            + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + f"), {esc(m['sampler'])} sampler, "
            f"{esc(m['pruner'])} pruner, {esc(m['direction'])} <b>{esc(m['metric'])}</b> (validation split only).")
    if best:
        lead += (f" Best: trial <b>{best['trial']}</b> with {esc(m['metric'])} <b>{esc(fmt(best['value']))}</b> ("
                 + esc(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in best["params"].items())) + ").")
    lead += f" {esc(m.get('epochs_trained', 0))} epochs trained in all.</p>"
    parts = [section("Study", lead, kv_table({"storage": m["storage"], "search space": m["space"],
                                              "watch it": m.get("dashboard", "")}))]
    if m.get("refit"):
        parts.append(section("Test (refit of the best config, read once)",
                             kv_table({"run": m["refit"]["run_dir"], **(m["refit"].get("test") or {})})))
    figs = [img((folder / f).read_bytes(), k) for k, f in (m.get("files") or {}).items()
            if f.endswith(".png") and (folder / f).is_file()]
    complete = sum(r.get("state") == "complete" for r in rows)
    note = (f"<p class=muted>no parameter-importance plot: {complete} complete trial(s), fewer than "
            f"{MIN_TRIALS_FOR_IMPORTANCES}, say nothing reliable about importance</p>"
            if complete < MIN_TRIALS_FOR_IMPORTANCES else "")
    if figs or note:
        parts.append(section("Figures", f'<div class="figs">{"".join(figs)}</div>', note))
    cols = [c for c in (rows[0] if rows else {}) if c not in ("run_dir", "host", "error")]
    body = []
    for r in rows:
        run = Path(str(r.get("run_dir") or ""))
        rel = run.relative_to(folder.resolve()) if run.is_absolute() and run.is_relative_to(folder.resolve()) else None
        body.append([r.get(c) for c in cols] + [Link(str(rel / CONFIG), str(rel)) if rel else r.get("run_dir")])
    parts.append(section("Trials", table(body, cols + ["run folder"])))
    return f"Study {m['study']}", parts
