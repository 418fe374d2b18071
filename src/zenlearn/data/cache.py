"""The decoded cache of an image folder (`--cache auto|memory|disk|off`): decode once, then read at memory speed.

The first pass decodes the files of one split at the target size into one uint8 array of un-augmented
pixels, one row per file, stored channels-last (N, H, W, C) as the decoder gives them and as OpenCV and
oneDNN want them; `take` hands out rows as (B, C, H, W) views. The decoding workers write their rows
straight into a temporary file that is renamed to `<cache folder>/<name>.zlc` when complete; later epochs and
later runs read rows of it instead of decoding (augmentation still runs per epoch and per sample, on the
batches). `memory` reads the file whole into RAM, `disk` memory-maps it (the OS pages it in and out; pages
already read are released every 32 MB, so the process stays small however large the cache is), `auto` picks
memory when the cache takes at most a quarter of the machine's RAM, else disk. Right after a build both map
the file, whose pages are still in the OS page cache.

Key: SHA-256 of the sorted file list with every file's size and mtime, the target (C, H, W), the colour
mode, the decoder recipe (`decode.DECODER`) and the file format. A changed, added or removed file gives a new
key. The file is named after the file list, shape and decoder only, so a changed file rebuilds the cache in
place.

File: payload (N·H·W·C bytes) | JSON trailer (key, shape, n, payload bytes, one CRC-32 per 32 rows, unreadable
rows) | CRC-32 of the trailer (4 bytes) | trailer length (8 bytes) | magic `ZLCACHE2`. A file whose size,
magic, trailer CRC, key or payload CRCs do not check out is rebuilt, never trusted. Writes go to a temporary
file that is renamed over the target, so two runs building the same cache at once each rename a
complete, identical file and a reader never sees half of one. (It is not fsynced: after a crash, pages that
never reached the disk fail the CRCs and the cache is rebuilt.)

Cache folder: `folder-cache/` in zenlearn's cache folder (`cache_root()`: `$ZENLEARN_CACHE`, else
`$XDG_CACHE_HOME/zenlearn`, else `~/.cache/zenlearn`). Deleting it is always safe.
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

from zenlearn.data.cacheroot import cache_root
from zenlearn.data.decode import DECODER, decode_job, decoding_pool
from zenlearn.errors import UsageError
from zenlearn.io.atomic import atomic_path

CACHE_MODES = ("auto", "memory", "disk", "off")
MAGIC = b"ZLCACHE2"  # 2: rows stored (H, W, C), one CRC-32 per chunk of rows
RAM_SHARE = 0.25
"""`auto` keeps a cache in memory when it takes at most this share of the machine's RAM."""
_TAIL = struct.Struct("<IQ8s")  # trailer CRC-32, trailer length, magic
_RELEASE_BYTES = 32 << 20  # disk mode: drop mapped pages from this process after this many bytes read
_CHUNK = 32  # files per decoding task


def cache_folder() -> Path:
    """Where decoded caches live: `folder-cache/` in the cache folder (`cache_root()`)."""
    return cache_root() / "folder-cache"


