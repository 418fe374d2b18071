"""Variable-length sequence batches: lengths read from NaN padding, masks, and masked layers.

The data layer pads a short series with NaN steps (every feature NaN, `DataSpec.variable_length`). A model
built for such data calls `unpad` first: it gets the zero-filled batch and each series' length, and keeps
every padded step out of its result (packed sequences in RNNs; re-zeroed steps, batch-norm statistics over
real steps only and a masked global average pool in CNNs). So a series gives the same output alone and in
a batch padded to any length.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def unpad(x: Tensor) -> tuple[Tensor, Tensor]:
    """(B, T, F) with trailing NaN steps → (the batch with NaN set to 0, lengths (B,) on x's device).

    A series' length is its last step holding any number, plus one (at least 1).

    Example:
        >>> x = torch.tensor([[[1.0], [2.0], [float("nan")]], [[1.0], [2.0], [3.0]]])
        >>> filled, lengths = unpad(x)
        >>> lengths.tolist(), filled[0, 2, 0].item()
        ([2, 3], 0.0)
    """
    missing = x.isnan()  # (B, T, F)
    steps = torch.arange(1, x.shape[1] + 1, device=x.device)  # (T,)
    lengths = ((~missing.all(-1)) * steps).amax(1).clamp_min(1)  # (B,)
    return x.masked_fill(missing, 0.0), lengths


def takes_any_length(model: nn.Module) -> bool:
    """Whether `model` reads each series' length from its NaN padding (built for variable-length data), so a
    batch cut to its longest series gives every series the same output; the MLP, which sees the padding as
    zeros at fixed positions, does not.

    Example:
        >>> from zenlearn.nn.tsc import FCN
        >>> takes_any_length(FCN(1, 2, variable_length=True)), takes_any_length(nn.Linear(2, 2))
        (True, False)
    """
    return bool(getattr(model, "variable_length", False))


def step_mask(lengths: Tensor, steps: int) -> Tensor:
    """(B, 1, steps) float mask: 1 at the real steps of each series, 0 at its padding.

    Example:
        >>> step_mask(torch.tensor([1, 3]), 3).squeeze(1).tolist()
        [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    """
    return (torch.arange(steps, device=lengths.device) < lengths[:, None]).unsqueeze(1).float()


def masked_mean(h: Tensor, mask: Tensor) -> Tensor:
    """Global average pool of (B, C, T) over the real steps of each series → (B, C).

    Example:
        >>> masked_mean(torch.tensor([[[2.0, 4.0, 100.0]]]), step_mask(torch.tensor([2]), 3)).tolist()
        [[3.0]]
    """
    return (h * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)


class _MaskedNorm:
    """Batch norm whose training statistics count only the real steps (`mask` 1); without a mask, or in eval
    mode (a per-channel affine map), it is the plain batch norm it is mixed into."""

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is None or not self.training:
            return super().forward(x)  # type: ignore[misc]
        dims, shape = [0, *range(2, x.ndim)], (1, -1) + (1,) * (x.ndim - 2)
        n = mask.expand(x.shape[0], 1, *x.shape[2:]).sum() * 1.0
        mean = (x * mask).sum(dims) / n  # (C,)
        var = (((x - mean.view(shape)) ** 2) * mask).sum(dims) / n  # biased, as batch norm normalises
        if self.track_running_stats and self.running_mean is not None:  # type: ignore[attr-defined]
            with torch.no_grad():
                m = self.momentum if self.momentum is not None else 0.1  # type: ignore[attr-defined]
                self.running_mean.lerp_(mean.detach(), m)  # type: ignore[attr-defined]
                self.running_var.lerp_(var.detach() * n / (n - 1).clamp_min(1.0), m)  # type: ignore[attr-defined]
                self.num_batches_tracked += 1  # type: ignore[attr-defined]
        out = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)  # type: ignore[attr-defined]
        if self.affine:  # type: ignore[attr-defined]
            out = out * self.weight.view(shape) + self.bias.view(shape)  # type: ignore[attr-defined]
        return out


class MaskedBatchNorm1d(_MaskedNorm, nn.BatchNorm1d):
    """`nn.BatchNorm1d` over (B, C, T) whose training statistics count only the real steps (`mask` (B, 1, T)).

    Example:
        >>> bn = MaskedBatchNorm1d(1)
        >>> out = bn(torch.tensor([[[1.0, 3.0, 0.0]]]), step_mask(torch.tensor([2]), 3))
        >>> [round(v, 3) for v in out[0, 0, :2].tolist()]
        [-1.0, 1.0]
    """


class MaskedBatchNorm2d(_MaskedNorm, nn.BatchNorm2d):
    """`nn.BatchNorm2d` over (B, C, 1, T) sequences whose training statistics count only the real steps
    (`mask` (B, 1, 1, T)); the time-series FCN and ResNet run as 2-D convolutions with a height of 1."""


def run_masked(layers: nn.Sequential, h: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Run 1-D conv stages (conv, batch norm, activation, pool, dropout) on (B, C, T), keeping padded steps
    at zero before every convolution and out of batch-norm statistics; returns the output and its mask.

    Example:
        >>> stages = nn.Sequential(nn.Conv1d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2))
        >>> out, mask = run_masked(stages, torch.ones(1, 1, 8), torch.tensor([5]))
        >>> tuple(out.shape), mask.sum().item()
        ((1, 2, 4), 2.0)
    """
    mask = step_mask(lengths, h.shape[-1])
    for layer in layers:
        if isinstance(layer, nn.Conv1d):
            h = layer(h * mask)
            k, s, p = layer.kernel_size[0], layer.stride[0], layer.padding
            if isinstance(p, tuple):  # (a "same" padding string keeps the length)
                lengths = torch.div(lengths + 2 * p[0] - k, s, rounding_mode="floor") + 1
        elif isinstance(layer, (nn.MaxPool1d, nn.AvgPool1d)):
            h = layer(h)  # window 2: an output within the new length reads real steps only
            lengths = torch.div(lengths, 2, rounding_mode="floor")
        elif isinstance(layer, MaskedBatchNorm1d):
            h = layer(h, mask)
        else:
            h = layer(h)
        lengths = lengths.clamp(1, h.shape[-1])
        mask = step_mask(lengths, h.shape[-1])
    return h * mask, mask


def masked_max(h: Tensor, mask: Tensor) -> Tensor:
    """Max over the real steps of (B, C, T) → (B, C).

    Example:
        >>> masked_max(torch.tensor([[[2.0, 4.0, 100.0]]]), step_mask(torch.tensor([2]), 3)).tolist()
        [[4.0]]
    """
    return h.masked_fill(mask == 0, -torch.inf).amax(-1)


class SameConvRow(nn.Conv2d):
    """Keras's padding="same" 1-D convolution of (B, C, 1, T) sequences as a (1, k) 2-D convolution: on CPU,
    oneDNN runs it channels-last (the Trainer's layout for Conv2d models), about 1.6x faster than Conv1d's
    NCW. An even kernel gets one more zero on the right, as in Keras.

    Example:
        >>> SameConvRow(1, 2, 8)(torch.zeros(1, 1, 1, 10)).shape
        torch.Size([1, 2, 1, 10])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(in_channels, out_channels, (1, kernel_size), padding=(0, kernel_size // 2))
        self.drop_first = kernel_size % 2 == 0  # padded k//2 on both sides: one output too many, on the left

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        out = super().forward(x)  # (B, out, 1, T + drop_first)
        return out[..., 1:] if self.drop_first else out
