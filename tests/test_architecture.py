"""The package's shape: the import-linter layers contract holds, no import cycle (lazy and string imports
included), lazy zenlearn imports only where they keep `--help` fast, and small modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "zenlearn"


def test_layers_contract_is_kept():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    r = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "1 kept, 0 broken" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]


def test_no_import_cycle_and_lazy_imports_only_at_the_edges():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "import_graph.py"), str(SRC)], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "cycles (0)" in r.stdout, r.stdout
    lazy = [ln.strip() for ln in r.stdout.splitlines() if ln.startswith("  zenlearn/")]
    outside = [ln for ln in lazy if not ln.startswith(("zenlearn/cli/", "zenlearn/__init__.py"))]
    assert not outside, "lazy zenlearn imports outside cli/ and __init__ hide the layering:\n" + "\n".join(outside)


def test_modules_stay_small():
    big = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not big, f"split these modules (over 400 lines): {big}"


def test_the_task_string_is_branched_on_only_by_the_task():
    offenders = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py") if p.name != "tasks.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if '== "classification"' in line or '== "regression"' in line or '!= "classification"' in line]
    assert not offenders, f"ask the Task (zenlearn.nn.tasks) instead: {offenders}"
