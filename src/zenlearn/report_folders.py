"""Reports of multi-run folders: comparisons (variants × seeds) and distillation (teacher → student, T × alpha)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from . import plots
from .report import Link, esc, fmt, img, kv_table, read_csv, read_json, section, table


def _table_of(rows: list[dict[str, Any]], skip: tuple[str, ...] = ()) -> str:
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols and c not in skip]
    return table([[r.get(c) for c in cols] for r in rows], cols)


def _embed(folder: Path, name: str, alt: str) -> str:
    f = folder / name
    return img(f.read_bytes(), alt) if f.is_file() else ""


def _mean_std(m: Any, s: Any) -> str:
    if not isinstance(m, float) or math.isnan(m):
        return "–"
    return f"{fmt(m)} ± {fmt(s)}" if isinstance(s, float) and not math.isnan(s) else fmt(m)


# ---------------------------------------------------------------- comparison (zenlearn compare)

def comparison_sections(folder: Path, **_: Any) -> tuple[str, list[str]]:
    """Title and sections of a comparison folder (summary.csv per variant, results.csv per variant and seed)."""
    summary, results = read_csv(folder / "summary.csv"), read_csv(folder / "results.csv")
    manifest = read_json(folder / "compare.json") if (folder / "compare.json").is_file() else {}
    base = manifest.get("base_config") or {}
    vary = manifest.get("vary") or {}
    metric = manifest.get("metric") or next((m for m in ("val_accuracy", "val_mae", "test_accuracy", "test_mae")
                                             if f"{m}_mean" in (summary[0] if summary else {})), "test_accuracy")
    best = next((r["variant"] for r in summary if str(r.get("best")).lower() == "true"), None)
    seeds = manifest.get("seeds") or sorted({r.get("seed") for r in results})
    lead = (f'<p class="lead"><b>{len(summary)}</b> variant{"s" if len(summary) != 1 else ""} × <b>{len(seeds)}</b> '
            f"seed{'s' if len(seeds) != 1 else ''} of <b>{esc(base.get('model', '?'))}</b> on "
            f"<b>{esc(base.get('data', '?'))}</b>, varying {esc(', '.join(vary) or '?')}; ranked by "
            f"<b>{esc(metric)}</b> (mean over seeds).")
    if best:
        row = next(r for r in summary if r["variant"] == best)
        lead += f" Best: <b>{esc(best)}</b> with {esc(_mean_std(row.get(metric + '_mean'), row.get(metric + '_std')))}."
    failed = [r for r in results if r.get("status") == "failed"]
    if failed:
        lead += f' <span class="bad">{len(failed)} run(s) failed (see All runs).</span>'
    metrics = [c[: -len("_mean")] for c in (summary[0] if summary else {}) if c.endswith("_mean")]
    keys = list(vary)
    body = [[("★ " if r["variant"] == best else "") + str(r["variant"]), *[r.get(k) for k in keys],
             f"{fmt(r.get('ok'))}/{fmt(r.get('runs'))}", *[_mean_std(r.get(f"{m}_mean"), r.get(f"{m}_std")) for m in metrics]]
            for r in summary]
    out = [section("Summary", lead + "</p>", "<h3>Per variant (mean ± std over seeds; summary.csv)</h3>",
                   table(body, ["variant", *keys, "ok/runs", *metrics]), sid="summary")]
    figs = _embed(folder, "val_curves.png", "validation curves per variant") + _embed(folder, "final_metric.png",
                                                                                   "final metric per variant")
    if not figs and summary and f"{metric}_mean" in summary[0]:
        means = [r.get(f"{metric}_mean") for r in summary]
        errs = [r.get(f"{metric}_std") if isinstance(r.get(f"{metric}_std"), float) and not math.isnan(r[f"{metric}_std"])
                else 0.0 for r in summary]
        ok = [(str(r["variant"]), m, e) for r, m, e in zip(summary, means, errs) if isinstance(m, float) and not math.isnan(m)]
        if ok:
            figs = img(plots.bars([o[0] for o in ok], [o[1] for o in ok], [o[2] for o in ok], metric, metric), metric)
    if figs:
        out.append(section("Plots", "<p class=muted>curves: mean over seeds with a ± std band; bars: mean ± std "
                           "with every seed</p>", f'<div class="figs">{figs}</div>', sid="plots"))
    links = []
    for r in results:
        rd = r.get("run_dir")
        rep = folder / str(rd) / "report.html" if rd else None
        links.append({**r, "report": Link(f"{rd}/report.html", "report") if rep is not None and rep.is_file() else None})
    out.append(section("All runs", "<p class=muted>results.csv; each run folder holds its own report.html</p>",
                       _table_of(links, skip=("error",) if not failed else ()), sid="results"))
    if base:
        out.append(section("Base configuration", kv_table({k: v for k, v in base.items() if k not in vary}), sid="config"))
    return f"comparison — {folder.name}", out


# ---------------------------------------------------------------- distillation (zenlearn distill)

def distillation_sections(folder: Path, **_: Any) -> tuple[str, list[str]]:
    """Title and sections of a distillation folder (teacher, student from scratch, distilled student)."""
    s = read_json(folder / "summary.json")
    roles = ("teacher", "student_scratch", "student_distilled")
    rows = [[r, *(_metric(s[r], k) for k in ("accuracy", "loss", "params"))] for r in roles if isinstance(s.get(r), dict)]
    out = [section("Teacher and students", table(rows, ["model", "test accuracy", "test loss", "parameters"]),
                   sid="summary")]
    rest = {k: v for k, v in s.items() if k not in roles}
    if rest:
        out.append(section("Details", kv_table(rest), sid="details"))
    return f"distillation — {folder.name}", out


def _metric(d: dict[str, Any], key: str) -> Any:
    if key in d:
        return d[key]
    test = d.get("test")
    return test.get(key) if isinstance(test, dict) else None
