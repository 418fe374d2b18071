"""Weight initialisation by name (`--init`): PyTorch's default, He (kaiming), Glorot (xavier) or orthogonal.

`initialize(model, name)` re-draws every weight matrix of the model's Linear, Conv and RNN layers
(`weight`, `weight_ih_l*`, `weight_hh_l*`) with the named scheme and sets their biases to zero, in
`named_modules` order, from torch's global generator (so a seeded run repeats). Normalisation layers keep
their ones and zeros. "default" leaves PyTorch's per-layer initialisation (uniform ±1/√fan_in, about a
third of He's variance) untouched.

Example:
    >>> import torch
    >>> net = initialize(torch.nn.Sequential(torch.nn.Linear(100, 50)), "kaiming-normal")
    >>> bool(net[0].bias.abs().sum() == 0)
    True
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

from zenlearn.registry import Registry

Init = Callable[[Tensor], object]

INITS: Registry[Init | None] = Registry("init")
INITS.add("default", None, "PyTorch's per-layer default: uniform ±1/√fan_in (weights and biases)")
INITS.add("kaiming-uniform", lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
          "He et al. 2015 for ReLU-family nets: uniform, variance 2/fan_in; biases 0",
          aliases=("he-uniform", "he_uniform", "kaiming_uniform", "kaiming", "he"))
INITS.add("kaiming-normal", lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
          "He et al. 2015: normal, variance 2/fan_in; biases 0", aliases=("he-normal", "he_normal", "kaiming_normal"))
INITS.add("xavier-uniform", nn.init.xavier_uniform_,
          "Glorot & Bengio 2010 for tanh/sigmoid nets: uniform, variance 2/(fan_in + fan_out); biases 0",
          aliases=("glorot-uniform", "glorot_uniform", "xavier_uniform", "xavier", "glorot"))
INITS.add("xavier-normal", nn.init.xavier_normal_, "Glorot & Bengio 2010: normal, variance 2/(fan_in + fan_out); "
          "biases 0", aliases=("glorot-normal", "glorot_normal", "xavier_normal"))
INITS.add("orthogonal", nn.init.orthogonal_, "Saxe et al. 2014: (semi-)orthogonal weight matrices; biases 0")

LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.RNNBase)


def initialize(model: nn.Module, name: str) -> nn.Module:
    """Re-initialise `model`'s Linear/Conv/RNN weights with scheme `name` (see `INITS`); returns `model`."""
    init = INITS.get(name)
    if init is None:
        return model
    for module in model.modules():
        if not isinstance(module, LAYERS):
            continue
        for pname, p in module.named_parameters(recurse=False):
            if pname.startswith("weight") and p.dim() >= 2:
                init(p.data)
            elif pname.startswith("bias"):
                p.data.zero_()
    return model
