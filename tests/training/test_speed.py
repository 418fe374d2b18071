"""The speed changes of issue 7 keep results: layouts, layer order, threads, the fast recipe's pieces."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from zenlearn import TrainConfig, UsageError
from zenlearn.config import load_yaml
from zenlearn.nn.fastcnn import FastCNN
from zenlearn.nn.models import SeedCNN
from zenlearn.training.build import check_config
from zenlearn.training.device import set_threads
from zenlearn.training.trainer import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_seed_cnn_pool_then_relu_equals_the_survey_order():
    torch.manual_seed(0)
    model = SeedCNN()
    f = model.features
    reference = nn.Sequential(f[0], nn.ReLU(), nn.MaxPool2d(2), f[3], nn.ReLU(), nn.MaxPool2d(2), model.head)
    x = torch.randn(8, 1, 28, 28, requires_grad=True)
    out, ref = model(x), reference(x)
    torch.testing.assert_close(out, ref)
    g, g_ref = torch.autograd.grad(out.square().sum(), (x, f[0].weight)), \
        torch.autograd.grad(ref.square().sum(), (x, f[0].weight))
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("precision", ["32", "bf16"])
def test_channels_last_trains_like_the_default_layout(precision):
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    params = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        model = SeedCNN()
        trainer = Trainer(model, torch.optim.Adam(model.parameters(), 1e-3), device="cpu", precision=precision,
                          channels_last=channels_last)
        trainer.fit((x, y), epochs=2, batch_size=16, verbose=False)
        assert trainer.channels_last is channels_last
        params.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    tol = 1e-4 if precision == "32" else 2e-2
    torch.testing.assert_close(params[0], params[1], atol=tol, rtol=tol)


def test_channels_last_is_automatic_for_cpu_conv_models_only():
    assert Trainer(SeedCNN(), device="cpu").channels_last
    assert not Trainer(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), device="cpu").channels_last


def test_set_threads():
    before = torch.get_num_threads()
    try:
        assert set_threads(None) == before
        assert set_threads(1) == 1
        assert 1 <= set_threads(0) <= (os.cpu_count() or 1)
    finally:
        torch.set_num_threads(before)


def test_fast_cnn_shapes_and_batch_norm():
    model = FastCNN()
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 3


def test_fast_cnn_crop_equals_the_uncropped_net_on_the_cropped_image():
    torch.manual_seed(0)
    cropped, plain = FastCNN(crop=2).eval(), FastCNN(image_size=24, crop=0).eval()
    plain.load_state_dict(cropped.state_dict())
    x = torch.randn(4, 1, 28, 28)
    torch.testing.assert_close(cropped(x), plain(x[:, :, 2:-2, 2:-2]))
    with pytest.raises(ValueError, match="crop must leave a side of at least 8 pixels"):
        FastCNN(image_size=10, crop=2)


def test_fast_recipe_config_is_valid():
    cfg = check_config(TrainConfig.from_dict(load_yaml(os.path.join(ROOT, "examples", "mnist-fast.yaml"))))
    assert (cfg.model, cfg.schedule, cfg.label_smoothing) == ("fast-cnn", "one-cycle", 0.1)


def test_label_smoothing_and_threads_are_checked():
    with pytest.raises(UsageError, match=r"label_smoothing must be in \[0, 1\), got 1.0"):
        check_config(TrainConfig(label_smoothing=1.0))
    with pytest.raises(UsageError, match="threads must be >= 0"):
        check_config(TrainConfig(threads=-1))


def test_fast_recipe_runs_end_to_end(tmp_path, data_dir):
    from zenlearn.workflows.train import train_run

    base = TrainConfig.from_dict(load_yaml(os.path.join(ROOT, "examples", "mnist-fast.yaml")))
    cfg = base.replace(train_subset=3072, epochs=3, val_split=0.0, out=str(tmp_path / "run"), data_dir=str(data_dir), threads=None)
    summary = train_run(cfg, verbose=False)
    assert summary["model"] == "fast-cnn" and summary["precision"] == "bf16"
    assert summary["test"]["accuracy"] > 0.7
    assert TrainConfig.from_dict(load_yaml(tmp_path / "run" / "config.yaml")).label_smoothing == 0.1
