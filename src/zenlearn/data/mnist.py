"""MNIST and Fashion-MNIST from the official IDX `.gz` files (downloaded with MD5 checks if missing),
decoded once into verified `.npy` copies that later loads memory-map (see `npycache`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from zenlearn.data.arrays import ArrayData, DataSpec
from zenlearn.data.idx import fetch_files
from zenlearn.data.npycache import load_idx
from zenlearn.errors import UsageError

MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_FILES = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MNIST_MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
FASHION_MIRRORS = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


@lru_cache(maxsize=4)
def _load(folder: Path, name: str, files: tuple[tuple[str, str], ...], mirrors: tuple[str, ...]):
    fetch_files(folder, dict(files), list(mirrors), name)
    arrays = [torch.from_numpy(load_idx(folder / f, md5)) for f, md5 in files]  # MD5s checked just above
    tr_x, tr_y, te_x, te_y = arrays
    for x, y, which in ((tr_x, tr_y, "train"), (te_x, te_y, "test")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise UsageError(f"dataset {name}: {which} images {tuple(x.shape)} and labels {tuple(y.shape)} "
                             f"do not match; replace the files in {folder}")
    return (ArrayData(tr_x.unsqueeze(1), tr_y.long()), ArrayData(te_x.unsqueeze(1), te_y.long()))


def load_idx_family(data_dir: Path, name: str, files: dict[str, str], mirrors: list[str],
                    classes: list[str]) -> tuple[ArrayData, ArrayData, DataSpec]:
    """Train and test sets (uint8 (N, 1, 28, 28) images, int64 labels) plus the spec."""
    train, test = _load(data_dir / name, name, tuple(files.items()), tuple(mirrors))
    spec = DataSpec(name, "classification", (1, 28, 28), 10, classes, scale=1 / 255, kind="image")
    return train, test, spec


def mnist(data_dir: Path) -> tuple[ArrayData, ArrayData, DataSpec]:
    return load_idx_family(data_dir, "mnist", MNIST_FILES, MNIST_MIRRORS, [str(i) for i in range(10)])


def fashion_mnist(data_dir: Path) -> tuple[ArrayData, ArrayData, DataSpec]:
    return load_idx_family(data_dir, "fashion-mnist", FASHION_FILES, FASHION_MIRRORS, FASHION_CLASSES)
