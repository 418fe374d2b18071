"""results.md and report.html of a reproduction, built from reproduce.json (one set of blocks, two renderings).

Every section puts zenlearn's mean ± std over seeds beside the published anchor, checks the section's claims
on the measured means, and says where the measurement disagrees with the source and why (the differences
between the published protocol and this run, and the experiment's notes).
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from zenlearn.io.atomic import write_bytes, write_text
from zenlearn.io.rundir import REPORT, REPRODUCE, RESULTS_MD, read_json
from zenlearn.report.html import img, page, section, table
from zenlearn.report.plots.reproduce import PLOTS

PLOT_DIR = "results"  # beside results.md, so results.md and results/ can be copied together (docs/)
Block = tuple  # ("h2"|"h3"|"p"|"code"|"ul"|"table"|"img", …)


# ---------------------------------------------------------------- numbers

UNITS = {"errors": (1.0, "", 0, "test errors"), "test_r2": (1.0, "", 3, "test R²")}
"""A table metric's (scale, unit, decimals, name) where it is not an accuracy shown in percent."""


def units(exp: dict[str, Any]) -> tuple[float, str, int, str]:
    """(scale, unit, decimals, name) of the experiment's headline metric."""
    return UNITS.get(exp["metric"], (100.0, " %", 2, "test accuracy"))


def _scale(exp: dict[str, Any]) -> float:
    return units(exp)[0]


def cell(exp: dict[str, Any], stats: dict[str, Any] | None, n: int) -> str:
    """"93.12 ± 0.41 %" (accuracy), "152 ± 9" (errors) or "0.512 ± 0.020" (R²); one seed shows no ±."""
    if not stats or stats.get("mean") is None or math.isnan(stats["mean"]):
        return "–"
    k, unit, d, _ = units(exp)
    std = stats.get("std")
    if n < 2 or std is None or math.isnan(std):
        return f"{stats['mean'] * k:.{d}f}{unit}"
    return f"{stats['mean'] * k:.{d}f} ± {std * k:.{d}f}{unit}"


def verdict(exp: dict[str, Any], row: dict[str, Any]) -> tuple[str, float | None]:
    """("agrees" | "disagrees" | "no number" | "not measured", measured − published in table units)."""
    a, s = row.get("anchor"), row.get("stats", {}).get(exp["metric"])
    if not a or a.get("value") is None:
        return "no number", None
    if not s or s.get("mean") is None or math.isnan(s["mean"]):
        return "not measured", None
    diff = s["mean"] - a["value"]
    if exp["metric"] == "errors":
        ok = abs(diff) <= exp["tolerance"] * a["value"]
    else:
        ok = abs(diff) <= exp["tolerance"]
    return ("agrees" if ok else "disagrees"), diff * _scale(exp)


def _tolerance_text(exp: dict[str, Any]) -> str:
    if exp["metric"] == "errors":
        return f"within {exp['tolerance']:.0%} of the published count"
    return f"within {exp['tolerance'] * 100:g} points of the published accuracy"


def _settings(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in d.items()) or "–"


def _show(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v)) if all(not isinstance(x, str) or "," not in x for x in v) else \
            " | ".join("none" if x is None else str(x) for x in v)
    return "none" if v is None else str(v)


# ---------------------------------------------------------------- blocks

