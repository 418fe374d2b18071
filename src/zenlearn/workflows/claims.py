"""A reproduction's verdicts: each experiment's record (rows with mean ± std beside the published anchors) and
whether each claim holds, plus the machine it was measured on."""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path
from typing import Any, Sequence

import torch

from zenlearn.workflows.compare import mean_std
from zenlearn.workflows.suite import Experiment, budget_of, lr_points
from zenlearn.workflows.train import environment


def describe_experiment(exp: Experiment, budget: str, seeds: int, rows: list[dict[str, Any]],
                        seconds: float) -> dict[str, Any]:
    """The experiment's record in reproduce.json: settings, rows with mean ± std, anchors, claims."""
    b = budget_of(exp, budget)
    for row in rows:
        row["stats"] = {k: dict(zip(("mean", "std"), mean_std([x for x in v if x is not None])))
                        for k, v in row["values"].items()}
        a = exp.anchors.get(row["label"])
        row["anchor"] = {"text": a.text, "value": a.value, "source": a.source} if a else None
    by_label = {r["label"]: r for r in rows}
    claims = [check_claim(c.text, c.metric, c.pairs, by_label, c.margin) | {"source": c.source} for c in exp.claims]
    return {"name": exp.name, "title": exp.title, "claim": exp.claim, "metric": exp.metric, "seeds": seeds,
            "base": _plain(exp.base), "budget": {"name": budget, "seeds": seeds, "overrides": _plain(b.overrides),
                                                  "per_tag": _plain(b.per_tag), "lr_points": b.lr_points,
                                                  "tag_seeds": dict(b.tag_seeds)},
            "comparisons": [{"name": c.name, "overrides": _plain(c.overrides), "vary": _plain(c.vary),
                             "lr_grid": list(lr_points(c.lr_grid, b.lr_points))} for c in exp.comparisons],
            "distill": _plain(exp.distill), "paper": _plain(exp.paper), "notes": list(exp.notes),
            "tolerance": 0.02 if exp.metric != "errors" else 0.25, "margins": [c.margin for c in exp.claims], "rows": rows, "claims": claims,
            "seconds": seconds}


def check_claim(text: str, metric: str, pairs: Sequence[tuple[str, str]], rows: dict[str, dict[str, Any]],
                margin: float = 0.0) -> dict[str, Any]:
    """Check every (better, worse) pair on the mean of `metric`; "holds", "fails" or "not measured". With a
    `margin`, the better row may trail by up to that much ("≥ the peer − 0.5 points")."""
    lower = metric in ("train_loss", "errors", "test_loss")
    checks = []
    for good, bad in pairs:
        a, b = (rows.get(x, {}).get("stats", {}).get(metric, {}) for x in (good, bad))
        ma, mb = a.get("mean", math.nan), b.get("mean", math.nan)
        if any(isinstance(m, float) and math.isnan(m) for m in (ma, mb)) or ma is None or mb is None:
            checks.append({"better": good, "worse": bad, "result": "not measured"})
            continue
        if margin:
            ok = ma <= mb + margin if lower else ma >= mb - margin
        else:
            ok = ma < mb if lower else ma > mb
        spread = math.hypot(*(s if isinstance(s, float) and not math.isnan(s) else 0.0
                              for s in (a.get("std"), b.get("std"))))
        checks.append({"better": good, "worse": bad, "a": ma, "b": mb, "result": "holds" if ok else "fails",
                       "within_noise": abs(ma - mb) <= spread})
    results = {c["result"] for c in checks}
    verdict = "holds" if results == {"holds"} else "not measured" if results == {"not measured"} else \
        "fails" if "holds" not in results else "partly holds"
    return {"text": text, "metric": metric, "verdict": verdict, "checks": checks}


def _plain(x: Any) -> Any:
    if isinstance(x, dict) or hasattr(x, "items"):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def machine() -> dict[str, Any]:
    """CPU model, cores, torch threads, OS, versions: the "made on" line of results.md."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {**environment(), "cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


