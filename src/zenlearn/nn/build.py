"""Models by name (`MODELS`): each builder sizes a model class for a dataset from keyword options.

A builder is `build(spec, **options)`: `spec` is the dataset's `DataSpec`, and its keyword-only
parameters are the options it takes (`hidden`, `activation`, …). `ModelInfo.options` lists them, read
from the signature, so whoever holds a config passes exactly those (`zenlearn.training.build.build_model`).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from zenlearn.data.arrays import DataSpec
from zenlearn.errors import UsageError
from zenlearn.nn.fastcnn import FastCNN
from zenlearn.nn.inits import initialize
from zenlearn.nn.models import CNN, MLP, RNN, SeedCNN
from zenlearn.nn.tabular import TableModel
from zenlearn.nn.tasks import get_task
from zenlearn.nn.tsc import FCN, ResNet
from zenlearn.registry import Registry

Builder = Callable[..., nn.Module]
MODELS: Registry[Builder] = Registry("model")


KINDS = ("image", "sequence", "vector")
"""The data shapes (`DataSpec.kind`): images (C, H, W), sequences (T, F), vectors (D,)."""


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model takes: the keyword options of its builder (config field names) and the data
    shapes (`DataSpec.kind`) it can be built for."""

    options: tuple[str, ...] = ()
    takes: tuple[str, ...] = KINDS

    def listing(self) -> dict[str, Any]:
        return {"takes": ", ".join(self.takes)}


def _model(name: str, description: str, aliases: tuple[str, ...] = (),
           takes: tuple[str, ...] = KINDS) -> Callable[[Builder], Builder]:
    """Register a builder; its keyword-only parameters become `ModelInfo.options`."""

    def deco(fn: Builder) -> Builder:
        params = inspect.signature(fn).parameters.values()
        options = tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)
        MODELS.add(name, fn, description, aliases=aliases, info=ModelInfo(options, takes))
        return fn

    return deco


def check_takes(name: str, spec: DataSpec) -> None:
    """Refuse data whose shape model `name` cannot take (`ModelInfo.takes`), in one line naming models that can.

    Example:
        >>> check_takes("fcn", DataSpec("mnist", "classification", (1, 28, 28), 10))
        Traceback (most recent call last):
        zenlearn.errors.UsageError: model 'fcn' takes sequence data, but dataset 'mnist' gives image samples of shape (1, 28, 28); models for image data: seed-cnn, mlp, logreg, cnn, rnn, lstm, gru, fast-cnn
    """
    entry = MODELS.entry(name)
    if spec.kind not in entry.info.takes:
        fits = [e.name for e in MODELS if spec.kind in e.info.takes]
        raise UsageError(f"model {entry.name!r} takes {' or '.join(entry.info.takes)} data, but dataset "
                         f"{spec.name!r} gives {spec.kind} samples of shape {tuple(spec.input_shape)}; models for "
                         f"{spec.kind} data: {', '.join(fits)}")


def output_shape(spec: DataSpec) -> tuple[int, ...]:
    """What a model must output per sample: (T, num_outputs) for per-step targets, else (num_outputs,)."""
    return (spec.input_shape[0], spec.num_outputs) if spec.per_step else (spec.num_outputs,)


def check_square_image_classifier(name: str, spec: DataSpec, min_side: int) -> tuple[int, ...]:
    """Refuse data that is not square (C, H, W) images of at least `min_side`, or not classification."""
    shape = spec.input_shape
    if spec.kind != "image" or len(shape) != 3 or shape[1] != shape[2] or shape[1] < min_side:
        raise UsageError(f"model {name!r} needs square images (C, H, W) of at least {min_side}x{min_side}, but "
                         f"dataset {spec.name!r} gives samples of shape {shape}; pick an image dataset or --model mlp")
    if not get_task(spec.task).categorical:
        raise UsageError(f"model {name!r} is a classifier; dataset {spec.name!r} is {spec.task}")
    return shape


@_model("seed-cnn", "the survey's CNN: 2 conv(3x3)+maxpool stages (32, 64), dense 64, dense out", ("seed_cnn",),
        takes=("image",))
def _seed_cnn(spec: DataSpec) -> nn.Module:
    shape = check_square_image_classifier("seed-cnn", spec, min_side=10)
    return SeedCNN(shape[0], spec.num_outputs, shape[1])


