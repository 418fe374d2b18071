"""Reading config files and writing a run's resolved `config.yaml`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from zenlearn.errors import UsageError


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a dict; a missing file or bad YAML is a `UsageError`."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--config: file {str(path)!r} not found; pass the path of a YAML config file")
    try:
        d = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UsageError(f"--config: {path} is not valid YAML ({first}); fix the file") from None
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise UsageError(f"--config: {path} must hold a mapping of option: value, got {type(d).__name__}")
    return d


def dump_yaml(cfg: Any, omit: Sequence[str] = ()) -> str:
    """The resolved config as YAML text (what `config.yaml` in a run folder holds), without the options in
    `omit` (those that do not apply to the run: loading the file gives them their defaults)."""
    import yaml

    return yaml.safe_dump({k: v for k, v in cfg.to_dict().items() if k not in omit}, sort_keys=False)
