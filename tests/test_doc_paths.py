"""Every dotted `zenlearn.…` path named in the code, the README, docs/ and examples/ resolves to a real module or
attribute: a name left over from before a move (`zenlearn.warp`, `zenlearn.suite`, …) fails here."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATH = re.compile(r"\bzenlearn(?:\.[A-Za-z_]\w*)+")


def _sources() -> list[Path]:
    return [*(ROOT / "src").rglob("*.py"), ROOT / "README.md", *(ROOT / "docs").rglob("*.md"),
            *(ROOT / "examples").rglob("*.py")]


def resolves(path: str) -> bool:
    """Whether `path` names a module, or an attribute reached from the longest importable module prefix."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def test_the_resolver_refuses_dead_paths():
    assert resolves("zenlearn.nn.tasks.get_task") and resolves("zenlearn.Trainer")
    assert not resolves("zenlearn.warp") and not resolves("zenlearn.nn.tasks.no_such_name")


def test_every_named_zenlearn_path_exists():
    dead = sorted({f"{p.relative_to(ROOT)}: {m}" for p in _sources() for m in PATH.findall(p.read_text())
                   if not resolves(m.rstrip("."))})
    assert not dead, "dead zenlearn.* paths (a module moved?):\n" + "\n".join(dead)
