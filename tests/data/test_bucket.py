"""Batches bucketed by length: seeded and resumable like the plain order, trimmed, and the same output per series."""

from __future__ import annotations

import pytest
import torch

from zenlearn import TrainConfig
from zenlearn.data import ArrayData, DataSpec, Splits
from zenlearn.data.arrays import BatchLoader, bucket_order, series_lengths
from zenlearn.errors import UsageError
from zenlearn.nn.build import create_model
from zenlearn.training.build import build_model
from zenlearn.training.callbacks import Callback
from zenlearn.training.trainer import Trainer

SEQUENCE_MODELS = [("rnn", {}), ("lstm", {}), ("gru", {"head": "max"}), ("lstm", {"bidirectional": True}),
                   ("cnn", {"batch_norm": True}), ("fcn", {}), ("resnet", {})]
STEPS, FEATURES = 40, 2
SPEC = DataSpec("toy", "classification", (STEPS, FEATURES), 3, kind="sequence", variable_length=True)


def series_set(n: int = 45, seed: int = 0) -> ArrayData:
    """`n` series of 3 to 40 steps, each followed by NaN steps up to 40 (the data layer's padding)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, STEPS + 1, (n,), generator=g)
    x = torch.randn(n, STEPS, FEATURES, generator=g)
    x[torch.arange(STEPS) >= lengths[:, None]] = float("nan")  # (N, T, F), NaN after each series' end
    return ArrayData(x, torch.randint(0, 3, (n,), generator=g))


def batches(loader: BatchLoader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(indices, inputs) of every batch of one pass."""
    out = []
    for x, _ in loader:
        out.append((loader.last_batch[0].clone(), x))
    return out


def test_series_lengths_read_the_nan_padding():
    data = series_set()
    lengths = series_lengths(data.x)
    assert torch.equal(lengths, (~data.x.isnan().all(-1)).sum(1))  # padding only trails the series


def test_bucket_order_is_a_seeded_permutation_of_similar_lengths():
    lengths = series_lengths(series_set(500).x)
    a = bucket_order(lengths, 8, seed=3, epoch=2)
    assert sorted(a.tolist()) == list(range(500))
    assert torch.equal(a, bucket_order(lengths, 8, seed=3, epoch=2))  # deterministic: resume repeats it
    assert not torch.equal(a, bucket_order(lengths, 8, seed=3, epoch=3))  # a new order every epoch
    assert not torch.equal(a, bucket_order(lengths, 8, seed=4, epoch=2))
    plain = torch.randperm(500, generator=torch.Generator().manual_seed(0))
    longest = lambda order: sum(lengths[b].max().item() for b in order.split(8))  # steps computed per pass
    spread = lambda order: sum((lengths[b].max() - lengths[b].min()).item() for b in order.split(8)) / 63
    assert longest(a) < 0.8 * longest(plain) and spread(a) < 2 < 20 < spread(plain)  # 500 series of 38 lengths
    assert len(a[496:]) == 4  # the short batch stays last (drop_last drops it)


def test_bucketed_loader_trims_each_batch_and_resumes_mid_epoch():
    data = series_set()
    loader = BatchLoader(data, 8, shuffle=True, seed=1, bucket=True)
    loader.set_epoch(4)
    full = batches(loader)
    lengths = series_lengths(data.x)
    assert sorted(torch.cat([i for i, _ in full]).tolist()) == list(range(len(data)))
    for i, x in full:
        assert x.shape[1] == lengths[i].max() < STEPS or x.shape[1] == STEPS
        assert not x[:, -1].isnan().all()  # no step of padding alone: the batch ends with its longest series
    loader.set_epoch(4, skip_batches=3)  # a resumed epoch continues exactly where it stopped
    rest = batches(loader)
    assert len(rest) == len(full) - 3
    for (i, x), (j, y) in zip(rest, full[3:]):
        assert torch.equal(i, j) and torch.equal(x.nan_to_num(7.0), y.nan_to_num(7.0))
    plain = BatchLoader(data, 8, shuffle=True, seed=1)
    plain.set_epoch(4)
    assert sum(x.shape[1] for _, x in full) < sum(x.shape[1] for _, x in batches(plain))


@pytest.mark.parametrize("name, options", SEQUENCE_MODELS, ids=lambda v: str(v))
def test_each_series_gives_the_same_output_bucketed_and_padded(name, options, one_thread):
    torch.manual_seed(0)
    model = create_model(name, SPEC, **options).eval()
    data = series_set()
    splits = Splits(SPEC, data, None, data)
    outputs = {}
    for bucket in (False, True):
        loader = splits.loader(data, 8, shuffle=True, seed=2, bucket=bucket)
        out = torch.empty(len(data), 3)
        with torch.no_grad():
            for i, x in batches(loader):
                out[i] = model(x)  # (B, 3)
        outputs[bucket] = out
    torch.testing.assert_close(outputs[True], outputs[False], atol=1e-5, rtol=0)


def test_bucket_changes_nothing_for_series_of_one_length():
    data = ArrayData(torch.randn(20, 10, 1), torch.zeros(20, dtype=torch.long))
    splits = Splits(DataSpec("eq", "classification", (10, 1), 2, kind="sequence"), data, None, data)
    a = batches(splits.loader(data, 4, shuffle=True, seed=0, bucket=True))
    b = batches(splits.loader(data, 4, shuffle=True, seed=0))
    assert all(torch.equal(i, j) and torch.equal(x, y) for (i, x), (j, y) in zip(a, b))


def test_bucket_refuses_a_model_that_sees_the_padding():
    with pytest.raises(UsageError, match="--bucket: model 'mlp' sees every series at its full padded length"):
        build_model(TrainConfig(model="mlp", bucket=True), SPEC)
    assert build_model(TrainConfig(model="fcn", bucket=True), SPEC).variable_length


def _fit_bucketed(epochs, *, stop_after=None, state=None):
    """A masked cnn on bucketed series; stops after optimizer step `stop_after`, or resumes from `state`."""
    data = series_set()
    torch.manual_seed(0)
    model = create_model("cnn", SPEC, channels=(8,), hidden=(), batch_norm=True)
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), 1e-2), device="cpu")
    loader = Splits(SPEC, data, None, data).loader(data, 8, shuffle=True, seed=5, bucket=True)

    class Stop(Exception):
        pass

    class Snap(Callback):
        def on_batch_end(self, step, logs):
            if trainer.global_step == stop_after:
                snaps.append(trainer.state_dict())
                raise Stop

    snaps: list = []
    trainer.callbacks.append(Snap())
    if state is not None:
        trainer.load_state_dict(state)
    try:
        trainer.fit(loader, epochs=epochs, verbose=False)
    except Stop:
        return trainer, snaps[0]
    return trainer, None


def test_a_bucketed_run_resumed_mid_epoch_ends_identical(one_thread):
    full, _ = _fit_bucketed(2)
    _, snap = _fit_bucketed(2, stop_after=9)  # epoch 2 (6 batches an epoch), after its 3rd batch
    resumed, _ = _fit_bucketed(2, state=snap)
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
