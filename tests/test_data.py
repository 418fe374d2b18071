import gzip
import struct
from collections import Counter

import numpy as np
import pytest
import torch

from zenlearn.data import ArrayData, BatchLoader, load_splits, split, subset
from zenlearn.data.idx import fetch_files, parse_idx, read_idx
from zenlearn.errors import UsageError


def _idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()


def test_parse_idx_round_trip():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(_idx(arr)), arr)


@pytest.mark.parametrize("raw,msg", [
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "not an IDX file"),       # unknown dtype code
    (b"\x1f\x8b\x08\x00", "not an IDX file"),                          # gzip bytes, not IDX
    (b"", "not an IDX file"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (_idx(np.zeros((3, 2), np.uint8))[:-1], "truncated or corrupt"),
])
def test_parse_idx_rejects_bad_files(raw, msg):
    with pytest.raises(UsageError, match=msg):
        parse_idx(raw, "f.idx")


def test_read_idx_truncated_gzip(tmp_path):
    p = tmp_path / "x-idx1-ubyte.gz"
    p.write_bytes(gzip.compress(_idx(np.arange(100, dtype=np.uint8)))[:-10])
    with pytest.raises(UsageError, match="cannot read"):
        read_idx(p)


def test_real_mnist_matches_published_facts(data_dir):
    s = load_splits("mnist", val_split=0.0)
    assert tuple(s.train.x.shape) == (60000, 1, 28, 28) and s.train.x.dtype == torch.uint8
    assert tuple(s.test.x.shape) == (10000, 1, 28, 28) and s.val is None
    assert Counter(s.test.y.tolist())[0] == 980 and Counter(s.train.y.tolist())[1] == 6742
    assert abs(s.train.x.double().mean().item() - 33.3184) < 1e-3


def test_fashion_mnist_loads(data_dir):
    s = load_splits("fmnist", val_split=0.0)
    assert Counter(s.test.y.tolist()) == {i: 1000 for i in range(10)}
    assert s.spec.classes[9] == "Ankle boot"


def test_missing_and_corrupt_files_give_clear_errors(tmp_path, data_dir):
    files = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873"}
    with pytest.raises(UsageError, match=r"missing train-images-idx3-ubyte.gz in .*mnist; put the official files"):
        fetch_files(tmp_path / "mnist", files, [], "mnist")
    (tmp_path / "mnist").mkdir(exist_ok=True)
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    with pytest.raises(UsageError, match="has MD5 .* expected f68b3c2d"):
        fetch_files(tmp_path / "mnist", files, [], "mnist")


def test_split_is_deterministic_and_disjoint():
    data = ArrayData(torch.arange(100).unsqueeze(1), torch.arange(100))
    a_tr, a_val = split(data, 0.2, seed=1)
    b_tr, b_val = split(data, 0.2, seed=1)
    c_tr, c_val = split(data, 0.2, seed=2)
    assert torch.equal(a_val.y, b_val.y) and torch.equal(a_tr.y, b_tr.y)
    assert not torch.equal(a_val.y, c_val.y)
    assert len(a_val) == 20 and len(a_tr) == 80
    assert set(a_val.y.tolist()).isdisjoint(a_tr.y.tolist())
    assert len(subset(a_tr, 10, seed=0)) == 10 and torch.equal(subset(a_tr, 10, 0).y, subset(a_tr, 10, 0).y)


def test_real_split_is_deterministic(data_dir):
    a = load_splits("mnist", val_split=0.1, seed=3)
    b = load_splits("mnist", val_split=0.1, seed=3)
    assert len(a.val) == 6000 and torch.equal(a.val.y, b.val.y) and torch.equal(a.train.x[:50], b.train.x[:50])


def test_batch_loader_covers_each_sample_once_per_epoch():
    data = ArrayData(torch.arange(10, dtype=torch.uint8).unsqueeze(1), torch.arange(10))
    loader = BatchLoader(data, 4, scale=0.5, shuffle=True, seed=0)
    loader.set_epoch(0)
    e0 = torch.cat([y for _, y in loader])
    loader.set_epoch(1)
    e1 = torch.cat([y for _, y in loader])
    assert sorted(e0.tolist()) == list(range(10)) and not torch.equal(e0, e1)
    x, y = next(iter(loader))
    assert x.dtype == torch.float32 and torch.allclose(x[:, 0], y.float() * 0.5)
    loader.set_epoch(1, skip_batches=1)  # mid-epoch resume: the same batches minus the first
    assert torch.equal(torch.cat([y for _, y in loader]), e1[4:])


def test_batch_loader_does_not_modify_float_data():
    data = ArrayData(torch.ones(4, 2), torch.zeros(4))
    list(BatchLoader(data, 2, scale=2.0))
    assert torch.equal(data.x, torch.ones(4, 2))
