"""`report.html` for any result folder: its kind is detected from the files it holds (`REPORTS`, checked in
registration order, most specific first) and that kind's builder returns the page's sections.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from zenlearn.errors import UsageError
from zenlearn.io.atomic import write_text
from zenlearn.io.rundir import REPORT, REPRODUCE, RESULTS, STATS, SUMMARY, RunDir
from zenlearn.registry import Registry
from zenlearn.report.folders import comparison_sections, distillation_sections, is_quickstart, quickstart_sections
from zenlearn.report.html import page
from zenlearn.report.reproduction import reproduction_sections
from zenlearn.report.run import run_sections
from zenlearn.report.study import is_study, study_sections

REPORT_FILE = REPORT


@dataclass(frozen=True)
class FolderKind:
    """How to recognise a result folder (`detect(folder) -> bool`) and build its report sections."""

    detect: Callable[[Path], bool]
    build: Callable[..., tuple[str, list[str]]]
    """build(folder, **context) -> (page title, HTML sections)."""


REPORTS: Registry[FolderKind] = Registry("result folder kind")


def detect_kind(folder: str | Path) -> str:
    """The registered kind of result `folder` ("run", "comparison", "distillation", …).

    Example:
        >>> detect_kind(run_dir)
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
        >>> write_report(run_dir).name
        'report.html'
    """
    folder = Path(folder)
    kind = detect_kind(folder)
    title, sections = REPORTS.get(kind).build(folder, **context)
    path = folder / REPORT_FILE
    write_text(path, page(title, sections, kind))
    return path


def _is_run(folder: Path) -> bool:
    return RunDir(folder).is_run()


def _is_distillation(folder: Path) -> bool:
    f = folder / SUMMARY
    if not f.is_file():
        return False
    try:
        d = json.loads(f.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(d, dict) and {"teacher", "student_scratch", "student_distilled"} <= set(d)


def _is_comparison(folder: Path) -> bool:
    return (folder / RESULTS).is_file() and (folder / STATS).is_file()


def _is_reproduction(folder: Path) -> bool:
    return (folder / REPRODUCE).is_file()


# Most specific first: a distillation folder may also hold run-like files.
REPORTS.add("quickstart", FolderKind(is_quickstart, quickstart_sections),
            "quickstart.json: the MNIST-1D quick start's models beside the published accuracies (zenlearn quickstart)")
REPORTS.add("study", FolderKind(is_study, study_sections), "tune.json and study.csv: a hyperparameter search (zenlearn tune)")
REPORTS.add("reproduction", FolderKind(_is_reproduction, reproduction_sections),
            "reproduce.json: the survey's claims measured (zenlearn reproduce)")
REPORTS.add("distillation", FolderKind(_is_distillation, distillation_sections),
            "summary.json with teacher / student_scratch / student_distilled")
REPORTS.add("comparison", FolderKind(_is_comparison, comparison_sections),
            "results.csv (one row per variant and seed) and summary.csv (statistics per variant)")
REPORTS.add("run", FolderKind(_is_run, run_sections),
            "a training run: config.yaml with metrics.csv or summary.json")