def experiment_blocks(i: int, exp: dict[str, Any], plots: dict[str, str]) -> list[Block]:
    """The section of one experiment: claim, setting, table, plots, claims checked, disagreements, cost."""
    b: list[Block] = [("h2", f"{i}. {exp['title']}"), ("p", "The survey's claim.", exp["claim"])]
    bud = exp["budget"]
    setting = [f"base: {_settings(exp['base'])}"]
    for c in exp["comparisons"]:
        parts = [x for x in (_settings(c["overrides"]) if c["overrides"] else "",
                             f"vary {_settings(c['vary'])}" if c["vary"] else "",
                             f"LR grid {', '.join(f'{x:g}' for x in c['lr_grid'])} (picked on the validation split with the first "
                             f"seed; that run is the first seed of the row)"
                             if c["lr_grid"] else "") if x]
        setting.append(f"{c['name'] or 'compare'}: {'; '.join(parts) or 'the base'}")
    if exp.get("distill"):
        setting.append(f"student: {_settings(exp['distill'].get('student', {}))}; "
                       f"distillation: {_settings(exp['distill'].get('options', {}))}")
    setting.append(f"budget {bud['name']}: {bud['seeds']} seed(s); {_settings(bud['overrides'])}"
                   + "".join(f"; {tag} arms: {_settings(o)}"
                             + (f", {bud['tag_seeds'][tag]} seeds" if tag in bud.get("tag_seeds", {}) else "")
                             for tag, o in bud["per_tag"].items()))
    if exp["paper"]:
        setting.append(f"published protocol: {_settings(exp['paper'])}")
    b.append(("ul", setting))
    k_label = units(exp)[3]
    header = ["", f"zenlearn {k_label} (mean ± std, n seeds)", "n", "published", "difference", "verdict",
              "train samples", "train s/run"]
    rows = []
    for r in exp["rows"]:
        n = len([v for v in r["values"].get(exp["metric"], []) if v is not None])
        v, diff = verdict(exp, r)
        a = r.get("anchor") or {}
        secs = r.get("stats", {}).get("train_seconds", {}).get("mean")
        extra = f" (lr {r['lr']:g})" if r.get("lr") is not None else ""
        rows.append([r["label"] + extra, cell(exp, r["stats"].get(exp["metric"]), n), str(n),
                     f"{a['text']}" if a else "–", "–" if diff is None else f"{diff:+.{units(exp)[2]}f}",
                     v, str(r.get("train_samples") or "–"),
                     "–" if secs is None or math.isnan(secs) else f"{secs:.1f}"])
    b.append(("table", header, rows))
    sources = sorted({r["anchor"]["source"] for r in exp["rows"] if r.get("anchor") and r["anchor"]["source"]})
    if sources:
        b.append(("p", "Sources.", "; ".join(sources) + f". Agreement means {_tolerance_text(exp)}."))
    failed = [f"{r['label']}: {f}" for r in exp["rows"] for f in r.get("failed", [])]
    if failed:
        b.append(("p", "Failed runs.", "; ".join(failed)))
    for name, caption in (("final", "final metric beside the published anchor"), ("curves", "training curves"),
                          ("grad-norms", "per-layer gradient norms"), ("lr-grid", "learning-rate selection")):
        if name in plots:
            b.append(("img", plots[name], f"{exp['name']}: {caption}"))
    if exp["claims"]:
        items = []
        for c in exp["claims"]:
            pairs = "; ".join(_pair_text(exp, c["metric"], p) for p in c["checks"])
            items.append(f"{c['text']}: {c['verdict'].upper()} ({pairs})")
        b.append(("p", "Claims checked on the measured means.", ""))
        b.append(("ul", items))
    b.append(("p", "Where zenlearn's measurement disagrees, and why.", ""))
    b.append(("ul", disagreements(exp)))
    if exp.get("commands"):
        b.append(("p", "The same runs by hand (or on your own data: change --data).", ""))
        b.append(("ul", [f"`{c}`" for c in exp["commands"]]))
    b.append(("p", "Cost.", f"{exp['seconds'] / 60:.1f} min wall time for this section."))
    return b


def _pair_text(exp: dict[str, Any], metric: str, p: dict[str, Any]) -> str:
    if p["result"] == "not measured":
        return f"{p['better']} vs {p['worse']}: not measured"
    k = 100.0 if "accuracy" in metric else 1.0
    fmt = (lambda x: f"{x * k:.2f}") if k == 100 else (lambda x: f"{x:.4g}")
    lower = metric in ("train_loss", "errors", "test_loss")
    rel = {"holds": ("<" if lower else ">"), "fails": "vs"}[p["result"]]
    if p["result"] == "holds" and (p["a"] < p["b"]) != lower and p["a"] != p["b"]:
        rel = "trails, within the claim's margin,"  # a claim with a margin ("≥ the peer − 0.5 points")
    noise = ", within noise" if p.get("within_noise") else ""
    return f"{p['better']} {fmt(p['a'])} {rel} {p['worse']} {fmt(p['b'])}{noise}"


