"""zenlearn's one cache folder, and its one environment variable.

Everything zenlearn keeps only to go faster lives under `cache_root()`; deleting any of it is always safe:

    folder-cache/     decoded image folders (`--cache`, data/cache.py)
    npy/<folder>/     verified `.npy` copies of IDX files whose data folder is read-only (data/npycache.py)
    photos-N/         the generated `--data photos:N` folders (data/photos.py)

Datasets themselves are not a cache: they live in the data folder (`--data-dir`, `$ZENLEARN_DATA`).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "ZENLEARN_CACHE"


def cache_root() -> Path:
    """The cache folder: `$ZENLEARN_CACHE`, else `$XDG_CACHE_HOME/zenlearn`, else `~/.cache/zenlearn`.

    Example:
        >>> cache_root() == (Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) else cache_root())
        True
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "zenlearn"