@_model("mlp", "multi-layer perceptron on flattened inputs (--hidden, --activation, --dropout, --batch-norm)")
def _mlp(spec: DataSpec, *, hidden: tuple[int, ...] = (256, 256), activation: str = "relu", dropout: float = 0.0,
         batch_norm: bool = False, negative_slope: float = 0.01, elu_alpha: float = 1.0) -> nn.Module:
    return MLP(math.prod(spec.input_shape), hidden, output_shape(spec), activation, dropout, batch_norm,
               fill_padding=spec.variable_length, negative_slope=negative_slope, elu_alpha=elu_alpha)


@_model("logreg", "logistic (softmax) regression: one dense layer on flattened inputs", ("logistic", "linear"))
def _logreg(spec: DataSpec) -> nn.Module:
    return MLP(math.prod(spec.input_shape), (), output_shape(spec), fill_padding=spec.variable_length)


@_model("cnn", "conv stages (--channels, --kernel-size, --stride, --pool, --batch-norm) + dense head (--hidden); "
               "1-D for sequences (masked global average pool for variable length), 2-D for images")
def _cnn(spec: DataSpec, *, channels: tuple[int, ...] = (32, 64), kernel_size: int = 3, stride: int = 1,
         pool: str = "max", hidden: tuple[int, ...] = (256, 256), activation: str = "relu", dropout: float = 0.0,
         batch_norm: bool = False, negative_slope: float = 0.01, elu_alpha: float = 1.0) -> nn.Module:
    shape = tuple(spec.input_shape)
    seq = spec.kind == "sequence" and len(shape) == 2
    if len(shape) == 1:
        shape, seq = (shape[0], 1), True  # (L,) vectors: one feature per step
    if len(shape) not in (2, 3):
        raise UsageError(f"model 'cnn' needs (C, H, W) images or (T, F) sequences, but dataset {spec.name!r} "
                         f"gives samples of shape {spec.input_shape}; use --model mlp")
    try:
        model = CNN(shape, channels, output_shape(spec), kernel_size=kernel_size, stride=stride, pool=pool,
                    hidden=hidden, activation=activation, dropout=dropout, batch_norm=batch_norm, channels_last=seq,
                    variable_length=spec.variable_length, negative_slope=negative_slope, elu_alpha=elu_alpha)
    except ValueError as e:
        raise UsageError(f"--channels {','.join(map(str, channels))} --kernel-size {kernel_size} --stride {stride} "
                         f"--pool {pool} do not fit dataset {spec.name!r} (samples {spec.input_shape}): {e}") from None
    if len(spec.input_shape) == 1:
        return nn.Sequential(nn.Unflatten(1, shape), model)
    return model


def _recurrent(cell: str) -> Builder:
    def build(spec: DataSpec, *, hidden_size: int = 64, num_layers: int = 1, bidirectional: bool = False,
              dropout: float = 0.0, head: str = "auto") -> nn.Module:
        shape = tuple(spec.input_shape)
        if len(shape) == 1:
            features, steps = 1, shape[0]
        elif len(shape) == 2:
            steps, features = shape
        elif len(shape) == 3:
            steps, features = shape[1], shape[0] * shape[2]  # images: one row per step
        else:
            raise UsageError(f"model {cell!r} needs (T, F) sequences or images, but dataset {spec.name!r} gives "
                             f"samples of shape {spec.input_shape}")
        head = head if head != "auto" else ("step" if spec.per_step else "last")
        if head == "flatten" and spec.variable_length:
            raise UsageError(f"--head flatten needs sequences of one length; dataset {spec.name!r} has variable-length "
                             f"series; use --head last, mean or max")
        if spec.per_step != (head == "step"):
            need = "step" if spec.per_step else "one of last, mean, max, flatten"
            raise UsageError(f"--head {head}: dataset {spec.name!r} has "
                             f"{'one target per time step' if spec.per_step else 'one target per sequence'}; "
                             f"use --head {need} (or auto)")
        return RNN(features, hidden_size, spec.num_outputs, cell=cell, num_layers=num_layers,
                   bidirectional=bidirectional, dropout=dropout, head=head, seq_len=steps,
                   variable_length=spec.variable_length)

    return build


_RNN = ("image", "sequence")
_model("rnn", "Elman RNN (tanh) (--hidden-size, --num-layers, --bidirectional, --head); packed sequences for "
              "variable length", takes=_RNN)(_recurrent("rnn"))
_model("lstm", "LSTM (--hidden-size, --num-layers, --bidirectional, --head); packed sequences for variable length",
       takes=_RNN)(_recurrent("lstm"))
