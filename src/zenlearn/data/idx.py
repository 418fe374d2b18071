"""IDX files (the MNIST family's format): parsing, checksums and download from the official mirrors."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from zenlearn.errors import UsageError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
           0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode the bytes of an (uncompressed) IDX file into an array.

    Args:
        raw: File contents: magic (0, 0, dtype code, ndim), ndim big-endian uint32 sizes, then data.
        name: File name used in error messages. Defaults to "IDX data".

    Example:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])).tolist()
        [7, 9]
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or not 1 <= raw[3] <= 4:
        magic = raw[:4].hex() if len(raw) >= 4 else raw.hex() or "empty"
        raise UsageError(f"{name}: not an IDX file (magic {magic}, expected 0000 08 0N); "
                         f"replace it with the official file")
    dtype, ndim = np.dtype(_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UsageError(f"{name}: truncated IDX header ({len(raw)} bytes); replace it with the official file")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = math.prod(dims) * dtype.itemsize  # Python ints: a crafted header cannot overflow
    if len(raw) - header != expected:
        raise UsageError(f"{name}: IDX data is {len(raw) - header} bytes, header {dims} says {expected} "
                         f"(truncated or corrupt); replace it with the official file")
    try:
        return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="), copy=False)
    except ValueError as e:  # e.g. an empty array whose other sizes overflow numpy's limit
        raise UsageError(f"{name}: IDX header sizes {dims} are not a valid array ({e}); replace it with the "
                         f"official file") from None


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file, gzip-compressed (`.gz`) or not."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise UsageError(f"{path}: cannot read ({e.__class__.__name__}: {e}); replace it with the official "
                         f"file") from None
    return parse_idx(raw, str(path))


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_files(folder: Path, files: dict[str, str], mirrors: list[str], dataset: str) -> None:
    """Make sure every `files` name (→ MD5) is in `folder` with the right checksum, downloading if allowed.

    Downloads go to a temporary name and are renamed only after the MD5 matches. Offline (or with
    ZENLEARN_OFFLINE=1) a missing file is a `UsageError` that says which files to put where.
    """
    missing = [f for f in files if not (folder / f).is_file()]
    if missing and os.environ.get("ZENLEARN_OFFLINE") != "1":
        errors = []
        for fname in missing:
            err = _download(folder, fname, files[fname], mirrors)
            if err:
                errors.append(err)
        missing = [f for f in files if not (folder / f).is_file()]
        if missing:
            reason = errors[0] if errors else "download disabled"
            raise UsageError(f"dataset {dataset}: missing {', '.join(missing)} in {folder} and the download "
                             f"failed ({reason}); put the official files there, or point --data-dir / "
                             f"ZENLEARN_DATA at a folder holding {folder.name}/")
    if missing:
        raise UsageError(f"dataset {dataset}: missing {', '.join(missing)} in {folder}; put the official "
                         f"files there, or point --data-dir / ZENLEARN_DATA at a folder holding {folder.name}/")
    for fname, md5 in files.items():
        got = md5sum(folder / fname)
        if got != md5:
            raise UsageError(f"dataset {dataset}: {folder / fname} has MD5 {got}, expected {md5} (corrupt or "
                             f"not the official file); delete it to download again, or replace it")


def _download(folder: Path, fname: str, md5: str, mirrors: list[str]) -> str | None:
    folder.mkdir(parents=True, exist_ok=True)
    last = "no mirror"
    for base in mirrors:
        tmp = folder / f".{fname}.part"
        try:
            with urllib.request.urlopen(base + fname, timeout=30) as r, open(tmp, "wb") as f:
                f.write(r.read())
            if md5sum(tmp) != md5:
                last = f"{base}{fname}: checksum mismatch"
                tmp.unlink()
                continue
            os.replace(tmp, folder / fname)
            return None
        except OSError as e:
            last = f"{base}{fname}: {getattr(e, 'reason', e)}"
            tmp.unlink(missing_ok=True)
    return last
