"""The package's shape: the import-linter layers contract holds, no import cycle (lazy and string imports
included), lazy zenlearn imports only where they keep `--help` fast, and small modules."""

from __future__ import annotations

import ast
import re
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


# Modules whose subject is classification by definition: distillation (soft targets over classes), the
# reproduction suite (the survey's published accuracies are its data) and the quick start's accuracy table.
CLASSIFICATION_BY_DEFINITION = {"workflows/distill.py", "workflows/suite.py", "workflows/reproduce.py",
                                "workflows/protocol.py", "workflows/sequences.py",  # the suite's vocabulary, its
                                # time-series section (Fawaz et al.'s published accuracies)
                                "workflows/quickstart.py", "report/reproduction.py", "report/plots/reproduce.py",
                                "report/folders.py", "cli/experiments.py"}  # the last: distill's table


def _metric_literals(path: Path, names: set[str]) -> list[int]:
    tree = ast.parse(path.read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    lines = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in docstrings
             and isinstance(n.value, str) and n.value in names]
    lines += [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Compare) and isinstance(n.left, ast.Constant)
              and n.left.value == "acc" and isinstance(n.ops[0], ast.In)]
    return lines


def test_metric_names_are_known_only_to_the_task():
    from zenlearn.nn.tasks import metric_names

    names = {f"{p}{m}" for m in metric_names() for p in ("", "val_", "test_")}
    offenders = [f"{rel}:{line}" for p in SRC.rglob("*.py")
                 if (rel := str(p.relative_to(SRC))) != "nn/tasks.py" and rel not in CLASSIFICATION_BY_DEFINITION
                 for line in _metric_literals(p, names)]
    assert not offenders, f"derive metric names from the Task (zenlearn.nn.tasks.metric_names): {offenders}"


FILE_NAME = re.compile(r"^[\w\-]+\.(json|jsonl|csv|yaml|png|db|txt|html|pt|safetensors|log|md)$")
NOT_RUN_FOLDERS = {"serve/app.py": "the app's own page files", "cli/show.py": "default names of files a user asks for",
                   "data/photos.py": "a generated dataset folder's manifest",
                   "data/forecast.py": "the built-in series' file in aeon's wheel",
                   "cli/options.py": "the metavar of --config", "cli/run.py": "the metavar of predict --output"}


def test_run_folder_file_names_live_in_rundir():
    """`grep` finds no run-folder file name outside io/rundir.py: every module asks `RunDir` or its constants."""
    offenders = []
    for p in SRC.rglob("*.py"):
        rel = str(p.relative_to(SRC))
        if rel == "io/rundir.py" or rel in NOT_RUN_FOLDERS:
            continue
        tree = ast.parse(p.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        offenders += [f"{rel}:{n.lineno} {n.value}" for n in ast.walk(tree) if isinstance(n, ast.Constant)
                      and id(n) not in docstrings and isinstance(n.value, str) and FILE_NAME.match(n.value)]
    assert not offenders, f"name run-folder files in zenlearn.io.rundir: {offenders}"
