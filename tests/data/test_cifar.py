"""CIFAR-10/100 from their official binary archives: a synthetic archive in the same format, read back
exactly; MD5 and offline errors name the file and the folder."""

import hashlib
import io
import tarfile

import numpy as np
import pytest

import zenlearn.data.cifar as cifar
from zenlearn.data import load_splits
from zenlearn.errors import UsageError


def write_archive(path, info, n_train_per_file, n_test, seed=0):
    """An archive laid out like the official one; returns the expected train / test images and labels."""
    rng = np.random.default_rng(seed)
    expected, members = {}, {}
    for split, names, n in (("train", info.train, n_train_per_file), ("test", info.test, n_test)):
        xs, ys = [], []
        for name in names:
            labels = rng.integers(0, info.num_classes, (n, info.label_bytes)).astype(np.uint8)
            x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
            members[name] = np.concatenate([labels, x.reshape(n, -1)], 1).tobytes()
            xs.append(x)
            ys.append(labels[:, -1])
        expected[split] = (np.concatenate(xs), np.concatenate(ys))
    members[info.names_file] = "\n".join(f"class_{i}" for i in range(info.num_classes)).encode() + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
    return expected


@pytest.mark.parametrize("info", [cifar.CIFAR10, cifar.CIFAR100], ids=lambda i: i.name)
def test_synthetic_archive_is_read_exactly(tmp_path, monkeypatch, info):
    archive = tmp_path / info.name / info.archive
    expected = write_archive(archive, info, 7, 5)
    fake = cifar.CifarArchive(**{**info.__dict__, "md5": hashlib.md5(archive.read_bytes()).hexdigest()})
    monkeypatch.setattr(cifar, info.name.upper(), fake)
    cifar._read.cache_clear()
    train, test, spec = cifar.load_cifar(tmp_path, fake)
    for got, (x, y) in ((train, expected["train"]), (test, expected["test"])):
        np.testing.assert_array_equal(got.x.numpy(), x)
        np.testing.assert_array_equal(got.y.numpy(), y)  # CIFAR-100: the fine label (second byte)
    assert spec.input_shape == (3, 32, 32) and spec.num_outputs == info.num_classes
    assert spec.classes[:2] == ["class_0", "class_1"]
    splits = load_splits(info.name, root=str(tmp_path), val_split=0.2)
    assert len(splits.train) + len(splits.val) == len(train) and len(splits.test) == len(test)


def test_wrong_md5_and_missing_archive_name_the_file_and_folder(tmp_path):
    cifar._read.cache_clear()
    with pytest.raises(UsageError, match=r"dataset cifar10: missing cifar-10-binary.tar.gz in .*cifar10; put the "
                                         r"official files there, or point --data-dir / ZENLEARN_DATA at a folder "
                                         r"holding cifar10/"):
        cifar.cifar10(tmp_path)
    write_archive(tmp_path / "cifar100" / cifar.CIFAR100.archive, cifar.CIFAR100, 2, 2)
    with pytest.raises(UsageError, match=r"cifar-100-binary.tar.gz has MD5 [0-9a-f]{32}, expected "
                                         r"03b5dce01913d631647c71ecec9e9cb8"):
        cifar.cifar100(tmp_path)


def test_bad_records_are_clear_errors():
    with pytest.raises(UsageError, match="3000 bytes is not a whole number of 3073-byte records"):
        cifar.parse_records(bytes(3000), 1, 10)
    with pytest.raises(UsageError, match="label 12 found, expected < 10"):
        cifar.parse_records(bytes([12]) + bytes(3072), 1, 10)
