"""Flags from dataclasses: one `--flag` per config field (its docstring is the help), and the merge of
defaults ← `--config` YAML ← flags given on the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from zenlearn.config import TrainConfig, coerce, describe_type, field_help, field_names, field_types, load_yaml
from zenlearn.config.fields import field_sections


class AddCommand(Protocol):
    """`add(name, fn, help)` → the new command's parser (what each command module's `register` receives)."""

    def __call__(self, name: str, fn: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser: ...


def add_config_flags(p: argparse.ArgumentParser, skip: Sequence[str] = ()) -> None:
    """Add one flag per `TrainConfig` field (`batch_size` → `--batch-size`), plus `--config`."""
    p.add_argument("--config", metavar="FILE.yaml", help="YAML file of options; flags given here override it")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="draw the live progress bar (--no-progress: never); default: only on a terminal "
                        "(also ZENLEARN_PROGRESS=1|0); the per-epoch lines are printed either way")
    sections = field_sections(TrainConfig)
    order = [s for s in SECTIONS if s in sections.values()]
    order += [s for s in dict.fromkeys(sections.values()) if s not in order]
    for section in order:
        names = [n for n in field_names(TrainConfig) if sections.get(n) == section and n not in skip]
        if names:
            add_fields(p.add_argument_group(f"{section} (also YAML keys)"), TrainConfig, only=names)


SECTIONS = ("data", "model", "optimization", "augmentation", "output", "runtime")
"""The order of `train --help`'s sections (each field's section is the `# --- name ---` comment above it)."""


def add_fields(g: Any, cls: type, skip: Sequence[str] = (), only: Sequence[str] | None = None) -> None:
    """One flag per field of dataclass `cls` (or of the fields named in `only`), its docstring as the help;
    unset flags stay absent from args."""
    helps, types, defaults = field_help(cls), field_types(cls), cls()
    for name in field_names(cls):
        if name in skip or (only is not None and name not in only):
            continue
        flag, default = "--" + name.replace("_", "-"), getattr(defaults, name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        text = f"{helps.get(name, '')} [{describe_type(types[name])}; default: {shown}]"
        if types[name] is bool:
            g.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                           help=text)
        else:
            g.add_argument(flag, dest=name, metavar=name.upper(), default=argparse.SUPPRESS, help=text)


def config_from_args(args: argparse.Namespace, validate: bool = True, **overrides: Any) -> TrainConfig:
    """Defaults ← `--config` YAML ← flags given on the command line ← `overrides`; then validated."""
    from zenlearn.training.build import check_config

    cfg = TrainConfig.from_dict({**given_options(args), **overrides}, source="options")
    return check_config(cfg) if validate else cfg


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """Only the options the user gave: the `--config` file's keys, then the flags on the command line."""
    merged: dict[str, Any] = {}
    if getattr(args, "config", None):
        yaml_d = TrainConfig.canonical(load_yaml(args.config), f"--config {args.config}")
        TrainConfig.from_dict(yaml_d, source=f"--config {args.config}")  # names and types checked here
        merged.update(yaml_d)
    flags = {k: getattr(args, k) for k in field_names(TrainConfig) if hasattr(args, k)}
    for k, v in flags.items():
        coerce(k, field_types(TrainConfig)[k], v)  # errors name the flag
    merged.update(flags)
    return merged
