"""The time-series classifiers of Wang, Yan and Oates 2017 ("Time series classification from scratch with deep
neural networks: a strong baseline"), as Fawaz et al. 2019 (`hfawaz/dl-4-tsc`) train them.

- `FCN`: three convolution blocks (128 filters of width 8, 256 of 5, 128 of 3; each conv → batch norm → ReLU,
  Keras "same" padding), a global average pool over time and a dense layer.
- `ResNet`: three residual blocks (64, 128, 128 filters), each three such convolutions (the last without
  its ReLU) plus a shortcut (1x1 conv + batch norm where the width changes, batch norm otherwise), the sum
  through a ReLU; then the global average pool and a dense layer.

Inputs are (B, T, F) sequences, run as (B, F, 1, T) through (1, k) 2-D convolutions (channels-last on CPU:
the fast oneDNN layout). With `variable_length`, trailing NaN steps are padding
(`zenlearn.nn.masking`): they are zeroed before every convolution, left out of batch-norm statistics and of
the pool, so a series' output does not depend on how far its batch is padded.
"""

from __future__ import annotations

from torch import Tensor, nn

from zenlearn.nn.masking import MaskedBatchNorm2d, SameConvRow, step_mask, unpad


class ConvBlock(nn.Module):
    """conv("same") → batch norm → [ReLU] on (B, C, 1, T), padded steps zeroed before the conv."""

    def __init__(self, cin: int, cout: int, kernel_size: int, relu: bool = True) -> None:
        super().__init__()
        self.conv, self.bn = SameConvRow(cin, cout, kernel_size), MaskedBatchNorm2d(cout)
        self.relu = relu

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        h = self.bn(self.conv(h if mask is None else h * mask), mask)
        return h.relu() if self.relu else h


class FCN(nn.Module):
    """Wang et al.'s fully convolutional network (see the module docstring).

    Args:
        in_features: Features per time step.
        num_outputs: Output units (classes). Defaults to 2.
        filters: Filters of the three blocks. Defaults to (128, 256, 128).
        kernel_sizes: Kernel widths of the three blocks. Defaults to (8, 5, 3).
        variable_length: Read each series' length from trailing NaN steps. Defaults to False.

    Example:
        >>> import torch
        >>> FCN(3, 4)(torch.zeros(2, 50, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(self, in_features: int, num_outputs: int = 2, *, filters: tuple[int, ...] = (128, 256, 128),
                 kernel_sizes: tuple[int, ...] = (8, 5, 3), variable_length: bool = False) -> None:
        super().__init__()
        widths = (in_features, *filters)
        self.blocks = nn.ModuleList(ConvBlock(widths[i], widths[i + 1], k) for i, k in enumerate(kernel_sizes))
        self.out = nn.Linear(widths[-1], num_outputs)
        self.variable_length = variable_length

    def forward(self, x: Tensor) -> Tensor:
        h, mask = _channels_first(x, self.variable_length)  # (B, F, 1, T), (B, 1, 1, T) or None
        for block in self.blocks:
            h = block(h, mask)
        return self.out(_pool(h, mask))  # (B, num_outputs)


class ResidualBlock(nn.Module):
    """Three `ConvBlock`s (8, 5, 3; the last without ReLU) plus a shortcut, summed, then ReLU."""

    def __init__(self, cin: int, cout: int, kernel_sizes: tuple[int, ...] = (8, 5, 3)) -> None:
        super().__init__()
        widths = (cin, cout, cout, cout)
        self.convs = nn.ModuleList(ConvBlock(widths[i], widths[i + 1], k, relu=i < len(kernel_sizes) - 1)
                                   for i, k in enumerate(kernel_sizes))
        self.project = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.bn = MaskedBatchNorm2d(cout)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        y = h
        for conv in self.convs:
            y = conv(y, mask)
        shortcut = self.project(h) if self.project is not None else h
        return (y + self.bn(shortcut, mask)).relu()


class ResNet(nn.Module):
    """Wang et al.'s residual network for time series (see the module docstring).

    Args:
        in_features: Features per time step.
        num_outputs: Output units (classes). Defaults to 2.
        filters: Filters of the three residual blocks. Defaults to (64, 128, 128).
        variable_length: Read each series' length from trailing NaN steps. Defaults to False.

    Example:
        >>> import torch
        >>> ResNet(1, 3)(torch.zeros(2, 30, 1)).shape
        torch.Size([2, 3])
    """

    def __init__(self, in_features: int, num_outputs: int = 2, *, filters: tuple[int, ...] = (64, 128, 128),
                 variable_length: bool = False) -> None:
        super().__init__()
        widths = (in_features, *filters)
        self.blocks = nn.ModuleList(ResidualBlock(widths[i], widths[i + 1]) for i in range(len(filters)))
        self.out = nn.Linear(widths[-1], num_outputs)
        self.variable_length = variable_length

    def forward(self, x: Tensor) -> Tensor:
        h, mask = _channels_first(x, self.variable_length)
        for block in self.blocks:
            h = block(h, mask)
        return self.out(_pool(h, mask))  # (B, num_outputs)


def _channels_first(x: Tensor, variable_length: bool) -> tuple[Tensor, Tensor | None]:
    """(B, T, F) → (B, F, 1, T), channels-last in memory (the same bytes as the input: no copy), plus the step
    mask (B, 1, 1, T) of a variable-length batch."""
    if x.ndim == 2:
        x = x.unsqueeze(-1)  # (B, T) -> (B, T, 1)
    mask = None
    if variable_length:
        x, lengths = unpad(x)
        mask = step_mask(lengths, x.shape[1]).unsqueeze(2)  # (B, 1, 1, T)
    return x.unsqueeze(1).permute(0, 3, 1, 2), mask  # (B, 1, T, F) -> (B, F, 1, T)


def _pool(h: Tensor, mask: Tensor | None) -> Tensor:
    """Global average pool over time of (B, C, 1, T) → (B, C), over each series' real steps."""
    if mask is None:
        return h.mean((2, 3))
    return (h * mask).sum((2, 3)) / mask.sum((2, 3)).clamp_min(1.0)
