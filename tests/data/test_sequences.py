import pickle

import numpy as np
import pytest
import torch

from zenlearn.config import TrainConfig
from zenlearn.data import load_splits
from zenlearn.data.mnist1d import load_mnist1d_pickle, make_mnist1d
from zenlearn.data.sine import make_sine
from zenlearn.errors import UsageError
from zenlearn.nn.tasks import mean_baseline_mse
from zenlearn.workflows.train import train_run


@pytest.fixture(scope="module")
def published(data_dir):
    path = data_dir / "mnist1d" / "mnist1d_data.pkl"
    if not path.is_file():
        pytest.fail(f"test data missing: {path}")
    return load_mnist1d_pickle(path)


def test_generated_mnist1d_equals_the_published_file(published):
    d = make_mnist1d()
    for k in ("y", "y_test", "t"):
        assert np.array_equal(d[k], published[k]), k
    for k in ("x", "x_test"):
        assert d[k].shape == published[k].shape and d[k].dtype == published[k].dtype
        np.testing.assert_allclose(d[k], published[k], rtol=0, atol=1e-14)  # float rounding only
    for k in ("x", "t", "y"):
        assert np.array_equal(d["templates"][k], published["templates"][k])
    assert np.bincount(d["y"]).tolist() == [398, 396, 411, 394, 394, 402, 401, 404, 402, 398]


def test_restricted_unpickler_refuses_code(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"f": print}))
    with pytest.raises(UsageError, match="refused to load: the pickle asks for global builtins.print"):
        load_mnist1d_pickle(path)


def test_mnist1d_dataset_spec_and_splits():
    s = load_splits("mnist1d", val_split=0.1)
    assert (len(s.train), len(s.val), len(s.test)) == (3600, 400, 1000)
    assert s.spec.input_shape == (40, 1) and s.spec.kind == "sequence" and s.train.x.dtype == torch.float32


def test_sine_is_the_survey_shape_and_reproducible():
    a, b = make_sine(16, seed=3), make_sine(16, seed=3)
    assert a.x.shape == (16, 5, 2) and a.y.shape == (16, 5, 1) and torch.equal(a.x, b.x)
    # the target is the wave's next value: the first input feature one step later (up to noise)
    assert (a.y[:, :-1, 0] - a.x[:, 1:, 0]).abs().max() < 0.15


def test_mean_baseline_mse():
    assert mean_baseline_mse(torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0], [3.0]])) == 2.0  # (0² + 2²) / 2


def test_sine_lstm_beats_the_trivial_baseline_tenfold(tmp_path, one_thread):
    cfg = TrainConfig(data="sine", model="lstm", hidden_size=32, epochs=3, lr=1e-2, batch_size=64,
                      train_subset=3000, out=str(tmp_path / "sine"))
    summary = train_run(cfg, verbose=False)
    assert summary["baseline_mse"] == pytest.approx(0.54, abs=0.05)
    assert summary["test"]["mse"] == summary["mse"] == summary["test"]["loss"]
    assert summary["mse"] * 10 < summary["baseline_mse"], summary