def disagreements(exp: dict[str, Any]) -> list[str]:
    """Each anchor the measurement misses and each claim that fails, then the protocol differences and notes."""
    out = []
    for r in exp["rows"]:
        v, diff = verdict(exp, r)
        if v == "disagrees":
            n = len(r["values"].get(exp["metric"], []))
            out.append(f"{r['label']}: measured {cell(exp, r['stats'][exp['metric']], n)}, published "
                       f"{r['anchor']['text']} ({diff:+.{0 if _scale(exp) == 1 else 2}f}).")
    for c in exp["claims"]:
        if c["verdict"] in ("fails", "partly holds"):
            bad = [f"{p['better']} vs {p['worse']}" + (" (within noise)" if p.get("within_noise") else "")
                   for p in c["checks"] if p["result"] == "fails"]
            out.append(f"Claim \"{c['text']}\" {c['verdict']}: it fails for {', '.join(bad)}.")
    if not out:
        out.append(f"Nothing measured here contradicts the source: every numeric anchor is {_tolerance_text(exp)} "
                   f"and every claim holds.")
    epochs = sorted({len(c.get("loss", [])) for r in exp["rows"] for c in r["curves"]} - {0})
    samples = sorted({r["train_samples"] for r in exp["rows"] if r.get("train_samples")})
    here = []
    if exp["paper"].get("epochs") is not None and epochs:
        here.append(f"{'/'.join(map(str, epochs))} epoch(s) here vs {exp['paper']['epochs']} in the source")
    if exp["paper"].get("train_samples") and samples:
        here.append(f"{'/'.join(f'{s:,}' for s in samples)} training samples here vs {exp['paper']['train_samples']:,}")
    if here:
        out.append("Why (protocol): " + "; ".join(here) + f"; {exp['seeds']} seed(s).")
    out += [f"Why (setting): {n}" for n in exp["notes"]]
    return out


def document_blocks(result: dict[str, Any], plots: dict[str, dict[str, str]]) -> list[Block]:
    """The whole document: title, provenance, the agreement summary, one section per experiment."""
    m = result["machine"]
    total = result.get("seconds", 0.0)
    when = result.get("finished") or result["started"]
    b: list[Block] = [("h1", "zenlearn reproduces the survey's claims"),
                      ("p", "Made by", f"`{result['command']}` ({result['budget']} budget) on {when[:10]} "
                       f"({when[11:16]} UTC): {m.get('cpu')}, {m.get('cores')} cores available, torch "
                       f"{m.get('torch')} with {m.get('cpu_threads')} thread{'' if m.get('cpu_threads') == 1 else 's'}, Python {m.get('python')}, "
                       f"{m.get('platform')}" + (f", GPU {m['gpu']}" if m.get("gpu") else ", no GPU") + "."),
                      ("p", "Cost.", f"{total / 60:.1f} min wall time in all (" + ", ".join(
                          f"{e['name']} {e['seconds'] / 60:.1f} min" for e in result["experiments"]) + ")."),
                      ("p", "Regenerate.", "Every row is a normal `zenlearn compare` (or `zenlearn distill`) "
                       "run; their folders sit under the output folder. `zenlearn reproduce --out DIR` runs this "
                       "budget; `--quick` runs every section in ≤ 15 min on 2 CPU cores (fewer epochs and "
                       "seeds, and subsets: see each section's budget line); `--only NAME…` and `--seeds N` pick "
                       "sections and seeds. Numbers are mean ± sample std over seeds.")]
    summary = []
    for i, e in enumerate(result["experiments"], 1):
        for r in e["rows"]:
            v, diff = verdict(e, r)
            if v in ("agrees", "disagrees"):
                n = len(r["values"].get(e["metric"], []))
                summary.append([f"{i}. {e['name']}", f"{r['label']}: {r['anchor']['text']}",
                                cell(e, r["stats"][e["metric"]], n), v])
        for c in e["claims"]:
            summary.append([f"{i}. {e['name']}", c["text"], "; ".join(
                _pair_text(e, c["metric"], p) for p in c["checks"]), c["verdict"]])
    b += [("h2", "Where zenlearn agrees and disagrees"), ("table", ["section", "anchor or claim", "measured", "verdict"],
                                                          summary)]
    for i, e in enumerate(result["experiments"], 1):
        b += experiment_blocks(i, e, plots.get(e["name"], {}))
    return b


