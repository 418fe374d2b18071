"""Activation functions by name (`ACTIVATIONS`), as `nn.Module` factories usable in any model."""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from .registry import Registry

ACTIVATIONS: Registry[Callable[..., nn.Module]] = Registry("activation")
ACTIVATIONS.add("sigmoid", nn.Sigmoid, "1 / (1 + exp(-x)); saturates, gradients vanish in deep nets")
ACTIVATIONS.add("tanh", nn.Tanh, "zero-centred sigmoid in (-1, 1); still saturates")
ACTIVATIONS.add("relu", nn.ReLU, "max(0, x); cheap, no saturation for x > 0, can die")
ACTIVATIONS.add("leaky_relu", nn.LeakyReLU, "x if x > 0 else slope*x; keeps a gradient for x < 0",
                aliases=("leaky-relu", "lrelu"), params={"negative_slope": 0.01})
ACTIVATIONS.add("elu", nn.ELU, "x if x > 0 else alpha*(exp(x)-1); smooth, mean activations near zero",
                params={"alpha": 1.0})
ACTIVATIONS.add("gelu", nn.GELU, "x * Phi(x); smooth ReLU used by transformers")
ACTIVATIONS.add("silu", nn.SiLU, "x * sigmoid(x) (swish)", aliases=("swish",))
ACTIVATIONS.add("selu", nn.SELU, "scaled ELU; self-normalizing with LeCun init")
ACTIVATIONS.add("softplus", nn.Softplus, "log(1 + exp(x)); smooth approximation of ReLU")
ACTIVATIONS.add("mish", nn.Mish, "x * tanh(softplus(x))")
ACTIVATIONS.add("identity", nn.Identity, "x; no non-linearity (a linear model)", aliases=("linear", "none"))


def get_activation(spec: str | nn.Module | Callable[..., nn.Module], **params: Any) -> nn.Module:
    """A fresh activation module from a name (with its parameters), a module, or a module factory.

    Args:
        spec: Registered name ("elu"), an `nn.Module` (returned as is) or a class/factory.
        **params: Parameters of the named activation (`negative_slope`, `alpha`); ones it does not take
            are ignored so that one config can serve every activation.

    Example:
        >>> get_activation("leaky_relu", negative_slope=0.2)
        LeakyReLU(negative_slope=0.2)
    """
    if isinstance(spec, nn.Module):
        return spec
    if isinstance(spec, str):
        entry = ACTIVATIONS.entry(spec)
        takes = entry.meta.get("params", {})
        return entry.obj(**{k: v for k, v in params.items() if k in takes and v is not None})
    return spec()
