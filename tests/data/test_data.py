import gzip
import struct
from collections import Counter
from pathlib import Path

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


def _gz(path, arr):
    path.write_bytes(gzip.compress(_idx(arr)))
    from zenlearn.data.idx import md5sum
    return md5sum(path)


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ZENLEARN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "npy"


def test_one_cache_folder_holds_every_cache(tmp_path, monkeypatch):
    """$ZENLEARN_CACHE, else $XDG_CACHE_HOME/zenlearn, else ~/.cache/zenlearn; every cache is a folder of it."""
    from zenlearn.data.cache import cache_folder as decoded
    from zenlearn.data.cacheroot import cache_root
    from zenlearn.data.npycache import cache_folder as npy
    from zenlearn.data.photos import generated_root
    monkeypatch.setenv("ZENLEARN_CACHE", str(tmp_path / "zc"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "zc"
    assert (decoded(), npy(Path("/d/mnist")), generated_root()) == \
        (tmp_path / "zc/folder-cache", tmp_path / "zc/npy/mnist", tmp_path / "zc")
    monkeypatch.delenv("ZENLEARN_CACHE")
    assert cache_root() == tmp_path / "xdg/zenlearn" and decoded() == tmp_path / "xdg/zenlearn/folder-cache"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home/.cache/zenlearn"


def _no_decoding(monkeypatch):
    def refuse(path):
        raise AssertionError(f"decoded {path} again")
    monkeypatch.setattr("zenlearn.data.npycache.read_idx", refuse)


def test_first_load_writes_a_copy_and_later_loads_map_it(tmp_path, cache_home, monkeypatch):
    from zenlearn.data.npycache import load_idx
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    md5 = _gz(tmp_path / "x-idx3-ubyte.gz", arr)
    np.testing.assert_array_equal(load_idx(tmp_path / "x-idx3-ubyte.gz", md5), arr)
    (copy,) = tmp_path.glob("x-idx3-ubyte.*.npy")
    assert copy.name.startswith(f"x-idx3-ubyte.{md5}.") and not cache_home.exists()
    _no_decoding(monkeypatch)
    again = load_idx(tmp_path / "x-idx3-ubyte.gz", md5)
    assert isinstance(again, np.memmap) and again.flags.writeable
    np.testing.assert_array_equal(again, arr)
    again[0, 0, 0] = 99  # copy-on-write: the file keeps the data
    np.testing.assert_array_equal(load_idx(tmp_path / "x-idx3-ubyte.gz", md5), arr)


def test_a_read_only_data_folder_puts_the_copy_in_the_cache_folder(tmp_path, cache_home, monkeypatch):
    from zenlearn.data.npycache import load_idx
    data = tmp_path / "mnist"
    data.mkdir()
    arr = np.arange(10, dtype=np.uint8)
    md5 = _gz(data / "y-idx1-ubyte.gz", arr)
    data.chmod(0o555)
    try:
        np.testing.assert_array_equal(load_idx(data / "y-idx1-ubyte.gz", md5), arr)
        assert not list(data.glob("*.npy")) and len(list((cache_home / "mnist").glob("y-idx1-ubyte.*.npy"))) == 1
        _no_decoding(monkeypatch)
        np.testing.assert_array_equal(load_idx(data / "y-idx1-ubyte.gz", md5), arr)
    finally:
        data.chmod(0o755)


@pytest.mark.parametrize("damage", ["flip a data byte", "truncate", "garbage header", "wrong shape"])
def test_a_corrupt_copy_is_rebuilt(tmp_path, cache_home, damage):
    from zenlearn.data.npycache import load_idx
    arr = np.arange(6 * 8, dtype=np.uint8).reshape(6, 8)
    md5 = _gz(tmp_path / "z-idx2-ubyte.gz", arr)
    load_idx(tmp_path / "z-idx2-ubyte.gz", md5)
    (copy,) = tmp_path.glob("z-idx2-ubyte.*.npy")
    raw = bytearray(copy.read_bytes())
    if damage == "flip a data byte":
        raw[-1] ^= 0xFF
    elif damage == "truncate":
        raw = raw[:-5]
    elif damage == "garbage header":
        raw[:8] = b"junkjunk"
    else:  # same bytes, another shape in the header
        raw = bytearray(raw.replace(b"(6, 8)", b"(8, 6)"))
    copy.write_bytes(bytes(raw))
    np.testing.assert_array_equal(load_idx(tmp_path / "z-idx2-ubyte.gz", md5), arr)
    assert copy.read_bytes() != bytes(raw) and len(list(tmp_path.glob("z-idx2-ubyte.*.npy"))) == 1


def test_a_changed_gz_file_gets_a_new_copy(tmp_path, cache_home):
    from zenlearn.data.npycache import load_idx
    gz = tmp_path / "w-idx1-ubyte.gz"
    old_md5 = _gz(gz, np.zeros(5, dtype=np.uint8))
    load_idx(gz, old_md5)
    new = np.arange(5, dtype=np.uint8)
    new_md5 = _gz(gz, new)
    np.testing.assert_array_equal(load_idx(gz, new_md5), new)
    (copy,) = tmp_path.glob("w-idx1-ubyte.*.npy")  # the old .gz's copy is gone
    assert new_md5 in copy.name


def test_real_mnist_is_decoded_once(tmp_path, data_dir, cache_home, monkeypatch):
    from zenlearn.data.mnist import _load
    (tmp_path / "mnist").mkdir()
    for f in (data_dir / "mnist").glob("*.gz"):
        (tmp_path / "mnist" / f.name).symlink_to(f)  # the shared folder is never written
    first = load_splits("mnist", root=str(tmp_path), val_split=0.0)
    assert len(list((tmp_path / "mnist").glob("*.npy"))) == 4
    _load.cache_clear()
    _no_decoding(monkeypatch)
    second = load_splits("mnist", root=str(tmp_path), val_split=0.0)
    assert torch.equal(first.train.x, second.train.x) and torch.equal(first.test.y, second.test.y)