# ---------------------------------------------------------------- rendering

def render_plots(out: Path, result: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Write results/<experiment>-<plot>.png; returns {experiment: {plot: relative path}}."""
    files: dict[str, dict[str, str]] = {}
    for e in result["experiments"]:
        for name, fn in PLOTS.items():
            png = fn(e)
            if png:
                rel = f"{PLOT_DIR}/{e['name']}-{name}.png"
                write_bytes(out / rel, png)
                files.setdefault(e["name"], {})[name] = rel
    return files


def to_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for blk in blocks:
        kind = blk[0]
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + blk[1], ""]
        elif kind == "p":
            lines += [(f"**{blk[1]}** " if blk[1] else "") + blk[2], ""]
        elif kind == "ul":
            lines += [f"- {x}" for x in blk[1]] + [""]
        elif kind == "table":
            esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
            lines += ["| " + " | ".join(map(esc, blk[1])) + " |", "|" + "---|" * len(blk[1])]
            lines += ["| " + " | ".join(map(esc, r)) + " |" for r in blk[2]] + [""]
        elif kind == "img":
            lines += [f"![{blk[2]}]({blk[1]})", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """HTML-escape, then `code` spans."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def to_html_sections(blocks: list[Block], out: Path) -> tuple[str, list[str]]:
    title, sections, current, parts = "", [], None, []
    for blk in blocks:
        kind = blk[0]
        if kind == "h1":
            title = blk[1]
            continue
        if kind == "h2":
            if current is not None or parts:
                sections.append(section(current or "Overview", *parts))
            current, parts = blk[1], []
        elif kind == "p":
            parts.append(f"<p>{'<b>' + _inline(blk[1]) + '</b> ' if blk[1] else ''}{_inline(blk[2])}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in blk[1]) + "</ul>")
        elif kind == "table":
            parts.append(table(blk[2], blk[1]))
        elif kind == "img":
            parts.append(f'<div class="figs">{img((out / blk[1]).read_bytes(), blk[2])}</div>')
    sections.append(section(current or "Overview", *parts))
    return title, sections


def write_markdown(out: Path, result: dict[str, Any]) -> Path:
    """Write out/results.md and its plots under out/results/."""
    blocks = document_blocks(result, render_plots(out, result))
    write_text(out / RESULTS_MD, to_markdown(blocks))
    return out / RESULTS_MD


def plot_files(out: Path, result: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The plots already written under out/results/, as `render_plots` returns them."""
    return {e["name"]: {n: f"{PLOT_DIR}/{e['name']}-{n}.png" for n in PLOTS
                        if (out / PLOT_DIR / f"{e['name']}-{n}.png").is_file()} for e in result["experiments"]}


def write_html(out: Path, result: dict[str, Any]) -> Path:
    """Write out/report.html (self-contained; the plots written by `write_markdown` are embedded)."""
    title, sections = to_html_sections(document_blocks(result, plot_files(out, result)), out)
    write_text(out / REPORT, page(title, sections, "reproduction"))
    return out / REPORT


def reproduction_sections(folder: Path, **_: Any) -> tuple[str, list[str]]:
    """`zenlearn report DIR` on a reproduction folder: rebuild results.md and plots, return the page's sections."""
    result = read_json(folder / REPRODUCE)
    write_markdown(folder, result)
    return to_html_sections(document_blocks(result, plot_files(folder, result)), folder)
