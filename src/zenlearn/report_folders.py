"""Reports of multi-run folders: comparisons (variants × seeds) and distillation (teacher → student, T × alpha)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import kv_table, read_csv, read_json, section, table


def _table_of(rows: list[dict[str, Any]]) -> str:
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    return table([[r.get(c) for c in cols] for r in rows], cols)


def comparison_sections(folder: Path, **_: Any) -> tuple[str, list[str]]:
    """Title and sections of a comparison folder (summary.csv per variant, results.csv per variant and seed)."""
    summary, results = read_csv(folder / "summary.csv"), read_csv(folder / "results.csv")
    out = [section("Summary per variant", _table_of(summary), sid="summary")]
    out.append(section("All runs", _table_of(results), sid="results"))
    return f"comparison — {folder.name}", out


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

