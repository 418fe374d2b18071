"""The decoded cache of an image folder (`--cache auto|memory|disk|off`): decode once, then read at memory speed.

The first pass decodes every file of the run (train, val and test) at the target size into one uint8
array (N, C, H, W) of un-augmented pixels, written atomically to `<cache folder>/<key>.zlc`; later epochs
and later runs read rows of it instead of decoding (augmentation still runs per epoch and per sample, on
the batches). `memory` reads the file whole into RAM, `disk` memory-maps it (the OS pages it in and out;
pages already read are released every 32 MB, so the process stays small however large the cache is),
`auto` picks memory when the cache takes at most a quarter of the machine's RAM, else disk.

Key: SHA-256 of the sorted file list with every file's size and mtime, the target (C, H, W), the colour
mode and the decoder recipe (`decode.DECODER`). A changed, added or removed file gives a new key. The file
is named after the file list, shape and decoder only, so a changed file rebuilds the cache in place.

File: payload (N·C·H·W bytes) | JSON trailer (key, shape, n, payload bytes and CRC-32, unreadable rows) |
CRC-32 of the trailer (4 bytes) | trailer length (8 bytes) | magic `ZLCACHE1`. A file whose size, magic,
trailer CRC, key or payload CRC does not check out is rebuilt, never trusted. Writes go to a temporary file
that is fsynced and renamed over the target, so two runs building the same cache at once each rename a
complete, identical file and a reader never sees half of one.

Cache folder: `$ZENLEARN_CACHE`, else `~/.cache/zenlearn/folder-cache/`. Deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from zenlearn.data.decode import DECODER, decode_job, decoding_pool
from zenlearn.errors import UsageError
from zenlearn.io.atomic import atomic_open

CACHE_MODES = ("auto", "memory", "disk", "off")
MAGIC = b"ZLCACHE1"
RAM_SHARE = 0.25
"""`auto` keeps a cache in memory when it takes at most this share of the machine's RAM."""
_TAIL = struct.Struct("<IQ8s")  # trailer CRC-32, trailer length, magic
_RELEASE_BYTES = 32 << 20  # disk mode: drop mapped pages from this process after this many bytes read
_CHUNK = 32  # files per decoding task


