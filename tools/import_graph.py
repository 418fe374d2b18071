"""Scan zenlearn's source with `ast`: every import of a zenlearn module — top-level, inside functions, and
`importlib.import_module("zenlearn…")` string imports — then report import cycles and the lazy imports.

Usage: python tools/import_graph.py [src/zenlearn]   (exit 1 if there is a cycle)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "src" / "zenlearn")
PKG = ROOT.name


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(mod: str, is_pkg: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports(path: Path) -> list[tuple[str, int, bool, str]]:
    """(imported module, line, at top level?, kind) for each zenlearn import in `path`."""
    mod, is_pkg = module_name(path), path.name == "__init__.py"
    tree = ast.parse(path.read_text())
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve(mod, is_pkg, node.level, node.module)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names = [resolve(mod, is_pkg, 1, arg.value[1:]) if arg.value.startswith(".") else arg.value]
            elif isinstance(arg, ast.JoinedStr) or len(node.args) > 1:  # f".{name}", __package__: relative
                names = [f"{PKG}.<dynamic>"]
        for n in names[:1] if isinstance(node, ast.ImportFrom) and names[0] != PKG else names:
            if n == PKG or n.startswith(PKG + "."):
                kind = "string" if isinstance(node, ast.Call) else "import"
                out.append((n, node.lineno, id(node) in top, kind))
    return out


def main() -> int:
    files = sorted(ROOT.rglob("*.py"))
    modules = {module_name(f) for f in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    lazy = []
    for f in files:
        src = module_name(f)
        for name, line, top, kind in imports(f):
            target = name
            while target not in modules and "." in target:  # `from pkg import name`: a module or a name in pkg
                target = target.rsplit(".", 1)[0]
            if target in modules and target != src:
                graph[src].add(target)
            if not top or kind == "string":
                lazy.append(f"{f.relative_to(ROOT.parent)}:{line}: {kind} {name}")
    cycles, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if n.startswith(m + ".") and m in {module_name(f) for f in files if f.name == "__init__.py"}:
                continue  # a package re-exporting its own modules
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    print(f"{len(files)} modules, {sum(map(len, graph.values()))} import edges")
    print(f"lazy or string imports of {PKG} modules ({len(lazy)}):")
    print("\n".join("  " + x for x in lazy) or "  none")
    print(f"cycles ({len(cycles)}):")
    print("\n".join("  " + " -> ".join(c) for c in cycles) or "  none")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