_model("gru", "GRU (--hidden-size, --num-layers, --bidirectional, --head); packed sequences for variable length",
       takes=_RNN)(_recurrent("gru"))


def _time_series_classifier(name: str, spec: DataSpec) -> int:
    """Features per step of a one-target-per-sequence dataset (fcn, resnet)."""
    if spec.per_step or len(spec.input_shape) != 2:
        raise UsageError(f"model {name!r} gives one output per sequence of (T, F) steps; dataset {spec.name!r} "
                         f"{'has a target per time step' if spec.per_step else f'gives {spec.input_shape}'}; "
                         f"use --model lstm or gru")
    return spec.input_shape[1]


@_model("fcn", "Wang et al. 2017's fully convolutional network for time series: conv 128x8, 256x5, 128x3 (batch "
               "norm, ReLU), global average pool, dense; masked for variable length", takes=("sequence",))
def _fcn(spec: DataSpec) -> nn.Module:
    features = _time_series_classifier("fcn", spec)
    return FCN(features, spec.num_outputs, variable_length=spec.variable_length)


@_model("resnet", "Wang et al. 2017's residual network for time series: 3 residual blocks (64, 128, 128 filters; "
                  "conv 8, 5, 3), global average pool, dense; masked for variable length", takes=("sequence",))
def _resnet(spec: DataSpec) -> nn.Module:
    features = _time_series_classifier("resnet", spec)
    return ResNet(features, spec.num_outputs, variable_length=spec.variable_length)


@_model("fast-cnn", "small batch-norm CNN: 2-pixel border crop, 3 x (conv 3x3 -> maxpool -> BN -> relu) at "
                    "16/48/64 channels, dense out; 99 % on MNIST in one epoch (examples/mnist-fast.yaml)", ("fast_cnn",),
        takes=("image",))
def _fast_cnn(spec: DataSpec) -> nn.Module:
    shape = check_square_image_classifier("fast-cnn", spec, min_side=8)
    return FastCNN(shape[0], spec.num_outputs, shape[1], crop=2 if shape[1] >= 12 else 0)


def create_model(name: str, spec: DataSpec, *, init: str = "default", **options: Any) -> nn.Module:
    """Model `name` sized for dataset `spec`, initialised as `init`, checked with one dummy forward pass.

    Args:
        name: Registered model name (see `zenlearn list models`).
        spec: The dataset's `DataSpec` (input shape, outputs, task).
        init: Weight initialisation (see `zenlearn list inits`). Defaults to "default" (PyTorch's).
        **options: The model's options (`ModelInfo.options`, e.g. `hidden` for mlp); an option the model does
            not take is a `UsageError`. Defaults to the builder's defaults.

    Example:
        >>> from zenlearn.data import DataSpec
        >>> create_model("gru", DataSpec("s", "classification", (40, 1), 10, kind="sequence"), hidden_size=8).rnn
        GRU(1, 8, batch_first=True)
    """
    entry = MODELS.entry(name)
    unknown = sorted(set(options) - set(entry.info.options))
    if unknown:
        raise UsageError(f"model {entry.name!r} does not take {', '.join(unknown)}; it takes: "
                         f"{', '.join(entry.info.options) or 'no options'}")
    check_takes(entry.name, spec)
    if spec.embedded or spec.target_mean != 0.0 or spec.target_std != 1.0:  # a table: embeddings, target scale
        body_spec = dataclasses.replace(spec, input_shape=(TableModel.width(spec.input_shape[0], spec.embedded),))
        model: nn.Module = TableModel(initialize(entry.obj(body_spec, **options), init), spec.embedded,
                                      spec.target_mean, spec.target_std)
    else:
        model = initialize(entry.obj(spec, **options), init)
    want = output_shape(spec)
    with torch.no_grad():
        was = model.training
        model.eval()
        try:
            out = model(torch.zeros(2, *spec.input_shape))
        except RuntimeError as e:
            raise UsageError(f"model {name!r} does not fit dataset {spec.name!r} (samples of shape "
                             f"{spec.input_shape}): {str(e).splitlines()[0]}; pick another --model") from None
        model.train(was)
    if tuple(out.shape[1:]) != want:
        raise UsageError(f"model {name!r} gives outputs of shape {tuple(out.shape[1:])}, dataset "
                         f"{spec.name!r} needs {want}")
    return model


def param_table(model: nn.Module) -> list[tuple[str, str, int]]:
    """(module name, type, parameters) for every leaf module with parameters, in order.

    Example:
        >>> param_table(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
        [('0', 'Linear', 9)]
    """
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

