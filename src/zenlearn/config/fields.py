"""Field introspection of the config dataclasses: names, types, help text (the field docstrings) and coercion.

These are what make a dataclass the single source of CLI flags, YAML keys and `--help`: the CLI and the
YAML reader call them for `TrainConfig`, `DistillConfig` or any other config dataclass.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import types
import typing
from functools import cache
from typing import Any

from zenlearn.errors import UsageError


def field_names(cls: type) -> list[str]:
    """The dataclass's field names in order. Example: `field_names(TrainConfig)[0] == "data"`."""
    return [f.name for f in dataclasses.fields(cls)]


@cache
def field_types(cls: type) -> dict[str, Any]:
    """Field name → resolved type annotation."""
    return typing.get_type_hints(cls)


@cache
def field_help(cls: type) -> dict[str, str]:
    """Field name → its docstring, read from the dataclass's source (so docstrings are the help)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    out = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            out[node.target.id] = " ".join(str(nxt.value.value).split())  # type: ignore[union-attr]
    return out


@cache
def field_sections(cls: type) -> dict[str, str]:
    """Field name → its section in `--help`: the nearest `# --- name ---` comment above the field in the
    dataclass's source (a section may come back further down; fields before any marker get "options").

    Example:
        >>> from zenlearn.config import TrainConfig
        >>> field_sections(TrainConfig)["batch_size"], field_sections(TrainConfig)["augment"]
        ('optimization', 'augmentation')
    """
    lines = inspect.getsource(cls).splitlines()
    body = ast.parse("\n".join(lines)).body[0].body  # type: ignore[attr-defined]
    starts = {node.lineno: node.target.id for node in body if isinstance(node, ast.AnnAssign)}  # type: ignore[union-attr]
    out, section = {}, "options"
    for i, line in enumerate(lines, start=1):
        marker = re.fullmatch(r"\s*# --- ([\w ]+) ---\s*", line)
        if marker:
            section = marker.group(1).strip()
        elif i in starts:
            out[starts[i]] = section
    return out


def describe_type(tp: Any) -> str:
    """Human name of a field type for messages ("integer", "comma-separated integers", …)."""
    args = typing.get_args(tp)
    if _is_optional(tp):
        return describe_type(next(a for a in args if a is not type(None))) + " or null"
    if typing.get_origin(tp) is tuple:
        return f"comma-separated {describe_type(args[0])}s"
    return {int: "integer", float: "number", str: "string", bool: "boolean (true/false)"}.get(tp, str(tp))


def _is_optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def coerce(name: str, tp: Any, value: Any) -> Any:
    """Convert a YAML value or a CLI string to field type `tp`; raise `UsageError` naming the option."""
    bad = UsageError(f"option {name!r} (--{name.replace('_', '-')}) expects {describe_type(tp)}, got {value!r}")
    if _is_optional(tp):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "")):
            return None
        return coerce(name, next(a for a in typing.get_args(tp) if a is not type(None)), value)
    if typing.get_origin(tp) is tuple:
        inner = typing.get_args(tp)[0]
        if isinstance(value, str):
            value = [v for v in value.replace(" ", "").split(",") if v != ""]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise bad
        try:
            return tuple(coerce(name, inner, v) for v in value)
        except UsageError:
            raise bad from None
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise bad
    if tp in (int, float):  # not a bool; an int field takes a whole float (3.0), a float field any number
        if isinstance(value, bool):
            raise bad
        if tp is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int) or (tp is float and isinstance(value, float)):
            return tp(value)
        if isinstance(value, str):
            try:
                return tp(value.strip())
            except ValueError:
                raise bad from None
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad
    raise bad


def type_problems(cfg: Any) -> list[str]:
    """One message per field of dataclass instance `cfg` whose value does not fit its type."""
    problems = []
    for name, tp in field_types(type(cfg)).items():
        try:
            coerce(name, tp, getattr(cfg, name))
        except UsageError as e:
            problems.append(str(e))
    return problems


def split_option(text: str, flag: str, form: str) -> tuple[str, str]:
    """`KEY=VALUE` text (from `--vary`, `--search`, …) → (field name, value text); `--batch-size` spells
    `batch_size`. Anything else is a `UsageError` naming `flag` and the expected `form`.

    Example:
        >>> split_option("batch-size=32,64", "--vary", "KEY=V1,V2")
        ('batch_size', '32,64')
    """
    key, sep, value = text.partition("=")
    key = key.strip().lstrip("-").replace("-", "_")
    if not sep or not key or not value.strip():
        raise UsageError(f"{flag} expects {form}, got {text!r}")
    return key, value


def split_values(text: str, tuple_valued: bool = False) -> list[str]:
    """The values of `KEY=V1,V2,…` (`--vary`, `--search`, `--sweep`), stripped. A tuple-valued option
    (`hidden=64;128,128`), or any text holding `;`, separates its values with `;`, so `,` stays inside one.

    Example:
        >>> split_values("sgd, adam"), split_values("64;128,128", tuple_valued=True)
        (['sgd', 'adam'], ['64', '128,128'])
    """
    return [p.strip() for p in text.split(";" if tuple_valued or ";" in text else ",")]


def show(v: Any) -> str:
    """A value as a user writes it on the command line: tuples comma-joined, None as 'none'.

    Example:
        >>> show((64, 64)), show(None), show(0.1)
        ('64,64', 'none', '0.1')
    """
    if isinstance(v, (tuple, list)):
        return ",".join(map(str, v))
    return "none" if v is None else str(v)


def plain(v: Any) -> Any:
    """A value as a JSON/Optuna scalar: tuples and None as their `show` text, others unchanged."""
    return show(v) if isinstance(v, tuple) or v is None else v


def changed_flags(cfg: Any, skip: tuple[str, ...] = ()) -> list[str]:
    """Command-line flags that rebuild dataclass `cfg`: one per field that differs from its default (`--no-X`
    for a false bool), values as `show` writes them; fields in `skip` are left out.

    Example:
        >>> from zenlearn.config import TrainConfig
        >>> changed_flags(TrainConfig(data="sine", hidden=(8, 8), report=False, out="r"), skip=("out",))
        ['--data', 'sine', '--hidden', '8,8', '--no-report']
    """
    defaults, args = type(cfg)(), []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name in skip or value == getattr(defaults, f.name):
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args += [flag, show(value)]
    return args