def cache_key(paths: list[str], shape: tuple[int, ...], decoder: str = DECODER) -> str:
    """SHA-256 hex of the sorted files (path, size, mtime), the (C, H, W) shape, colour mode and decoder.

    Example:
        >>> len(cache_key([], (3, 8, 8)))
        64
    """
    h = hashlib.sha256(json.dumps({"shape": list(shape), "color": "L" if shape[0] == 1 else "RGB",
                                   "decoder": decoder, "format": MAGIC.decode()}).encode())
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
        self.mode_used = ""
        """After `ensure()`: "memory" or "disk"."""
        self._mmap: mmap.mmap | None = None
        self._release = False  # disk mode: drop the pages read from this process' memory now and then
        self._read = 0

    @property
    def nbytes(self) -> int:
        return len(self.paths) * self.row_bytes

    def file(self) -> Path:
        """The cache file of this file list, shape and decoder (named without sizes and mtimes, so that a
        changed file rebuilds it in place instead of leaving the old cache behind)."""
        ident = hashlib.sha256(json.dumps([self.paths, list(self.shape), DECODER]).encode()).hexdigest()
        return self.folder / f"{ident[:40]}.zlc"

    def ensure(self) -> "DecodedCache":
        """Open the cache file, or decode every image and write it first (also if it is corrupt)."""
        if self.array is not None:
            return self
        path, key, mode = self.file(), cache_key(self.paths, self.shape), self._resolved_mode()
        # memory mode checks the payload's CRCs on the rows it reads in anyway; disk mode streams them first
        trailer, reason = read_trailer(path, key, self.nbytes, verify=mode == "disk")
        if trailer is not None and mode == "memory":
            array = np.fromfile(path, dtype=np.uint8, count=self.nbytes)
            if len(array) != self.nbytes or payload_crcs(array, trailer["crc_rows"] * self.row_bytes) != trailer["crcs"]:
                trailer, reason = None, "payload checksum mismatch"
            else:
                self.array = array.reshape(len(self.paths), *self.hwc)
        if trailer is None:
            crcs = self._build(path, key)
            trailer, again = read_trailer(path, key, self.nbytes, verify=False)
            if trailer is None or trailer["crcs"] != crcs:  # another run renamed its (identical) build over ours
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
            self.array = None
            raise UsageError(_stop_message(self.bad[first]))
        if self.array is None:
            # disk mode, or just built: map the file (after a build its pages are still in the OS page cache,
            # so memory mode reads them in place instead of copying 270 MB back per 2,000 photos)
            self._map(path, release=mode == "disk")
        self.mode_used = mode
        return self

    @property
    def hwc(self) -> tuple[int, int, int]:
        """One row's shape as stored: (H, W, C)."""
        c, h, w = self.shape
        return (h, w, c)

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.shape))

    def _resolved_mode(self) -> str:
        """memory or disk (auto: memory when the cache takes at most `RAM_SHARE` of the RAM)."""
        if self.mode == "auto":
            return "memory" if self.nbytes <= RAM_SHARE * _ram_bytes() else "disk"
        return self.mode

    def take(self, rows: list[int]) -> np.ndarray:
        """uint8 (len(rows), C, H, W): a copy of those rows, stored channels-last ((B, H, W, C) transposed; a
        `torch.from_numpy` of it is a `torch.channels_last` tensor)."""
        out = self.array[np.asarray(rows, dtype=np.int64)]  # (B, H, W, C), fancy indexing copies
        if self._release:
            self._read += out.nbytes
            if self._read >= _RELEASE_BYTES:  # pages stay in the OS page cache; only our RSS shrinks
                self._read = 0
                self._mmap.madvise(mmap.MADV_DONTNEED)  # type: ignore[union-attr]
        return out.transpose(0, 3, 1, 2)

    def _map(self, path: Path, release: bool) -> None:
        with open(path, "rb") as f:
            self._mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # (maps the whole file)
        self.array = np.frombuffer(self._mmap, np.uint8, count=self.nbytes).reshape(len(self.paths), *self.hwc)
        self._release = release

    def _build(self, path: Path, key: str) -> list[int]:
        """Decode every file into a temporary file, renamed to `path` when complete; returns the payload's CRCs.

        The decoding workers write their rows straight into the file (`decode.decode_job`): no pixels are
        pickled back to this process, which only collects the unreadable files and writes the trailer."""
        starts = range(0, len(self.paths), _CHUNK)
        bad, crcs = {}, []
        pool = decoding_pool(self.workers) if self.workers > 0 and len(starts) > 1 else None
        try:
            with atomic_path(path, fsync=False) as tmp:  # every load checks the CRCs: no need to wait for the disk
                os.truncate(tmp, self.nbytes)
                jobs = [(self.paths[s : s + _CHUNK], self.shape, str(tmp), s) for s in starts]
                for start, (crc, chunk_bad) in zip(starts, pool.imap(decode_job, jobs) if pool else map(decode_job, jobs)):
                    for i, msg in chunk_bad:
                        if not self.skip_bad_images:
                            raise UsageError(_stop_message(msg))
                        bad[str(start + i)] = msg
                    crcs.append(crc)
                trailer = json.dumps({"key": key, "shape": list(self.shape), "layout": "HWC", "n": len(self.paths),
                                      "bytes": self.nbytes, "crc_rows": _CHUNK, "crcs": crcs, "bad": bad}).encode()
                with open(tmp, "ab") as f:
                    f.write(trailer + _TAIL.pack(zlib.crc32(trailer), len(trailer), MAGIC))
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
        return crcs


def payload_crcs(payload: np.ndarray | bytes | memoryview, step: int) -> list[int]:
    """CRC-32 of every `step` bytes of a payload (a build's decoding workers compute them on their chunks)."""
    view = memoryview(payload).cast("B")
    return [zlib.crc32(view[i : i + step]) for i in range(0, len(view), step)]


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
                step, crcs, left = trailer["crc_rows"] * int(np.prod(trailer["shape"])), [], n_bytes
                while left:
                    block = f.read(min(left, step))
                    if not block:
                        return None, "truncated payload"
                    crcs.append(zlib.crc32(block))
                    left -= len(block)
                if crcs != trailer["crcs"]:
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
