"""Self-contained HTML reports for result folders (`report.html`): plots embedded as PNG data URIs.

A folder's kind is detected from the files it holds (`REPORTS`, checked in registration order): a
distillation folder, a comparison folder, or a training run. Each kind has a builder that returns the
page's sections; the page needs no server, no network and no JavaScript, and its Content-Security-Policy
forbids loading anything from outside the file.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from .atomic import write_text
from .errors import UsageError
from .registry import Registry

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class FolderKind:
    """How to recognise a result folder (`detect(folder) -> bool`) and build its report sections."""

    detect: Callable[[Path], bool]
    build: Callable[..., tuple[str, list[str]]]
    """build(folder, **context) -> (page title, HTML sections)."""


REPORTS: Registry[FolderKind] = Registry("result folder kind")


def read_json(path: Path) -> Any:
    """Parse a JSON file of a result folder; a corrupt file is a `UsageError` naming it."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"{path} is not readable JSON ({e}); rerun the command that wrote it") from None


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV file with numeric cells converted to float (empty cells become None)."""
    with open(path, newline="") as f:
        return [{k: _num(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _num(v: str | None) -> Any:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return v


def detect_kind(folder: str | Path) -> str:
    """The registered kind of result `folder` ("run", "comparison", "distillation", …).

    Example:
        >>> detect_kind("runs/cnn")  # doctest: +SKIP
        'run'
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; pass a folder written by `zenlearn train` (or compare/distill)")
    for entry in REPORTS:
        if entry.obj.detect(folder):
            return entry.name
    raise UsageError(f"{folder} does not look like a zenlearn result folder (no summary.json, results.csv or "
                     f"metrics.csv); pass a run, comparison or distillation folder")


def write_report(folder: str | Path, **context: Any) -> Path:
    """Build `folder/report.html` for whatever kind of result folder `folder` is; returns its path.

    Args:
        folder: A run, comparison or distillation folder.
        **context: Objects the builder may reuse instead of reloading them (a run's `trainer` and
            `splits`, or `data_dir`). Defaults to none.

    Example:
        >>> write_report("runs/cnn")  # doctest: +SKIP
        PosixPath('runs/cnn/report.html')
    """
    folder = Path(folder)
    kind = detect_kind(folder)
    title, sections = REPORTS.get(kind).build(folder, **context)
    path = folder / REPORT_FILE
    write_text(path, page(title, sections, kind))
    return path


# ---------------------------------------------------------------- HTML building blocks

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f4f6f9}
header{background:#1d2b45;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85}main{padding:8px 28px 40px;max-width:1200px}
section{background:#fff;border-radius:8px;padding:14px 20px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:17px;margin:4px 0 10px;color:#1d2b45}h3{font-size:14px;margin:12px 0 6px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{border-bottom:1px solid #e3e7ee;padding:4px 10px;
text-align:left;vertical-align:top}th{background:#f0f3f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
.lead{font-size:15px}.figs{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
img{max-width:100%;height:auto;border:1px solid #e3e7ee;border-radius:4px}.muted{color:#667085}
pre{background:#f6f8fa;padding:8px;border-radius:4px;overflow:auto;font-size:12px}
.bad{color:#b42318}.good{color:#067647}
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def esc(x: Any) -> str:
    return html.escape(str(x))


def fmt(v: Any, digits: int = 4) -> str:
    """A table cell: floats to `digits` significant places, None as a dash, the rest as text."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        if v != v:
            return "nan"
        return f"{v:.{digits}g}" if abs(v) < 1e5 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


@dataclass(frozen=True)
class Link:
    """A table cell that links to a file beside the report (e.g. a run's own report.html)."""

    href: str
    text: str


def table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """An HTML table; numbers are right-aligned and formatted with `fmt`; `Link` cells become links."""
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for v in row:
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            if isinstance(v, Link):
                cells.append(f'<td><a href="{esc(v.href)}">{esc(v.text)}</a></td>')
                continue
            cells.append(f'<td class="n">{esc(fmt(v))}</td>' if num else f"<td>{esc(fmt(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(out + ["</table>"])


def img(png: bytes, alt: str) -> str:
    """An <img> with the PNG embedded as a data URI (the report stays one self-contained file)."""
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def section(title: str, *parts: str, sid: str | None = None) -> str:
    sid = sid or title.lower().replace(" ", "-")
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>\n' + "\n".join(parts) + "\n</section>"


def page(title: str, sections: list[str], kind: str) -> str:
    """The complete HTML document."""
    from . import __version__

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body><header><h1>{esc(title)}</h1>"
            f"<p>zenlearn {esc(__version__)} {esc(kind)} report · built {stamp}</p></header>\n<main>\n"
            + "\n".join(sections) + "\n</main></body></html>\n")


def kv_table(d: dict[str, Any]) -> str:
    return table([(k, v if not isinstance(v, (list, tuple, dict)) else json.dumps(v)) for k, v in d.items()])


# ---------------------------------------------------------------- folder kinds

def _is_run(folder: Path) -> bool:
    return (folder / "config.yaml").is_file() and ((folder / "metrics.csv").is_file()
                                                   or (folder / "summary.json").is_file())


def _is_distillation(folder: Path) -> bool:
    f = folder / "summary.json"
    if not f.is_file():
        return False
    try:
        d = json.loads(f.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(d, dict) and {"teacher", "student_scratch", "student_distilled"} <= set(d)


def _is_comparison(folder: Path) -> bool:
    return (folder / "results.csv").is_file() and (folder / "summary.csv").is_file()


def _lazy(module: str, name: str) -> Callable[..., tuple[str, list[str]]]:
    def build(folder: Path, **context: Any) -> tuple[str, list[str]]:
        import importlib

        return getattr(importlib.import_module(f".{module}", __package__), name)(folder, **context)

    return build


def _is_reproduction(folder: Path) -> bool:
    return (folder / "reproduce.json").is_file()


# Most specific first: a distillation folder may also hold run-like files.
REPORTS.add("reproduction", FolderKind(_is_reproduction, _lazy("reproduce_report", "reproduction_sections")),
            "reproduce.json: the survey's claims measured (zenlearn reproduce)")
REPORTS.add("distillation", FolderKind(_is_distillation, _lazy("report_folders", "distillation_sections")),
            "summary.json with teacher / student_scratch / student_distilled")
REPORTS.add("comparison", FolderKind(_is_comparison, _lazy("report_folders", "comparison_sections")),
            "results.csv (one row per variant and seed) and summary.csv (statistics per variant)")
REPORTS.add("run", FolderKind(_is_run, _lazy("report_run", "run_sections")),
            "a training run: config.yaml with metrics.csv or summary.json")
