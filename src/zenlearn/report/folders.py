"""Reports of multi-run folders: comparisons (variants × seeds) and distillation (teacher → student, T × alpha)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from zenlearn.io.rundir import (
    COMPARE,
    CONFIG,
    DISTILL,
    FINAL_METRIC,
    METRICS,
    QUICKSTART,
    REPORT,
    RESULTS,
    STATS,
    SUMMARY,
    VAL_CURVES,
    read_csv,
    read_json,
)
from zenlearn.nn.tasks import first_metric, metric_names
from zenlearn.report.html import Link, esc, fmt, fmt_spread, img, kv_table, section, table
from zenlearn.report.plots import run as plots


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
    return fmt_spread(m, s if isinstance(s, float) else None)


# ---------------------------------------------------------------- comparison (zenlearn compare)

def comparison_sections(folder: Path, **_: Any) -> tuple[str, list[str]]:
    """Title and sections of a comparison folder (summary.csv per variant, results.csv per variant and seed)."""
    summary, results = read_csv(folder / STATS), read_csv(folder / RESULTS)
    manifest = read_json(folder / COMPARE) if (folder / COMPARE).is_file() else {}
    base = manifest.get("base_config") or {}
    vary = manifest.get("vary") or {}
    metric = (manifest.get("metric") or first_metric(summary[0] if summary else {}, ("val_", "test_"), "_mean")
              or f"test_{metric_names(primary=True)[0]}")
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
    figs = _embed(folder, VAL_CURVES, "validation curves per variant") + _embed(folder, FINAL_METRIC,
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
        rep = folder / str(rd) / REPORT if rd else None
        links.append({**r, "report": Link(f"{rd}/report.html", "report") if rep is not None and rep.is_file() else None})
    out.append(section("All runs", "<p class=muted>results.csv; each run folder holds its own report.html</p>",
                       _table_of(links, skip=("error",) if not failed else ()), sid="results"))
    if base:
        out.append(section("Base configuration", kv_table({k: v for k, v in base.items() if k not in vary}), sid="config"))
    return f"comparison — {folder.name}", out


# ---------------------------------------------------------------- distillation (zenlearn distill)

ROLES = {"teacher": "teacher", "student_scratch": "student from scratch (labels only)",
         "student_distilled": "distilled student"}


def distillation_sections(folder: Path, **_: Any) -> tuple[str, list[str]]:
    """Title and sections of a distillation folder: teacher vs the student from scratch vs the distilled
    student, their curves, and the T × alpha sweep heat-map when there was one."""
    s = read_json(folder / SUMMARY)
    roles = [r for r in ROLES if isinstance(s.get(r), dict)]
    d = s.get("student_distilled") or {}
    out = [section("Summary", _distill_lead(s), _distill_table(s, roles, folder), sid="summary")]
    short = {"teacher": "teacher", "student_scratch": "from scratch", "student_distilled": "distilled"}
    accs = [(short[r], _metric(s[r], "accuracy")) for r in roles]
    figs = []
    if all(isinstance(a, float) for _, a in accs) and accs:
        figs.append(img(plots.bars([n for n, _ in accs], [a for _, a in accs], None, "Test accuracy", "accuracy"),
                        "test accuracy of teacher and students"))
    curves = {r: _run_rows(folder, s[r].get("run")) for r in ("student_scratch", "student_distilled") if r in s}
    if any(curves.values()):
        ep = max((rows for rows in curves.values()), key=len)
        epochs = [r["epoch"] for r in ep]
        for col, title in (("val_accuracy", "Validation accuracy"), ("val_loss", "Validation loss")):
            series = {ROLES[r]: [row.get(col) for row in rows] + [None] * (len(epochs) - len(rows))
                      for r, rows in curves.items() if rows}
            figs.append(img(plots.curves(epochs, series, title, col.replace("_", " ")), title))
    if figs:
        out.append(section("Plots", f'<div class="figs">{"".join(figs)}</div>', sid="plots"))
    sel = s.get("selection")
    if isinstance(sel, dict) and sel.get("val_accuracy"):
        out.append(section("Temperature × alpha sweep", *_sweep(sel), sid="sweep"))
    if s.get("splits"):
        out.append(section("Data and the use of each split", kv_table(s["splits"]), sid="splits"))
    if (folder / DISTILL).is_file():
        import yaml

        opts = yaml.safe_load((folder / DISTILL).read_text()) or {}
        out.append(section("Distillation options", "<p class=muted>distill.yaml, as given (a sweep's choice is in the summary)</p>", kv_table(opts), sid="config"))
    env = {**(s.get("environment") or {}), **{k: s[k] for k in ("device", "seed", "data") if k in s}}
    if env:
        out.append(section("Environment", kv_table(env), sid="environment"))
    title = f"distillation: {d.get('model', '?')} student from {(s.get('teacher') or {}).get('model', '?')} teacher — {folder.name}"
    return title, out


def _distill_lead(s: dict[str, Any]) -> str:
    t, sc, d = (s.get(r) or {} for r in ROLES)
    hidden = lambda x: f" ({','.join(map(str, x['hidden']))})" if x.get("hidden") else ""  # noqa: E731
    how = f"method <b>{esc(d.get('method', '?'))}</b>"
    if d.get("method") == "kd":
        how += f" (temperature {fmt(d.get('temperature'))}, alpha {fmt(d.get('alpha'))})"
    text = (f"A <b>{esc(d.get('model'))}{esc(hidden(d))}</b> student ({fmt(d.get('params'))} parameters"
            + (f", {s['compression_ratio']:.1f}× fewer than the teacher" if isinstance(s.get("compression_ratio"), float) else "")
            + f") learned from a <b>{esc(t.get('model'))}{esc(hidden(t))}</b> teacher on <b>{esc(s.get('data', '?'))}</b> "
            f"by {how}, and once more from the labels alone with identical settings.")
    te, ts, td = (_metric(x, "errors") for x in (t, sc, d))
    if isinstance(ts, int) and isinstance(td, int):
        gap = ts - td
        verdict = (f'<span class="good">distillation removed {gap:,} test errors</span>' if gap > 0 else
                   f'<span class="bad">distillation added {-gap:,} test errors</span>' if gap < 0 else "no change in test errors")
        text += (f" Test errors: teacher {fmt(te)}, student from scratch {ts:,}, distilled student {td:,} — {verdict}.")
    return f'<p class="lead">{text}</p>'


def _distill_table(s: dict[str, Any], roles: list[str], folder: Path) -> str:
    cols = ["model", "hidden", "params", "val accuracy", "test accuracy", "test errors", "test loss",
            "inference ms/sample", "train s", "epochs", "run folder"]
    rows = []
    for r in roles:
        x = s[r]
        v, t = x.get("val") or {}, x.get("test") or {}
        rows.append([ROLES[r], x.get("model"), ",".join(map(str, x.get("hidden") or [])) or None, x.get("params"),
                     v.get("accuracy"), t.get("accuracy"), t.get("errors"), t.get("loss"),
                     x.get("inference_ms_per_sample"), x.get("train_seconds"), x.get("epochs"), _run_link(folder, x.get("run"))])
    return table(rows, ["", *cols])


# ---------------------------------------------------------------- quick start (zenlearn quickstart)

def is_quickstart(folder: Path) -> bool:
    return (folder / QUICKSTART).is_file()


def quickstart_sections(folder: Path, **_: Any) -> tuple[str, list[str]]:
    """Title and sections of a quickstart folder: each model's test accuracy beside the published one, and
    links to every run's own report."""
    q = read_json(folder / QUICKSTART)
    rows = q.get("rows") or []
    body = [[r["model"], f"{100 * r['published']:.0f}%",
             fmt_spread(100 * r["accuracy"], 100 * r["std"] if len(r.get("accuracies", [])) > 1 else None, 3) + "%",
             len(r.get("accuracies", [])), r.get("train_seconds"), *[_run_link(folder, run) for run in r["runs"][:1]]]
            for r in rows]
    lead = (f'<p class="lead">{len(rows)} model{"s" if len(rows) != 1 else ""} on <b>{esc(q.get("data", "?"))}</b>, '
            f"each trained with its recipe; test accuracy beside {esc(q.get('source', 'the published one'))}.</p>")
    return f"quick start — {folder.name}", [
        section("Summary", lead, table(body, ["model", "published", "zenlearn (test)", "seeds", "train s", "run"]),
                sid="summary")]


