"""Fuzzing (hypothesis): any IDX header and any config value is either accepted or a `UsageError`, never a crash."""

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zenlearn.cli.main import build_parser
from zenlearn.cli.options import config_from_args
from zenlearn.config import TrainConfig, field_names
from zenlearn.data.idx import parse_idx
from zenlearn.errors import UsageError
from zenlearn.training.build import check_config

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def idx_files(draw):
    """Mostly well-formed headers with random codes, sizes and payload lengths, plus raw noise."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=64))
    magic = bytes([draw(st.sampled_from([0, 1])), 0, draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07,
                                                                          0xFF])),
                   draw(st.integers(0, 6))])
    ndim = magic[3]
    dims = draw(st.lists(st.one_of(st.integers(0, 6), st.integers(0, 2**32 - 1)), min_size=ndim, max_size=ndim))
    payload = draw(st.binary(max_size=400))
    return magic + struct.pack(f">{ndim}I", *dims) + payload


@FUZZ
@given(idx_files())
def test_parse_idx_never_crashes(raw):
    try:
        arr = parse_idx(raw, "fuzz")
    except UsageError as e:
        assert str(e).startswith("fuzz: ") and "\n" not in str(e)
        return
    header = 4 + 4 * raw[3]
    assert isinstance(arr, np.ndarray) and arr.nbytes == len(raw) - header
    assert arr.shape == struct.unpack(f">{raw[3]}I", raw[4:header])


def test_parse_idx_round_trip():
    x = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    raw = bytes([0, 0, 0x0C, 3]) + struct.pack(">3I", 2, 3, 4) + x.tobytes()
    assert np.array_equal(parse_idx(raw), x)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=2),
    max_leaves=5)


@FUZZ
@given(st.dictionaries(st.sampled_from(field_names(TrainConfig) + ["bogus_key"]), yaml_values, max_size=6))
def test_config_values_are_accepted_or_refused_in_one_line(d):
    try:
        cfg = check_config(TrainConfig.from_dict(d, source="fuzz"))
    except UsageError as e:
        assert "\n" not in str(e)
        return
    assert check_config(TrainConfig.from_dict(cfg.to_dict())) == cfg  # what is accepted round-trips


cli_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=10)


@FUZZ
@given(st.sampled_from([n for n in field_names(TrainConfig) if n not in ("config",)]), cli_text)
def test_cli_flag_values_are_accepted_or_refused(name, value):
    flag = "--" + name.replace("_", "-")
    try:
        args = build_parser().parse_args(["train", f"{flag}={value}"])
    except SystemExit as e:  # argparse's own one-line error (boolean flags given a value)
        assert e.code == 2
        return
    try:
        config_from_args(args)
    except UsageError as e:
        assert "\n" not in str(e)


@pytest.mark.parametrize("raw", [bytes([0, 0, 8, 4]) + struct.pack(">4I", *[2**32 - 1] * 4)])
def test_huge_idx_dimensions_are_refused_without_overflow(raw):
    with pytest.raises(UsageError, match="header .* says"):
        parse_idx(raw, "huge")
