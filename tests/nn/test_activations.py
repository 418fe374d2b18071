import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zenlearn.data import BatchLoader, load_splits
from zenlearn.errors import UsageError
from zenlearn.nn.activations import ACTIVATIONS, get_activation, value_and_derivative
from zenlearn.nn.models import MLP
from zenlearn.report.plots.tools import plot_activations
from zenlearn.training.trainer import Trainer

# The reference: torch.nn.functional, with the non-default parameters the config can set.
REFERENCE = {
    "sigmoid": (torch.sigmoid, {}),
    "tanh": (torch.tanh, {}),
    "relu": (F.relu, {}),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), {"negative_slope": 0.2}),
    "elu": (lambda x: F.elu(x, 0.7), {"elu_alpha": 0.7}),
    "gelu": (F.gelu, {}),
    "silu": (F.silu, {}),
    "selu": (F.selu, {}),
    "softplus": (F.softplus, {}),
    "mish": (F.mish, {}),
    "identity": (lambda x: x, {}),
}


def test_reference_covers_the_registry():
    assert sorted(REFERENCE) == sorted(ACTIVATIONS.names())


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_values_and_gradients_match_torch_functional(name):
    ref, params = REFERENCE[name]
    x = torch.linspace(-6, 6, 1201, dtype=torch.float64)  # includes 0 and both tails
    y, dy = value_and_derivative(get_activation(name, **params), x)
    xr = x.clone().requires_grad_(True)
    yr = ref(xr)
    (dyr,) = torch.autograd.grad(yr.sum(), xr)
    torch.testing.assert_close(y, yr.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(dy, dyr, rtol=0, atol=1e-12)


def test_hand_computed_values():
    x = torch.tensor([-2.0, 0.0, 3.0])
    assert get_activation("leaky_relu", negative_slope=0.1)(x).tolist() == pytest.approx([-0.2, 0.0, 3.0])
    elu = get_activation("elu", elu_alpha=2.0)(x)
    assert elu.tolist() == pytest.approx([2.0 * (torch.exp(torch.tensor(-2.0)).item() - 1), 0.0, 3.0])
    _, d = value_and_derivative(get_activation("leaky_relu", negative_slope=0.1), x)
    assert d.tolist() == pytest.approx([0.1, 0.1, 1.0])  # at 0 torch takes the x <= 0 branch


def test_lookup_by_name_module_factory_and_alias():
    assert isinstance(get_activation("swish"), nn.SiLU)
    m = nn.Tanh()
    assert get_activation(m) is m and isinstance(get_activation(nn.GELU), nn.GELU)
    assert isinstance(get_activation("relu", elu_alpha=3.0), nn.ReLU)  # other activations' options ignored
    with pytest.raises(UsageError, match=r"unknown activation 'rleu'; did you mean 'relu'\? choose one of: sigmoid, tanh, relu"):
        get_activation("rleu")


def test_plot_writes_a_png(tmp_path):
    path = plot_activations(tmp_path / "acts.png", negative_slope=0.2)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


@pytest.fixture(scope="module")
def mnist(data_dir):
    return load_splits("mnist", val_split=0.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_activation_trains_an_mlp_on_mnist(name, mnist, one_thread):
    torch.manual_seed(0)
    model = MLP(784, (64,), 10, name)
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=2e-3), device="cpu")
    trainer.fit(BatchLoader(mnist.train, 128, scale=mnist.spec.scale, shuffle=True), epochs=1, verbose=False)
    assert trainer.epoch == 1 and trainer.global_step == 469  # one full epoch over the 60k training images
    test = trainer.evaluate(BatchLoader(mnist.test, 2000, scale=mnist.spec.scale))
    assert test["accuracy"] > 0.90, test
