"""One activation per hidden layer of the mlp (`--activation relu,tanh,sigmoid`), and its bad input."""

import pytest
from torch import nn

from zenlearn.config import TrainConfig
from zenlearn.errors import UsageError
from zenlearn.nn.models import MLP
from zenlearn.training.build import check_config


def test_mlp_takes_one_activation_per_hidden_layer():
    model = MLP(2, (8, 8, 8), 3, "relu,tanh,leaky_relu", batch_norm=True, dropout=0.1, negative_slope=0.2)
    acts = [type(m) for m in model.net if isinstance(m, (nn.ReLU, nn.Tanh, nn.LeakyReLU))]
    assert acts == [nn.ReLU, nn.Tanh, nn.LeakyReLU] and model.net[-3].negative_slope == 0.2
    assert [type(m) for m in MLP(2, (4, 4), 2, "elu").net if isinstance(m, nn.ELU)] == [nn.ELU, nn.ELU]
    check_config(TrainConfig(data="spiral", model="mlp", hidden=(8, 8), activation="relu,sigmoid"))


@pytest.mark.parametrize("cfg, message", [
    (dict(hidden=(8, 8), activation="relu,tanh,sigmoid"), "activation lists 3 activations for 2 hidden layers"),
    (dict(hidden=(8, 8), activation="relu,tanhh"), "unknown activation 'tanhh'; did you mean 'tanh'?"),
    (dict(model="cnn", activation="relu,tanh"), "activation: one per hidden layer ('relu,tanh') is for the mlp"),
])
def test_bad_per_layer_activations(cfg, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        check_config(TrainConfig(**{"data": "spiral", "model": "mlp", **cfg}))
