"""CIFAR-10 and CIFAR-100 (fine labels) from the official *binary* archives: no pickle is ever loaded.

`cifar-10-binary.tar.gz` holds `cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin`: records of
1 label byte + 3,072 pixel bytes (1,024 red, 1,024 green, 1,024 blue, rows of 32). `cifar-100-binary.tar.gz`
holds `cifar-100-binary/train.bin` and `test.bin`: 1 coarse label byte, 1 fine label byte, 3,072 pixel bytes.
The archive is MD5-checked (and downloaded when missing and online) in `<data folder>/cifar10/` or
`<data folder>/cifar100/`, then read straight from the tar into uint8 (N, 3, 32, 32) tensors.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from zenlearn.data.arrays import ArrayData, DataSpec
from zenlearn.data.idx import fetch_files
from zenlearn.errors import UsageError

MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
PIXELS = 3 * 32 * 32


@dataclass(frozen=True)
class CifarArchive:
    """Where the records of one CIFAR variant are in its official binary archive."""

    name: str
    archive: str
    md5: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    label_bytes: int
    """Bytes before the pixels of a record; the label used is the last of them (CIFAR-100: the fine one)."""
    names_file: str
    num_classes: int


CIFAR10 = CifarArchive("cifar10", "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
                       tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)),
                       ("cifar-10-batches-bin/test_batch.bin",), 1, "cifar-10-batches-bin/batches.meta.txt", 10)
CIFAR100 = CifarArchive("cifar100", "cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8",
                        ("cifar-100-binary/train.bin",), ("cifar-100-binary/test.bin",), 2,
                        "cifar-100-binary/fine_label_names.txt", 100)


def parse_records(raw: bytes, label_bytes: int, num_classes: int, name: str = "CIFAR data") -> ArrayData:
    """Records of (label bytes, 3,072 pixel bytes) → uint8 images (N, 3, 32, 32) and int64 labels (the last
    label byte of each record).

    Args:
        raw: Concatenated records.
        label_bytes: 1 for CIFAR-10, 2 for CIFAR-100 (coarse, fine).
        num_classes: Labels must be below this.
        name: Used in error messages. Defaults to "CIFAR data".

    Example:
        >>> d = parse_records(bytes([7]) + bytes(3072), 1, 10)
        >>> d.x.shape, d.y.tolist()
        (torch.Size([1, 3, 32, 32]), [7])
    """
    size = label_bytes + PIXELS
    if not raw or len(raw) % size:
        raise UsageError(f"{name}: {len(raw)} bytes is not a whole number of {size}-byte records (truncated or "
                         f"not the official file); delete the archive to download it again, or replace it")
    rec = np.frombuffer(raw, np.uint8).reshape(-1, size)  # (N, label_bytes + 3072)
    labels = rec[:, label_bytes - 1].astype(np.int64)
    if labels.max() >= num_classes:
        raise UsageError(f"{name}: label {labels.max()} found, expected < {num_classes}; replace the archive")
    x = rec[:, label_bytes:].reshape(-1, 3, 32, 32).copy()  # (N, 3, 32, 32): channel planes, rows of 32
    return ArrayData(torch.from_numpy(x), torch.from_numpy(labels))


@lru_cache(maxsize=2)
def _read(folder: Path, info: CifarArchive) -> tuple[ArrayData, ArrayData, list[str]]:
    fetch_files(folder, {info.archive: info.md5}, MIRRORS, info.name)
    path = folder / info.archive
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {m.name.lstrip("./"): m for m in tar.getmembers() if m.isfile()}
            missing = [f for f in (*info.train, *info.test) if f not in members]
            if missing:
                raise UsageError(f"dataset {info.name}: {path} lacks {', '.join(missing)}; replace it with the "
                                 f"official {info.archive}")

            def read(names: tuple[str, ...]) -> bytes:
                return b"".join(tar.extractfile(members[n]).read() for n in names)

            train, test = (parse_records(read(n), info.label_bytes, info.num_classes, f"{path}:{n[0]}")
                           for n in (info.train, info.test))
            names = read((info.names_file,)).decode().split() if info.names_file in members else []
    except (OSError, EOFError, tarfile.TarError) as e:
        raise UsageError(f"dataset {info.name}: cannot read {path} ({e}); delete it to download it again, or "
                         f"replace it with the official {info.archive}") from None
    classes = names if len(names) == info.num_classes else [str(i) for i in range(info.num_classes)]
    return train, test, classes


def load_cifar(data_dir: Path, info: CifarArchive) -> tuple[ArrayData, ArrayData, DataSpec]:
    """Train and test sets (uint8 (N, 3, 32, 32), int64 labels) of `info` from `data_dir/<name>/`, plus the spec."""
    train, test, classes = _read(Path(data_dir) / info.name, info)
    return train, test, DataSpec(info.name, "classification", (3, 32, 32), info.num_classes, classes,
                                 scale=1 / 255, kind="image")


def cifar10(data_dir: Path) -> tuple[ArrayData, ArrayData, DataSpec]:
    return load_cifar(data_dir, CIFAR10)


def cifar100(data_dir: Path) -> tuple[ArrayData, ArrayData, DataSpec]:
    return load_cifar(data_dir, CIFAR100)