def cache_folder() -> Path:
    """Where decoded caches live: `$ZENLEARN_CACHE`, else `~/.cache/zenlearn/folder-cache`."""
    env = os.environ.get("ZENLEARN_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "zenlearn" / "folder-cache"


def cache_key(paths: list[str], shape: tuple[int, ...], decoder: str = DECODER) -> str:
    """SHA-256 hex of the sorted files (path, size, mtime), the (C, H, W) shape, colour mode and decoder.

    Example:
        >>> len(cache_key([], (3, 8, 8)))
        64
    """
    h = hashlib.sha256(json.dumps({"shape": list(shape), "color": "L" if shape[0] == 1 else "RGB",
                                   "decoder": decoder}).encode())
    for p in sorted(paths):
        try:
            st = os.stat(p)
        except OSError as e:
            raise UsageError(f"{p}: cannot read image ({e.strerror}); it was removed or renamed while the "
                             f"folder was scanned; run again") from None
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class DecodedCache:
    """Decoded, resized uint8 pixels of `paths`, one row per file, built on first use and reused by later runs.

    Args:
        paths: The image files (any order; rows follow their sorted order).
        shape: (C, H, W) every image is decoded to.
        mode: "auto", "memory" or "disk" (see the module docstring). Defaults to "auto".
        folder: Cache folder. Defaults to `cache_folder()`.
        workers: Decoding processes for the first pass; 0 decodes in this process. Defaults to 0.
        skip_bad_images: Remember unreadable files (`bad`) instead of stopping at the first. Defaults to False.

    Example:
        >>> from pathlib import Path
        >>> paths = [str(p) for p in sorted(Path(photos).rglob("*.png"))]
        >>> c = DecodedCache(paths, (3, 16, 16), mode="disk", folder=tmp).ensure()  # decodes once, then reads
        >>> c.take([c.row[paths[1]]]).shape
        (1, 3, 16, 16)
    """

    def __init__(self, paths: list[str], shape: tuple[int, ...], *, mode: str = "auto", folder: Path | None = None,
                 workers: int = 0, skip_bad_images: bool = False) -> None:
        if mode not in CACHE_MODES[:3]:
            raise UsageError(f"--cache must be one of {', '.join(CACHE_MODES)}, got {mode!r}")
        self.paths = sorted(set(paths))
        self.row = {p: i for i, p in enumerate(self.paths)}
        self.shape, self.mode, self.workers, self.skip_bad_images = tuple(shape), mode, workers, skip_bad_images
        self.folder = cache_folder() if folder is None else Path(folder)
        self.bad: dict[str, str] = {}
        """Unreadable files → their error message."""
        self.status = ""
        """After `ensure()`: "hit", "built" or "rebuilt (REASON)"."""
        self.array: np.ndarray | None = None
        self._mmap: mmap.mmap | None = None
        self._read = 0

    @property
    def nbytes(self) -> int:
        return len(self.paths) * int(np.prod(self.shape))

    def file(self) -> Path:
        """The cache file of this file list, shape and decoder (named without sizes and mtimes, so that a
        changed file rebuilds it in place instead of leaving the old cache behind)."""
        ident = hashlib.sha256(json.dumps([self.paths, list(self.shape), DECODER]).encode()).hexdigest()
        return self.folder / f"{ident[:40]}.zlc"

    def ensure(self) -> "DecodedCache":
        """Open the cache file, or decode every image and write it first (also if it is corrupt)."""
        if self.array is not None:
            return self
        path, key = self.file(), cache_key(self.paths, self.shape)
        trailer, reason = read_trailer(path, key, self.nbytes, verify=True)
        built = None
        if trailer is None:
            keep = self._resolved_mode() == "memory"
            crc, built = self._build(path, key, keep=keep)
            trailer, again = read_trailer(path, key, self.nbytes, verify=False)
            if trailer is None or trailer["crc"] != crc:  # another run renamed its (identical) build over ours
                built = None
                trailer, again = read_trailer(path, key, self.nbytes, verify=True)
            if trailer is None:
                raise UsageError(f"decoded cache {path} cannot be read back ({again}); delete the folder "
                                 f"{self.folder} or pass --cache off")
            self.status = "built" if reason == "missing" else f"rebuilt ({reason})"
        else:
            self.status = "hit"
        self.bad = {self.paths[int(r)]: msg for r, msg in trailer["bad"].items()}
        if self.bad and not self.skip_bad_images:
            first = min(self.bad, key=self.row.__getitem__)
            raise UsageError(_stop_message(self.bad[first]))
        if built is not None:  # memory mode, just built: the decoded rows are already here, no read back
            self.array, self.mode_used = built, "memory"
        else:
            self._open(path)
        return self

    def _resolved_mode(self) -> str:
        """memory or disk (auto: memory when the cache takes at most `RAM_SHARE` of the RAM)."""
        if self.mode == "auto":
            return "memory" if self.nbytes <= RAM_SHARE * _ram_bytes() else "disk"
        return self.mode

    def take(self, rows: list[int]) -> np.ndarray:
        """uint8 (len(rows), C, H, W): a copy of those rows."""
        out = self.array[np.asarray(rows, dtype=np.int64)]  # (B, C, H, W), fancy indexing copies
        if self._mmap is not None:
            self._read += out.nbytes
            if self._read >= _RELEASE_BYTES:  # pages stay in the OS page cache; only our RSS shrinks
                self._read = 0
                self._mmap.madvise(mmap.MADV_DONTNEED)
        return out

    def _open(self, path: Path) -> None:
        n_bytes = self.nbytes
        mode = self._resolved_mode()
        if mode == "memory":
            self.array = np.fromfile(path, dtype=np.uint8, count=n_bytes).reshape(len(self.paths), *self.shape)
        else:
            with open(path, "rb") as f:
                self._mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # (maps the whole file)
            self.array = np.frombuffer(self._mmap, np.uint8, count=n_bytes).reshape(len(self.paths), *self.shape)
        self.mode_used = mode

    def _build(self, path: Path, key: str, keep: bool = False) -> tuple[int, np.ndarray | None]:
        """Decode every file in row order into a temporary file, renamed to `path` when complete: its CRC, and
        with `keep` the decoded (N, C, H, W) array (memory mode needs no read back)."""
        chunks = [self.paths[i : i + _CHUNK] for i in range(0, len(self.paths), _CHUNK)]
        crc, bad = 0, {}
        kept = np.empty((len(self.paths), *self.shape), np.uint8) if keep else None
        pool = decoding_pool(self.workers) if self.workers > 0 and len(chunks) > 1 else None
        try:
            jobs = [(c, self.shape) for c in chunks]
            results = pool.imap(decode_job, jobs) if pool else map(decode_job, jobs)
            with atomic_open(path, "wb") as f:
                for start, (arrays, chunk_bad) in zip(range(0, len(self.paths), _CHUNK), results):
                    for i, msg in chunk_bad:
                        if not self.skip_bad_images:
                            raise UsageError(_stop_message(msg))
                        bad[str(start + i)] = msg
                    f.write(arrays.data)
                    crc = zlib.crc32(arrays.data, crc)
                    if kept is not None:
                        kept[start : start + len(arrays)] = arrays
                trailer = json.dumps({"key": key, "shape": list(self.shape), "n": len(self.paths), "bytes": self.nbytes,
                                      "crc": crc, "bad": bad}).encode()
                f.write(trailer + _TAIL.pack(zlib.crc32(trailer), len(trailer), MAGIC))
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
        return crc, kept


def read_trailer(path: Path, key: str, n_bytes: int, *, verify: bool) -> tuple[dict | None, str]:
    """The trailer of a cache file if the file is complete and belongs to `key` (with `verify`, the payload's
    CRC is checked too), else (None, why not)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < n_bytes + _TAIL.size:
                return None, f"truncated: {size} bytes"
            f.seek(size - _TAIL.size)
            tcrc, tlen, magic = _TAIL.unpack(f.read(_TAIL.size))
            if magic != MAGIC or size != n_bytes + tlen + _TAIL.size:
                return None, "not a complete cache file"
            f.seek(n_bytes)
            raw = f.read(tlen)
            if zlib.crc32(raw) != tcrc:
                return None, "trailer checksum mismatch"
            trailer = json.loads(raw)
            if trailer.get("key") != key or trailer.get("bytes") != n_bytes:
                return None, "files changed since it was built"
            if verify:
                f.seek(0)
                crc, left = 0, n_bytes
                while left:
                    block = f.read(min(left, 16 << 20))
                    if not block:
                        return None, "truncated payload"
                    crc, left = zlib.crc32(block, crc), left - len(block)
                if crc != trailer["crc"]:
                    return None, "payload checksum mismatch"
            return trailer, ""
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError, KeyError) as e:
        return None, f"unreadable: {e}"


def _stop_message(msg: str) -> str:
    return msg.replace("; pass a valid PNG/JPEG/BMP file", "; fix or remove the file, or pass --skip-bad-images")


def _ram_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30
