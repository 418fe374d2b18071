"""--init: each scheme's statistics against its definition, what it leaves alone, names, and its purpose."""

import pytest
import torch
from torch import nn

from zenlearn.config import TrainConfig
from zenlearn.data import DataSpec
from zenlearn.errors import UsageError
from zenlearn.nn.build import MODELS
from zenlearn.nn.inits import INITS, initialize
from zenlearn.training.build import build_model, check_config

IMAGES = DataSpec("m", "classification", (1, 28, 28), 10)


@pytest.mark.parametrize("name, variance", [("kaiming-uniform", lambda i, o: 2 / i), ("kaiming-normal", lambda i, o: 2 / i),
                                            ("xavier-uniform", lambda i, o: 2 / (i + o)),
                                            ("xavier-normal", lambda i, o: 2 / (i + o))])
def test_weight_variance_matches_the_scheme(name, variance):
    torch.manual_seed(0)
    layer = initialize(nn.Sequential(nn.Linear(1000, 600)), name)[0]
    assert layer.weight.var().item() == pytest.approx(variance(1000, 600), rel=0.03)
    assert torch.count_nonzero(layer.bias) == 0


def test_orthogonal_rows_are_orthonormal():
    torch.manual_seed(0)
    w = initialize(nn.Sequential(nn.Linear(300, 200)), "orthogonal")[0].weight  # (200, 300)
    torch.testing.assert_close(w @ w.T, torch.eye(200), atol=1e-5, rtol=0)


def test_default_leaves_pytorch_init_and_other_schemes_skip_norm_layers():
    cfg = TrainConfig(model="mlp", hidden=(64, 64), batch_norm=True)
    torch.manual_seed(3)
    ref = MODELS.get("mlp")(IMAGES, hidden=cfg.hidden, batch_norm=True).state_dict()
    torch.manual_seed(3)
    same = build_model(cfg, IMAGES).state_dict()
    assert all(torch.equal(ref[k], same[k]) for k in ref)
    model = build_model(cfg.replace(init="xavier-uniform"), IMAGES)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert norms and all(torch.equal(m.weight, torch.ones_like(m.weight)) and not m.bias.any() for m in norms)


def test_conv_and_recurrent_weights_are_covered():
    seq = DataSpec("s", "classification", (40, 1), 10, kind="sequence")
    torch.manual_seed(0)
    gru = build_model(TrainConfig(model="gru", hidden_size=32, init="orthogonal"), seq)
    w = gru.rnn.weight_hh_l0 if hasattr(gru, "rnn") else next(p for n, p in gru.named_parameters() if "weight_hh" in n)
    assert w.shape == (96, 32) and torch.allclose(w.T @ w, torch.eye(32), atol=1e-5)  # 3 gates stacked
    cnn = build_model(TrainConfig(model="seed-cnn", init="kaiming-normal"), IMAGES)
    assert all(not m.bias.any() for m in cnn.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def test_names_aliases_and_errors():
    assert "kaiming-uniform" in INITS.names() and "default" in INITS.names()
    check_config(TrainConfig(init="he_uniform"))  # Keras' name
    check_config(TrainConfig(init="glorot_uniform"))
    with pytest.raises(UsageError, match=r"unknown init 'lecun'; choose one of: default, kaiming-uniform"):
        check_config(TrainConfig(init="lecun"))


def test_he_init_keeps_the_gradient_of_a_deep_relu_net():
    """Why --init exists: under PyTorch's default init an 8-layer ReLU MLP's first layer gets a far smaller
    gradient than its last; He's initialisation keeps the two within a small factor."""
    cfg = TrainConfig(model="mlp", hidden=(128,) * 8, activation="relu")
    x, y = torch.rand(256, 1, 28, 28), torch.randint(0, 10, (256,))

    def first_over_last(init: str) -> float:
        torch.manual_seed(0)
        model = build_model(cfg.replace(init=init), IMAGES)
        nn.functional.cross_entropy(model(x), y).backward()
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        return (linears[0].weight.grad.norm() / linears[-1].weight.grad.norm()).item()

    default, he = first_over_last("default"), first_over_last("kaiming-uniform")
    assert default < 0.1 and he > 10 * default
