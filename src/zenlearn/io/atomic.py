"""Atomic file writes: write a temporary file in the same folder, fsync, rename over the target.

A crash (or a full disk) during a write leaves the previous file intact.
"""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator, NoReturn

from zenlearn.errors import TrainingError, UsageError

TMP_SUFFIX = ".tmp"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; on success it replaces `path` atomically.

    Example:
        >>> with atomic_open(tmp / "metrics.csv") as f:
        ...     _ = f.write("epoch,loss\\n")
        >>> (tmp / "metrics.csv").read_text()
        'epoch,loss\\n'
    """
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f


@contextmanager
def atomic_path(path: str | Path, *, fsync: bool = True) -> Iterator[Path]:
    """A new, empty temporary file beside `path`, by name (for writers that need one: other processes, a
    memory map); on success it is fsynced and renamed over `path`, on any error deleted.

    `fsync=False` skips the fsync, for files whose readers check every byte anyway (a crash can then leave a
    complete-looking file whose pages never reached the disk, which such a reader rejects).

    Example:
        >>> with atomic_path(tmp / "rows.bin") as t:
        ...     _ = t.write_bytes(b"abc")
        >>> (tmp / "rows.bin").read_bytes(), t.exists()
        (b'abc', False)
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    except OSError as e:
        _raise_write_error(path, e)
    try:
        try:
            os.fchmod(fd, _mode_for(path))  # mkstemp makes 0600 files; give the final file normal permissions
        finally:
            os.close(fd)
        yield Path(tmp)
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, path)
        if fsync:
            _fsync_dir(path.parent)
    except OSError as e:
        _unlink(tmp)
        _raise_write_error(path, e)
    except BaseException:
        _unlink(tmp)
        raise


def _raise_write_error(path: Path, e: OSError) -> NoReturn:
    """A full disk is a `TrainingError` (exit 1); a place we may not write to is a `UsageError` (exit 2)."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        raise TrainingError(f"no space left on the device while writing {path}; free some disk space and "
                            f"run again (the previous {path.name}, if any, is intact)") from e
    if e.errno in (errno.EEXIST, errno.ENOTDIR):  # a file where a folder of the path should be
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise UsageError(f"cannot write {path}: {blocker} is a file, not a folder; choose another path") from e
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR):
        raise UsageError(f"cannot write {path} ({e.strerror}); choose a folder you can write to") from e
    raise e


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def clean_temp_files(folder: str | Path) -> list[Path]:
    """Delete leftovers of writes that a crash interrupted (`.NAME.*.tmp` in `folder`); returns them."""
    folder = Path(folder)
    stale = [p for p in folder.glob(f".*{TMP_SUFFIX}") if p.is_file()] if folder.is_dir() else []
    for p in stale:
        _unlink(str(p))
    return stale


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


def _fsync_file(p: str) -> None:
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
