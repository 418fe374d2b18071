"""The model classes: plain `nn.Module`s, usable without the rest of zenlearn (`nn.build` sizes them by name).

Family: `mlp` / `logreg` (any input, flattened), `cnn` (1-D for sequences, 2-D for images), `rnn` /
`lstm` / `gru` (sequence classification from the last state or pooled outputs, or a per-time-step
output) and `seed-cnn` (the survey's exact CNN). Each class is usable without zenlearn.
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from zenlearn.nn.activations import get_activation, layer_activations
from zenlearn.nn.masking import MaskedBatchNorm1d, masked_max, masked_mean, run_masked, step_mask, unpad

Shape = int | tuple[int, ...]


def _out_layer(width: int, out: Shape) -> list[nn.Module]:
    """A dense layer to `prod(out)` units, reshaped to `out` when it has several dimensions."""
    out = (out,) if isinstance(out, int) else tuple(out)
    layers: list[nn.Module] = [nn.Linear(width, math.prod(out))]
    if len(out) > 1:
        layers.append(nn.Unflatten(1, out))  # (B, prod(out)) -> (B, *out)
    return layers


def _dense_stack(width: int, hidden: tuple[int, ...], activation: Any, dropout: float, batch_norm: bool,
                 act_params: dict[str, Any]) -> tuple[list[nn.Module], int]:
    """Linear → [BatchNorm] → activation → [Dropout] per hidden size (an activation each, or one for all: see
    `layer_activations`); returns the layers and final width."""
    layers: list[nn.Module] = []
    for h, act in zip(hidden, layer_activations(activation, len(hidden))):
        layers.append(nn.Linear(width, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(get_activation(act, **act_params))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    return layers, width


class SeedCNN(nn.Module):
    """The survey's CNN: Conv(32,3x3,relu) → MaxPool(2) → Conv(64,3x3,relu) → MaxPool(2) → Dense(64) → Dense(10).

    Outputs logits; the softmax is folded into the cross-entropy loss (and applied by `predict`).

    Args:
        in_channels: Input channels. Defaults to 1.
        num_classes: Output classes. Defaults to 10.
        image_size: Input height/width (square). Defaults to 28.

    Example:
        >>> import torch
        >>> SeedCNN()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> None:
        super().__init__()
        side = ((image_size - 2) // 2 - 2) // 2
        # Pooling before the ReLU computes exactly relu-then-pool (max commutes with a monotonic
        # function, and so do their gradients) on a 4x smaller tensor: ~1.5x faster training on CPU.
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(32, 64, 3), nn.MaxPool2d(2), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * side * side, 64), nn.ReLU(), nn.Linear(64, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (B, C, H, W) -> (B, num_classes)


class MLP(nn.Module):
    """Multi-layer perceptron on flattened inputs; no hidden layers gives logistic regression.

    Args:
        in_features: Flattened input size.
        hidden: Hidden layer sizes. Defaults to (256, 256).
        num_outputs: Output units, or an output shape such as (T, F) for per-step targets. Defaults to 10.
        activation: Activation name or module factory, or comma-separated names, one per hidden layer. Defaults
            to "relu".
        dropout: Dropout after each hidden activation. Defaults to 0.
        batch_norm: Batch norm before each hidden activation. Defaults to False.
        fill_padding: Set NaN padding steps of variable-length sequences to 0 first. Defaults to False.
        **act_params: Activation options (`negative_slope`, `elu_alpha`). Defaults to none.

    Example:
        >>> import torch
        >>> MLP(784, (256, 256), 10, dropout=0.2)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...] = (256, 256), num_outputs: Shape = 10,
                 activation: Any = "relu", dropout: float = 0.0, batch_norm: bool = False, fill_padding: bool = False,
                 **act_params: Any) -> None:
        super().__init__()
        layers, width = _dense_stack(in_features, tuple(hidden), activation, dropout, batch_norm, act_params)
        self.net = nn.Sequential(nn.Flatten(), *layers, *_out_layer(width, num_outputs))
        self.fill_padding = fill_padding

    def forward(self, x: Tensor) -> Tensor:
        if self.fill_padding:
            x = x.nan_to_num(0.0)  # zero padding after a short series (the MLP sees every step)
        return self.net(x)  # (B, *input_shape) -> (B, *num_outputs)


class CNN(nn.Module):
    """Convolutional network: one conv → [BatchNorm] → activation → [pool] → [dropout] stage per channel count,
    then a dense head. 1-D convolutions for (C, L) inputs, 2-D for (C, H, W).

    Args:
        input_shape: One sample's shape, channels first: (C, L) or (C, H, W); with `channels_last`,
            sequences are given as (T, F) and transposed.
        channels: Output channels of each stage. Defaults to (32, 64).
        num_outputs: Output units, or an output shape. Defaults to 10.
        kernel_size: Convolution kernel size (padding (k-1)//2). Defaults to 3.
        stride: Convolution stride. Defaults to 1.
        pool: "max", "avg" or "none" after each stage (window 2). Defaults to "max".
        hidden: Dense head hidden sizes. Defaults to ().
        activation: Activation name or factory. Defaults to "relu".
        dropout: Dropout after each stage and hidden dense layer. Defaults to 0.
        batch_norm: Batch norm after each convolution and hidden dense layer. Defaults to False.
        channels_last: Inputs are (B, T, F) sequences (zenlearn's sequence layout). Defaults to False.
        variable_length: (B, T, F) sequences padded with NaN steps: masked stages and a masked global average
            pool over time instead of flattening. Defaults to False.
        **act_params: Activation options (`negative_slope`, `elu_alpha`). Defaults to none.

    Example:
        >>> import torch
        >>> CNN((1, 40), (25, 25), 10, kernel_size=5, stride=2, pool="none")(torch.zeros(2, 1, 40)).shape
        torch.Size([2, 10])
    """

    def __init__(self, input_shape: tuple[int, ...], channels: tuple[int, ...] = (32, 64), num_outputs: Shape = 10,
                 *, kernel_size: int = 3, stride: int = 1, pool: str = "max", hidden: tuple[int, ...] = (),
                 activation: Any = "relu", dropout: float = 0.0, batch_norm: bool = False,
                 channels_last: bool = False, variable_length: bool = False, **act_params: Any) -> None:
        super().__init__()
        shape = (input_shape[1], input_shape[0]) if channels_last and len(input_shape) == 2 else tuple(input_shape)
        if len(shape) not in (2, 3):
            raise ValueError(f"CNN input_shape must be (C, L) or (C, H, W), got {tuple(input_shape)}")
        self.channels_last = channels_last and len(input_shape) == 2
        self.variable_length = variable_length and self.channels_last
        conv, bn, pools = ((nn.Conv1d, MaskedBatchNorm1d, {"max": nn.MaxPool1d, "avg": nn.AvgPool1d}) if len(shape) == 2
                           else (nn.Conv2d, nn.BatchNorm2d, {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}))
        layers: list[nn.Module] = []
        width = shape[0]
        size = list(shape[1:])
        for ch in channels:
            layers.append(conv(width, ch, kernel_size, stride, (kernel_size - 1) // 2))
            size = [(s + 2 * ((kernel_size - 1) // 2) - kernel_size) // stride + 1 for s in size]
            if batch_norm:
                layers.append(bn(ch))
            layers.append(get_activation(activation, **act_params))
            if pool != "none" and min(size) >= 2:
                layers.append(pools[pool](2))
                size = [s // 2 for s in size]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = ch
            if min(size) < 1:
                raise ValueError(f"CNN: input {tuple(input_shape)} shrinks to nothing after {len(layers)} layers; "
                                 f"use fewer channels stages, a smaller stride or pool none")
        self.features = nn.Sequential(*layers)
        flat = width if self.variable_length else width * math.prod(size)
        dense, w = _dense_stack(flat, tuple(hidden), activation, dropout, batch_norm, act_params)
        self.head = nn.Sequential(nn.Flatten(), *dense, *_out_layer(w, num_outputs))

    def forward(self, x: Tensor) -> Tensor:
        if self.variable_length:
            x, lengths = unpad(x)
            h, mask = run_masked(self.features, x.transpose(1, 2), lengths)  # (B, C, T')
            return self.head(masked_mean(h, mask))  # global average pool over each series' real steps
        if self.channels_last:
            x = x.transpose(1, 2)  # (B, T, F) -> (B, F, T)
        return self.head(self.features(x))  # (B, C, *spatial) -> (B, *num_outputs)


class RNN(nn.Module):
    """Recurrent network (`nn.RNN` / `nn.LSTM` / `nn.GRU`) with a sequence or a per-time-step head.

    Inputs are (B, T, F) sequences; (B, T) is read as one feature per step and images (B, C, H, W) as
    H steps of C*W features (row by row).

    Args:
        in_features: Features per time step.
        hidden_size: Hidden state size per direction. Defaults to 64.
        num_outputs: Output units (per step with the "step" head). Defaults to 10.
        cell: "rnn" (tanh Elman cell), "lstm" or "gru". Defaults to "lstm".
        num_layers: Stacked layers. Defaults to 1.
        bidirectional: Also run backwards, concatenating both directions. Defaults to False.
        dropout: Dropout between stacked layers and before the head. Defaults to 0.
        head: "last" (final hidden state of the last layer, both directions), "mean" / "max" (pooled
            outputs over time), "flatten" (dense on all outputs; needs `seq_len`) or "step" (a dense layer
            at every step: output (B, T, num_outputs)). Defaults to "last".
        seq_len: Sequence length, needed by the "flatten" head. Defaults to None.
        variable_length: (B, T, F) sequences padded with NaN steps: packed, so each series ends at its own
            length (not with the "flatten" head). Defaults to False.

    Example:
        >>> import torch
        >>> RNN(2, 100, 1, cell="lstm", head="step")(torch.zeros(4, 5, 2)).shape
        torch.Size([4, 5, 1])
    """

    CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
    HEADS = ("last", "mean", "max", "flatten", "step")

    def __init__(self, in_features: int, hidden_size: int = 64, num_outputs: int = 10, *, cell: str = "lstm",
                 num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.0, head: str = "last",
                 seq_len: int | None = None, variable_length: bool = False) -> None:
        super().__init__()
        if head == "flatten" and variable_length:
            raise ValueError("RNN: the flatten head needs sequences of one length; use the last, mean or max head")
        self.variable_length = variable_length
        if cell not in self.CELLS or head not in self.HEADS:
            raise ValueError(f"RNN: cell must be one of {', '.join(self.CELLS)} and head one of "
                             f"{', '.join(self.HEADS)}; got cell={cell!r}, head={head!r}")
        if head == "flatten" and not seq_len:
            raise ValueError("RNN: the flatten head needs seq_len (the fixed number of time steps)")
        self.head_kind, self.cell = head, cell
        self.rnn = self.CELLS[cell](in_features, hidden_size, num_layers, batch_first=True,
                                    dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional)
        self.dirs = 2 if bidirectional else 1
        width = hidden_size * self.dirs * (seq_len if head == "flatten" else 1)  # type: ignore[operator]
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.out = nn.Linear(width, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            x = x.unsqueeze(-1)  # (B, T) -> (B, T, 1)
        elif x.ndim == 4:
            x = x.permute(0, 2, 1, 3).flatten(2)  # (B, C, H, W) -> (B, H, C*W): one row per step
        mask = None
        if self.variable_length:
            x, lengths = unpad(x)
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            outputs, state = self.rnn(packed)  # the state at each series' own last step
            outputs = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])[0]
            mask = step_mask(lengths, x.shape[1]).transpose(1, 2)  # (B, T, 1)
        else:
            outputs, state = self.rnn(x)  # outputs (B, T, dirs*H)
        if self.head_kind == "step":
            return self.out(self.drop(outputs))  # (B, T, num_outputs)
        if self.head_kind == "last":
            h_n = state[0] if self.cell == "lstm" else state  # (layers*dirs, B, H)
            z = h_n[-self.dirs:].transpose(0, 1).flatten(1)  # (B, dirs*H)
        elif self.head_kind == "mean":
            z = outputs.mean(1) if mask is None else masked_mean(outputs.transpose(1, 2), mask.transpose(1, 2))
        elif self.head_kind == "max":
            z = outputs.amax(1) if mask is None else masked_max(outputs.transpose(1, 2), mask.transpose(1, 2))
        else:
            z = outputs.flatten(1)  # (B, T*dirs*H)
        return self.out(self.drop(z))  # (B, num_outputs)
