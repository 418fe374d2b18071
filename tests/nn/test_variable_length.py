"""Variable-length series without artefacts: a short series gives the same output alone and padded in a batch."""

from __future__ import annotations

import pytest
import torch

from zenlearn.data import DataSpec
from zenlearn.nn.build import create_model

SEQUENCE_MODELS = [("rnn", {}), ("lstm", {}), ("gru", {}), ("lstm", {"head": "mean"}), ("gru", {"head": "max"}),
                   ("lstm", {"bidirectional": True, "num_layers": 2}), ("cnn", {"batch_norm": True}),
                   ("cnn", {"pool": "avg", "stride": 2}), ("fcn", {}), ("resnet", {})]
SPEC = DataSpec("toy", "classification", (60, 3), 4, kind="sequence", variable_length=True)


def padded(series: torch.Tensor, steps: int) -> torch.Tensor:
    """(L, F) → (steps, F) with NaN steps after the series (the data layer's convention)."""
    return torch.cat([series, torch.full((steps - len(series), series.shape[1]), float("nan"))])


@pytest.mark.parametrize("name, options", SEQUENCE_MODELS, ids=lambda v: str(v))
def test_short_series_alone_equals_padded_in_a_batch(name, options, one_thread):
    torch.manual_seed(0)
    model = create_model(name, SPEC, **options).eval()
    short, other = torch.randn(16, 3), torch.randn(60, 3)
    with torch.no_grad():
        alone = model(short[None])  # (1, 4): no padding at all
        batch = model(torch.stack([padded(short, 60), other, padded(torch.randn(30, 3), 60)]))  # (3, 4)
    torch.testing.assert_close(batch[0], alone[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["cnn", "fcn", "resnet"])
def test_batch_norm_statistics_count_real_steps_only(name, one_thread):
    torch.manual_seed(0)
    model = create_model(name, SPEC, **({"batch_norm": True} if name == "cnn" else {})).train()
    short = torch.randn(2, 9, 3)
    a = model(short)
    b = model(torch.stack([padded(s, 60) for s in short]))  # the same series, padded: same training statistics
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_fixed_length_models_do_not_mask():
    spec = DataSpec("toy", "classification", (20, 1), 2, kind="sequence")
    assert not create_model("fcn", spec).variable_length and not create_model("lstm", spec).variable_length
