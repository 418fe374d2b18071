"""Issue 15: `zenlearn reproduce --workers 2` against `--workers 1 --threads 1`, same budget, same run.

Runs the two reproductions one after the other, each as its own process, and prints their wall times and
whether their results.md tables are the same. A CPU run's numbers depend on its torch thread count, so the
sequential reference runs one thread per run, as each of the two workers does. Compared: every table row
of results.md (all sections: rows, anchors, verdicts, claims) except the time columns ("train s/run").

Usage:
    ZENLEARN_DATA=../shared/datasets python benchmarks/reproduce_workers.py [--budget full|quick|tiny]
        [--only NAME …] [--out runs/bench-reproduce]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ZL = [sys.executable, "-m", "zenlearn"]
TIME_COLUMNS = ("train s/run",)


def tables(results_md: Path) -> list[list[str]]:
    """Every markdown table row of results.md, as cells, without the time columns."""
    out, drop = [], set()
    for line in results_md.read_text().splitlines():
        if not line.startswith("|"):
            drop = set()
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if any(c in TIME_COLUMNS for c in cells):  # a header: remember which columns hold times
            drop = {i for i, c in enumerate(cells) if c in TIME_COLUMNS}
        out.append([c for i, c in enumerate(cells) if i not in drop])
    return out


def reproduce(out: Path, budget: str, only: list[str], extra: list[str]) -> float:
    cmd = [*ZL, "reproduce", "--budget", budget, "--out", str(out), "--quiet", *extra]
    if only:
        cmd += ["--only", *only]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "reproduce.json").read_text())["seconds"]  # the suite's own clock, start to end


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", default="full", choices=("full", "quick", "tiny"))
    ap.add_argument("--only", nargs="*", default=[])
    ap.add_argument("--out", default="runs/bench-reproduce")
    ap.add_argument("--reuse-sequential", action="store_true",
                    help="keep OUT/workers1-threads1 from an earlier run (its reproduce.json time) and rerun only "
                         "--workers 2")
    a = ap.parse_args()
    out = Path(a.out)
    if a.reuse_sequential:
        shutil.rmtree(out / "workers2", ignore_errors=True)
        seq = json.loads((out / "workers1-threads1" / "reproduce.json").read_text())["seconds"]
    else:
        shutil.rmtree(out, ignore_errors=True)
        seq = reproduce(out / "workers1-threads1", a.budget, a.only, ["--workers", "1", "--threads", "1"])
    print(f"--workers 1 --threads 1: {seq / 60:.1f} min", flush=True)
    par = reproduce(out / "workers2", a.budget, a.only, ["--workers", "2"])
    print(f"--workers 2: {par / 60:.1f} min", flush=True)
    t1, t2 = (tables(out / d / "results.md") for d in ("workers1-threads1", "workers2"))
    diff = [(x, y) for x, y in zip(t1, t2) if x != y] + ([("rows", f"{len(t1)} vs {len(t2)}")] if len(t1) != len(t2) else [])
    result = {"budget": a.budget, "workers1_threads1_s": seq, "workers2_s": par, "ratio": par / seq,
              "table_rows": len(t1), "identical_tables": not diff, "differences": diff[:20]}
    (out / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
