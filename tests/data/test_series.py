"""`ucr:NAME` and `series:PATH`: aeon's readers, the NaN-padding convention, normalisation, pairs and bad files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from zenlearn.data import load_splits
from zenlearn.data.series import bundled_names, find_pair, normalise
from zenlearn.errors import UsageError

TS_HEADER = "@problemName toy\n@timeStamps false\n@missing true\n@univariate {uni}\n@dimensions {dims}\n" \
            "@equalLength {eq}\n@classLabel true {labels}\n@data\n"


def write_ts(path: Path, rows: list[str], *, uni: bool = True, dims: int = 1, eq: bool = False,
             labels: str = "a b c") -> Path:
    head = TS_HEADER.format(uni=str(uni).lower(), dims=dims, eq=str(eq).lower(), labels=labels)
    path.write_text(head + "\n".join(rows) + "\n")
    return path


def test_ucr_bundled_gunpoint_is_the_archive_split():
    s = load_splits("ucr:GunPoint", val_split=0)
    assert (len(s.train), len(s.test)) == (50, 150)
    assert s.spec.input_shape == (150, 1) and s.spec.kind == "sequence" and not s.spec.variable_length
    assert s.spec.classes == ["1", "2"]
    # --normalize series (the default): every series has mean 0 and standard deviation 1
    assert s.train.x.mean(1).abs().max() < 1e-5 and (s.train.x.std(1, unbiased=False) - 1).abs().max() < 1e-4


def test_ucr_japanese_vowels_is_variable_length_and_multivariate():
    s = load_splits("ucr:JapaneseVowels", val_split=0)
    assert s.spec.input_shape == (29, 12) and s.spec.variable_length and s.spec.num_outputs == 9
    lengths = (~s.train.x.isnan().all(-1)).sum(1)
    assert 7 <= int(lengths.min()) < int(lengths.max()) <= 29
    assert not s.train.x[0, : int(lengths[0])].isnan().any()  # only the tail is padding


def test_ucr_unknown_name_lists_the_bundled_ones():
    with pytest.raises(UsageError, match=r"'NoSuchSet' is not bundled with aeon; bundled: .*GunPoint"):
        load_splits("ucr:NoSuchSet")
    assert "OSULeaf" in bundled_names()


def test_series_ts_variable_length_missing_values_and_pairs(tmp_path):
    write_ts(tmp_path / "toy_TRAIN.ts", ["1,2,3,4:a", "1,?,3:b", "4,3,2,1,0:a", "0,1:b"])
    write_ts(tmp_path / "toy_TEST.ts", ["1,2,3:a", "3,2,1,0,1,2:b"])
    for path in (tmp_path, tmp_path / "toy", tmp_path / "toy_TRAIN.ts", tmp_path / "toy_TEST.ts"):
        assert find_pair(path) == (tmp_path / "toy_TRAIN.ts", tmp_path / "toy_TEST.ts")
    s = load_splits(f"series:{tmp_path}", val_split=0, normalize="none")
    assert s.spec.input_shape == (6, 1) and s.spec.variable_length and s.spec.classes == ["a", "b"]  # seen in training
    assert s.train.x[1, :3, 0].tolist() == [1.0, 2.0, 3.0]  # the '?' interpolated
    assert math.isnan(s.train.x[1, 3, 0]) and s.train.y.tolist() == [0, 1, 0, 1]


def test_series_tsv_label_first(tmp_path):
    rows = ["1\t0.5\t1.5\t2.5", "2\t3\t2\t1"]
    (tmp_path / "x_TRAIN.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "x_TEST.tsv").write_text(rows[0] + "\n")
    s = load_splits(f"series:{tmp_path}/x", val_split=0, normalize="none")
    assert s.train.x[:, :, 0].tolist() == [[0.5, 1.5, 2.5], [3.0, 2.0, 1.0]] and s.test.y.tolist() == [0]


def test_normalise_global_uses_training_statistics():
    train, test = np.array([[[0.0], [2.0]], [[4.0], [np.nan]]]), np.array([[[2.0], [6.0]]])
    normalise(train, test, "global")
    mean, std = 2.0, np.std([0.0, 2.0, 4.0])
    assert np.allclose(test[0, :, 0], [(2 - mean) / std, (6 - mean) / std]) and np.isnan(train[1, 1, 0])


@pytest.mark.parametrize("files, needle", [
    ({"t_TEST.ts": ["1,2:a"]}, "found t_TEST.ts but no t_TRAIN.ts"),
    ({"t_TRAIN.ts": ["1,2:a", "1,2:b"], "t_TEST.ts": ["1,2:c"]}, "label(s) c never seen in t_TRAIN.ts"),
    ({"t_TRAIN.ts": ["1,2:a", "1,2:z"], "t_TEST.ts": ["1,2:a"]}, "header lists the labels a b c but the data has z"),
])
def test_series_bad_files(tmp_path, files, needle):
    for name, rows in files.items():
        write_ts(tmp_path / name, rows)
    with pytest.raises(UsageError) as e:
        load_splits(f"series:{tmp_path}")
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_series_header_dimensions_disagree(tmp_path):
    write_ts(tmp_path / "m_TRAIN.ts", ["1,2:3,4:a"], uni=False, dims=3)
    write_ts(tmp_path / "m_TEST.ts", ["1,2:3,4:a"], uni=False, dims=3)
    with pytest.raises(UsageError, match=r"header says @dimensions 3 but each series has 2"):
        load_splits(f"series:{tmp_path}")
    assert torch.is_tensor(load_splits("ucr:BasicMotions", val_split=0).train.x)