def _resolve_run(folder: Path, run: Any) -> Path | None:
    if not run:
        return None
    for p in (Path(run), folder / str(run), folder.parent / str(run)):
        if (p / CONFIG).is_file():
            return p
    return None


def _run_link(folder: Path, run: Any) -> Any:
    p = _resolve_run(folder, run)
    if p is not None and (p / REPORT).is_file():
        try:
            return Link(str((p / REPORT).resolve().relative_to(folder.resolve())), str(run))
        except ValueError:
            return Link((p / REPORT).resolve().as_uri(), str(run))
    return run


def _run_rows(folder: Path, run: Any) -> list[dict[str, Any]]:
    p = _resolve_run(folder, run)
    return read_csv(p / METRICS) if p is not None and (p / METRICS).is_file() else []


def _sweep(sel: dict[str, Any]) -> list[str]:
    import numpy as np

    ts, alphas = sel.get("temperature") or [], sel.get("alpha") or []
    acc = np.array(sel["val_accuracy"], dtype=float)  # (len(ts), len(alphas))
    chosen = sel.get("chosen") or {}
    heat = img(plots.heatmap(acc, [f"T={t:g}" for t in ts], [f"{a:g}" for a in alphas],
                             "Validation accuracy over temperature × alpha", "alpha (weight of the soft-target loss)",
                             "temperature", "validation accuracy"), "temperature × alpha heat-map")
    rows = [[f"T={t:g}", *[f"{100 * v:.2f}%" + (" ★" if (t, a) == (chosen.get("temperature"), chosen.get("alpha")) else "")
                           for a, v in zip(alphas, r)]] for t, r in zip(ts, acc)]
    note = (f"<p>Each cell is a distilled student trained with that setting and scored on the <b>validation</b> split; "
            f"★ marks the setting chosen (temperature {fmt(chosen.get('temperature'))}, alpha {fmt(chosen.get('alpha'))}), "
            f"which is the distilled student above. The test split was not used for the choice.</p>")
    return [note, f'<div class="figs">{heat}<div>{table(rows, ["", *[f"alpha={a:g}" for a in alphas]])}</div></div>']


def _metric(d: dict[str, Any], key: str) -> Any:
    if key in d:
        return d[key]
    test = d.get("test")
    return test.get(key) if isinstance(test, dict) else None
