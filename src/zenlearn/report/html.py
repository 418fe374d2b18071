"""HTML building blocks of zenlearn's self-contained reports: tables, embedded PNGs, sections, the page.

A page needs no server, no network and no JavaScript; its Content-Security-Policy forbids loading
anything from outside the file.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from zenlearn.version import __version__

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
    """A number as zenlearn shows it everywhere (reports and CLI): floats to `digits` significant places,
    with thousands separators from 1,000 up; None as a dash; the rest as text.

    Example:
        >>> fmt(0.987654), fmt(5634.2, 3), fmt(123456.7), fmt(12), fmt(None)
        ('0.9877', '5,630', '123,500', '12', '–')
    """
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        if v != v:
            return "nan"
        if abs(v) >= 1000 and abs(v) != float("inf"):  # never "5.63e+03"
            return f"{float(f'{v:.{digits}g}'):,.0f}"
        return f"{v:.{digits}g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def fmt_spread(mean: float, spread: float | None, digits: int = 4) -> str:
    """`mean ± spread`, the mean to `digits` significant places and the spread to the same decimal places.

    Example:
        >>> fmt_spread(0.951234, 0.0031416), fmt_spread(1234.5, 12.34), fmt_spread(0.5, None)
        ('0.9512 ± 0.0031', '1,234 ± 12', '0.5')
    """
    if spread is None or spread != spread:
        return fmt(mean, digits)
    if mean == 0 or mean != mean or abs(mean) == float("inf"):
        return f"{fmt(mean, digits)} ± {fmt(spread, digits)}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(mean))))
    return f"{mean:,.{decimals}f} ± {spread:,.{decimals}f}"


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
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body><header><h1>{esc(title)}</h1>"
            f"<p>zenlearn {esc(__version__)} {esc(kind)} report · built {stamp}</p></header>\n<main>\n"
            + "\n".join(sections) + "\n</main></body></html>\n")


def kv_table(d: dict[str, Any]) -> str:
    return table([(k, v if not isinstance(v, (list, tuple, dict)) else json.dumps(v)) for k, v in d.items()])
