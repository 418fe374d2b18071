"""Models by name (`MODELS`): plain `nn.Module`s, plus builders that size them from config and data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor, nn

from .activations import get_activation
from .errors import UsageError
from .registry import Registry

if TYPE_CHECKING:
    from .config import TrainConfig
    from .data import DataSpec

Builder = Callable[["TrainConfig", "DataSpec"], nn.Module]
MODELS: Registry[Builder] = Registry("model")


class SeedCNN(nn.Module):
    """The survey's CNN: Conv(32,3x3,relu) → MaxPool(2) → Conv(64,3x3,relu) → MaxPool(2) → Dense(64) → Dense(10).

    Outputs logits; the softmax is folded into the cross-entropy loss (and applied by `predict`).

    Args:
        in_channels: Input channels. Defaults to 1.
        num_classes: Output classes. Defaults to 10.
        image_size: Input height/width (square). Defaults to 28.

    Example:
        >>> SeedCNN()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> None:
        super().__init__()
        side = ((image_size - 2) // 2 - 2) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * side * side, 64), nn.ReLU(), nn.Linear(64, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (B, C, H, W) -> (B, num_classes)


class MLP(nn.Module):
    """Multi-layer perceptron on flattened inputs; no hidden layers gives logistic regression.

    Args:
        in_features: Flattened input size.
        hidden: Hidden layer sizes. Defaults to (256, 256).
        num_outputs: Output units. Defaults to 10.
        activation: Activation name or module factory. Defaults to "relu".
        dropout: Dropout after each hidden activation. Defaults to 0.
        batch_norm: Batch norm before each hidden activation. Defaults to False.
        **act_params: Activation parameters (`negative_slope`, `alpha`).

    Example:
        >>> MLP(784, (256, 256), 10)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...] = (256, 256), num_outputs: int = 10,
                 activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False, **act_params) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers.append(nn.Linear(width, h))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(get_activation(activation, **act_params))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_outputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # (B, *input_shape) -> (B, num_outputs)


@MODELS.register("seed-cnn", "the survey's CNN: 2 conv(3x3)+maxpool stages (32, 64), dense 64, dense out",
                 aliases=("seed_cnn",))
def _seed_cnn(cfg: "TrainConfig", spec: "DataSpec") -> nn.Module:
    shape = spec.input_shape
    if spec.kind != "image" or len(shape) != 3 or shape[1] != shape[2] or shape[1] < 10:
        raise UsageError(f"model 'seed-cnn' needs square images (C, H, W) of at least 10x10, but dataset "
                         f"{spec.name!r} gives samples of shape {shape}; pick an image dataset or --model mlp")
    if spec.task != "classification":
        raise UsageError(f"model 'seed-cnn' is a classifier; dataset {spec.name!r} is {spec.task}")
    return SeedCNN(shape[0], spec.num_outputs, shape[1])


@MODELS.register("mlp", "multi-layer perceptron on flattened inputs (--hidden, --activation)")
def _mlp(cfg: "TrainConfig", spec: "DataSpec") -> nn.Module:
    n_in = int(torch.tensor(spec.input_shape).prod())
    return MLP(n_in, cfg.hidden, spec.num_outputs, cfg.activation)


def build_model(cfg: "TrainConfig", spec: "DataSpec") -> nn.Module:
    """The model `cfg.model` sized for dataset `spec`, checked with one dummy forward pass."""
    model = MODELS.get(cfg.model)(cfg, spec)
    with torch.no_grad():
        was = model.training
        model.eval()
        try:
            out = model(torch.zeros(2, *spec.input_shape))
        except RuntimeError as e:
            raise UsageError(f"model {cfg.model!r} does not fit dataset {spec.name!r} (samples of shape "
                             f"{spec.input_shape}): {str(e).splitlines()[0]}; pick another --model") from None
        model.train(was)
    if out.shape[1] != spec.num_outputs:
        raise UsageError(f"model {cfg.model!r} gives {out.shape[1]} outputs, dataset {spec.name!r} needs "
                         f"{spec.num_outputs}")
    return model


def param_table(model: nn.Module) -> list[tuple[str, str, int]]:
    """(module name, type, parameters) for every leaf module with parameters, in order."""
    rows = []
    for name, mod in model.named_modules():
        n = sum(p.numel() for p in mod.parameters(recurse=False))
        if n:
            rows.append((name, type(mod).__name__, n))
    return rows


def model_summary(model: nn.Module) -> str:
    """A Keras-style text table: layer name, type and parameter count, with the total."""
    rows = param_table(model)
    width = max([len(r[0]) for r in rows] + [5])
    lines = [f"{'layer':<{width}}  {'type':<14} {'params':>10}", "-" * (width + 27)]
    lines += [f"{name:<{width}}  {kind:<14} {n:>10,}" for name, kind, n in rows]
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines += ["-" * (width + 27), f"total params: {total:,} (trainable {trainable:,})"]
    return "\n".join(lines)
