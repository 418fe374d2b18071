"""Atomic file writes: write a temporary file in the same folder, fsync, rename over the target.

A crash (or a full disk) during a write leaves the previous file intact.
"""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from .errors import TrainingError


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; on success it replaces `path` atomically.

    Example:
        >>> with atomic_open("metrics.csv") as f:  # doctest: +SKIP
        ...     f.write("epoch,loss\\n")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        _unlink(tmp)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise TrainingError(f"no space left on the device while writing {path}; free some disk space "
                                f"and run again (the previous {path.name} is intact)") from e
        raise
    except BaseException:
        _unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Atomically write `text` to `path`."""
    with atomic_open(path, "w") as f:
        f.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Atomically write `data` to `path`."""
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_with(path: str | Path, writer: Callable[[IO[bytes]], None]) -> None:
    """Atomically write `path` with `writer(file)` (e.g. `lambda f: torch.save(obj, f)`)."""
    with atomic_open(path, "wb") as f:
        writer(f)


def _unlink(p: str) -> None:
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
