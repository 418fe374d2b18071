"""The one adapter from a `TrainConfig` to the components of a run: every builder below this layer takes
keyword arguments, and only this module reads the whole config to call them.

It also checks a config's names against the registries (`check_config`), opens a run's data splits and
loaders, and reloads a finished run folder (`load_run`).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zenlearn.augment.pipeline import Augment, spec_problems
from zenlearn.config import TrainConfig, load_yaml
from zenlearn.config.fields import type_problems
from zenlearn.config.train import parse_class_weight
from zenlearn.data import (
    DATA_OPTIONS,
    DATASETS,
    DataSpec,
    DataSplits,
    data_folder,
    data_present,
    dataset_options,
    load_splits,
    resolve_data,
)
from zenlearn.data.cache import CACHE_MODES
from zenlearn.errors import UsageError
from zenlearn.io.checkpoint import load_weights
from zenlearn.io.rundir import RunDir
from zenlearn.nn.activations import ACTIVATIONS
from zenlearn.nn.build import MODELS, create_model
from zenlearn.nn.inits import INITS
from zenlearn.nn.masking import takes_any_length
from zenlearn.nn.tasks import get_task, metric_direction, monitor_columns
from zenlearn.optim.optimizers import OPTIMIZERS, OPTION_FIELDS, create_optimizer, default_lr, option_problems
from zenlearn.optim.schedules import SCHEDULE_FIELDS, SCHEDULES, LRSchedule, create_schedule, schedule_problems
from zenlearn.training.trainer import Trainer

# ---------------------------------------------------------------- checking a config


def config_problems(cfg: TrainConfig) -> list[str]:
    """Every problem with `cfg`: types, else ranges, the `--augment` spec, registry names and the
    optimizer's and schedule's options (one message each)."""
    problems = type_problems(cfg)
    if problems:
        return problems  # wrong types: the checks below would trip over them
    problems = cfg.range_problems() + spec_problems(cfg.augment)
    activations = [(ACTIVATIONS, a.strip()) for a in cfg.activation.split(",")]
    for reg, value in ((DATASETS, cfg.data.split(":", 1)[0]), (MODELS, cfg.model), *activations,
                       (OPTIMIZERS, cfg.optimizer), (INITS, cfg.init)):
        if value not in reg:
            problems.append(reg.miss(value))
    if len(activations) > 1 and cfg.model != "mlp":  # the other models' activations are not per hidden layer
        problems.append(f"activation: one per hidden layer ({cfg.activation!r}) is for the mlp; give {cfg.model} one")
    elif len(activations) > 1 and len(activations) != len(cfg.hidden):
        problems.append(f"activation lists {len(activations)} activations for {len(cfg.hidden)} hidden layers "
                        f"({cfg.activation!r}); give one activation, or one per --hidden size")
    if cfg.cache not in CACHE_MODES:
        problems.append(f"cache must be one of {', '.join(CACHE_MODES)}, got {cfg.cache!r}")
    problems += option_problems(cfg.optimizer, optimizer_options(cfg))
    problems += [f"{o} must be a metrics.csv column: {', '.join(monitor_columns())}; got {getattr(cfg, o)!r}"
                 for o in MONITORS if getattr(cfg, o) is not None and getattr(cfg, o) not in monitor_columns()]
    return problems + schedule_problems(cfg.schedule, epochs=cfg.epochs, warmup_epochs=cfg.warmup_epochs,
                                        **{o: getattr(cfg, o) for o in SCHEDULE_FIELDS})


MONITORS = ("keep_best", "lr_monitor")
"""The config fields that name an epoch-log column to watch."""


def monitor_problems(cfg: TrainConfig, task: str, validation: bool) -> list[str]:
    """`--keep-best` / `--lr-monitor` columns that this run will not log: a `val_` column without a validation
    split, another task's metric.

    Example:
        >>> print(*monitor_problems(TrainConfig(keep_best="val_loss", val_split=0.0), "classification", False))
        --keep-best val_loss: this run logs no such column (it logs loss, accuracy; val_ columns need a validation split, --val-split > 0)
    """
    logged = monitor_columns(task, validation)
    return [f"--{o.replace('_', '-')} {getattr(cfg, o)}: this run logs no such column (it logs {', '.join(logged)}"
            + ("" if validation else "; val_ columns need a validation split, --val-split > 0") + ")"
            for o in MONITORS if getattr(cfg, o) is not None and getattr(cfg, o) not in logged]


def check_config(cfg: TrainConfig) -> TrainConfig:
    """Raise one `UsageError` listing every problem of `cfg` (see `config_problems`); return `cfg`.

    Example:
        >>> check_config(TrainConfig(model="transformer")).model
        Traceback (most recent call last):
        zenlearn.errors.UsageError: invalid config: unknown model 'transformer'; choose one of: seed-cnn, mlp, logreg, cnn, rnn, lstm, gru, fcn, resnet, fast-cnn
    """
    problems = config_problems(cfg)
    if problems:
        raise UsageError("invalid config: " + "; ".join(problems))
    return cfg


"""The config fields an image folder's loader takes (`open_splits`); they do nothing for other data."""
ACTIVATION_OPTIONS = {"negative_slope": "leaky_relu", "elu_alpha": "elu"}
"""Activation parameters and the activation each belongs to."""


def inapplicable_fields(cfg: TrainConfig) -> list[str]:
    """The options that do nothing for `cfg`'s model, data, activation, optimizer and schedule: another
    model's options (`hidden` for seed-cnn), folder options for in-memory data, table options for other data,
    `elu_alpha` without elu, optimizer and schedule options they do not take. config.yaml leaves them out.

    Example:
        >>> inapplicable_fields(TrainConfig(model="seed-cnn", data="mnist"))[:4]
        ['hidden', 'activation', 'dropout', 'batch_norm']
    """
    takes = set(MODELS.entry(cfg.model).info.options) if cfg.model in MODELS else None
    out: list[str] = []
    if takes is not None:
        model_options = dict.fromkeys(o for e in MODELS for o in e.info.options)
        out += [o for o in model_options if o not in takes]
    out += [o for o, act in ACTIVATION_OPTIONS.items()
            if o not in out and act not in [a.strip() for a in cfg.activation.split(",")]]
    takes_data = dataset_options(cfg.data)
    out += [o for o in DATA_OPTIONS if o not in takes_data]
    if "normalize" not in takes_data:  # bucketing is for series (ucr:, series:), the datasets that normalise
        out.append("bucket")
    if cfg.optimizer in OPTIMIZERS:
        out += [o for o in OPTION_FIELDS if o not in OPTIMIZERS.entry(cfg.optimizer).info.takes]
    if cfg.schedule in SCHEDULES:
        out += [o for o in SCHEDULE_FIELDS if o not in SCHEDULES.entry(cfg.schedule).info.takes]
    return out


def applicable_config(cfg: TrainConfig) -> TrainConfig:
    """`cfg` with its inapplicable options (`inapplicable_fields`) at their defaults: the same run, and a
    config.yaml without them loads back into this very config."""
    default = TrainConfig()
    return cfg.replace(**{k: getattr(default, k) for k in inapplicable_fields(cfg)})


# ---------------------------------------------------------------- components


def build_model(cfg: TrainConfig, spec: DataSpec) -> nn.Module:
    """The model `cfg.model`, sized for dataset `spec`, with the options that model takes from `cfg`.

    Example:
        >>> build_model(TrainConfig(model="mlp", hidden=(8,)), DataSpec("d", "classification", (4,), 3)).net[1]
        Linear(in_features=4, out_features=8, bias=True)
    """
    info = MODELS.entry(cfg.model).info
    model = create_model(cfg.model, spec, init=cfg.init, **{k: getattr(cfg, k) for k in info.options})
    if cfg.bucket and spec.variable_length and not takes_any_length(model):
        raise UsageError(f"--bucket: model {cfg.model!r} sees every series at its full padded length (the padding "
                         f"as zeros), so its batches cannot be cut; use a model that masks the padding (fcn, resnet, "
                         f"cnn, rnn, lstm, gru) or drop --bucket")
    return model


def resolve_lr(cfg: TrainConfig) -> float:
    """`cfg.lr`, or the optimizer's default learning rate when it is unset."""
    return float(cfg.lr) if cfg.lr is not None else default_lr(cfg.optimizer)


def optimizer_options(cfg: TrainConfig) -> dict[str, Any]:
    """The optimizer options set in `cfg` (fields of `OPTION_FIELDS` that are not None)."""
    return {o: getattr(cfg, o) for o in OPTION_FIELDS if getattr(cfg, o, None) is not None}


def build_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer `cfg.optimizer` over `model`'s parameters with `cfg`'s learning rate and options.

    Example:
        >>> build_optimizer(TrainConfig(optimizer="adamw", weight_decay=0.05), nn.Linear(2, 1)).defaults["lr"]
        0.001
    """
    return create_optimizer(cfg.optimizer, model, lr=resolve_lr(cfg), **optimizer_options(cfg))


def build_schedule(cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> LRSchedule | None:
    """The `LRSchedule` `cfg` asks for over `optimizer`, or None for a constant LR without warmup."""
    mode = "max" if cfg.lr_monitor and metric_direction(cfg.lr_monitor) else "min"
    return create_schedule(cfg.schedule, optimizer, steps_per_epoch=steps_per_epoch, epochs=cfg.epochs,
                           warmup_epochs=cfg.warmup_epochs, lr_mode=mode,
                           **{o: getattr(cfg, o) for o in SCHEDULE_FIELDS})


def training_augment(cfg: TrainConfig, spec: DataSpec) -> Augment | None:
    """The `--augment` pipeline (seeded from the run seed), or None; only image data can be augmented."""
    if not cfg.augment or cfg.augment.strip().lower() in ("none", "off"):
        return None
    if spec.kind != "image" or len(spec.input_shape) != 3:
        raise UsageError(f"--augment works on images (C, H, W); dataset {spec.name!r} gives {spec.kind} samples "
                         f"of shape {spec.input_shape}; drop --augment")
    return Augment.from_spec(cfg.augment, seed=cfg.seed)


def class_weights(text: str, spec: DataSpec, labels: Any) -> torch.Tensor | None:
    """`--class-weight` as a (K,) float tensor for the training loss; None for "none".

    Args:
        text: "none", "balanced" (n_samples / (n_classes · n_in_class), scikit-learn's rule) or CLASS=WEIGHT
            pairs (class names or indices; the classes not named weigh 1).
        spec: The dataset's spec (classes).
        labels: The training split's labels, for "balanced".

    Example:
        >>> spec = DataSpec("d", "classification", (2,), 3, ["a", "b", "c"])
        >>> class_weights("balanced", spec, torch.tensor([0, 0, 0, 1, 2, 2])).tolist()
        [0.6666666865348816, 2.0, 1.0]
        >>> class_weights("b=3,2=0.5", spec, None).tolist()
        [1.0, 3.0, 0.5]
    """
    parsed = parse_class_weight(text)
    if parsed == "none":
        return None
    if parsed is None:
        raise UsageError(f"--class-weight must be none, balanced or CLASS=WEIGHT pairs (e.g. 0=1,7=3), got {text!r}")
    if not get_task(spec.task).categorical:
        raise UsageError(f"--class-weight {text}: dataset {spec.name!r} is a {spec.task} task, it has no classes; "
                         f"drop --class-weight")
    k = spec.num_outputs
    if parsed == "balanced":
        counts = torch.bincount(torch.as_tensor(labels).long().flatten().cpu(), minlength=k).double()  # (K,)
        return (counts.sum() / (k * counts.clamp_min(1))).float()
    classes = list(spec.classes) or [str(i) for i in range(k)]
    weights = torch.ones(k)
    for name, weight in parsed.items():
        i = classes.index(name) if name in classes else int(name) if name.isdigit() and int(name) < k else None
        if i is None:
            raise UsageError(f"--class-weight {name}={weight:g}: no class {name!r}; the classes are "
                             f"{', '.join(classes[:20])}{', …' if len(classes) > 20 else ''}")
        weights[i] = weight
    return weights


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's `random`."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


# ---------------------------------------------------------------- data


def open_splits(cfg: TrainConfig, device: torch.device | str = "cpu",
                preprocess: dict[str, Any] | None = None) -> DataSplits:
    """The run's dataset split into train / val / test (image folders: file lists that stream); a table is
    transformed by `preprocess` (a finished run's saved `TablePreprocess`) instead of fitting one."""
    options = {k: getattr(cfg, k) for k in dataset_options(cfg.data)}
    if preprocess is not None:
        options["preprocess"] = preprocess
    return load_splits(cfg.data, root=cfg.data_dir, val_split=cfg.val_split, seed=cfg.seed,
                       train_subset=cfg.train_subset, device=device, **options)


def reopen_splits(cfg: TrainConfig, spec: DataSpec, data_dir: str | None = None, *, data: str | None = None,
                  run_dir: str | Path | None = None) -> DataSplits:
    """A finished run's splits again, prepared as in training (image folders at the trained size and colour).

    Args:
        cfg: The run's config.
        spec: The run's dataset spec (data.json).
        data_dir: Data folder, if not the run's. Defaults to the run's.
        data: Another dataset (`--data SPEC`) to open instead of the run's; its inputs and classes must be the
            run's. Defaults to the run's dataset.
        run_dir: The run folder, where a run's relative dataset path is also looked for, and a table run's
            saved preprocessing (its test rows are transformed by it, not by a refit). Defaults to none.
    """
    if data_dir:
        cfg = cfg.replace(data_dir=data_dir)
    cfg = cfg.replace(data=resolve_data(data) if data else locate_data(cfg.data, run_dir))
    if "image_size" in dataset_options(cfg.data):  # decoded at the trained size and colour
        color = "grayscale" if spec.input_shape[0] == 1 else "rgb"
        cfg = cfg.replace(image_size=list(spec.input_shape[1:]), color=color)
    splits = open_splits(cfg, preprocess=RunDir(run_dir).read_preprocess() if run_dir is not None else None)
    if data:
        check_same_inputs(spec, splits.spec, data)
    return splits


def locate_data(name: str, run_dir: str | Path | None = None) -> str:
    """The run's `--data` with its folder (or table file) found: as stored, else (an older run's relative path)
    beside the run folder or one of its parents; one found nowhere is one `UsageError` that says how to point at it."""
    folder = data_folder(name)
    if folder is None or data_present(folder):
        return name
    kind = name.partition(":")[0]
    if not folder.is_absolute() and run_dir is not None:
        run = Path(run_dir).resolve()
        for base in (run, *run.parents):
            if data_present(base / folder):
                return f"{kind}:{base / folder}"
    raise UsageError(f"the run's dataset folder {folder.absolute()} (config.yaml data: {name}) is not there; "
                     f"if it moved, point at it with --data {kind}:NEW_PATH")


def check_same_inputs(spec: DataSpec, other: DataSpec, data: str) -> None:
    """`--data` for a trained model: the same task, input shape and classes as the run's, else one `UsageError`."""
    problems = [f"{what}: run {a}, {data} {b}" for what, a, b in (
        ("task", spec.task, other.task), ("input shape", tuple(spec.input_shape), tuple(other.input_shape)),
        ("outputs", spec.num_outputs, other.num_outputs)) if a != b]
    if not problems and spec.classes and other.classes and list(spec.classes) != list(other.classes):
        problems.append(f"classes: run {', '.join(spec.classes[:10])}; {data} {', '.join(other.classes[:10])}")
    if problems:
        raise UsageError(f"--data {data} does not fit the trained model ({'; '.join(problems)}); pass data with the "
                         f"run's inputs and classes")


def eval_loader(splits: DataSplits, data: Any, batch_size: int) -> Any:
    """An unshuffled loader over `data` (one split of `splits`)."""
    return splits.loader(data, batch_size)


def make_loaders(cfg: TrainConfig, splits: DataSplits, rank: int = 0,
                 world_size: int = 1, *, augmented: bool = False) -> tuple[Any, Any, Any]:
    """Loaders of a run; with data parallelism each rank gets its shard and batch_size / world_size.

    `augmented`: the trainer augments every training batch first, so an image folder's training loader
    hands it the uint8 pixels (`Augment` warps them in 8 bits and returns floats in [0, 1])."""
    train = splits.loader(splits.train, cfg.batch_size // world_size, shuffle=True, seed=cfg.seed, rank=rank,
                          world_size=world_size, uint8=augmented, bucket=cfg.bucket)
    val = splits.loader(splits.val, cfg.eval_batch_size, bucket=cfg.bucket) if splits.val is not None else None
    return train, val, splits.loader(splits.test, cfg.eval_batch_size, bucket=cfg.bucket)


# ---------------------------------------------------------------- reloading a run folder


def load_run(run_dir: str | Path, device: str = "cpu") -> tuple[TrainConfig, DataSpec, Trainer]:
    """Rebuild a finished run's config, dataset spec and a `Trainer` holding its trained model."""
    rd = RunDir(run_dir).check_finished()
    cfg = TrainConfig.from_dict(load_yaml(rd.config), source=str(rd.config))
    try:
        spec = DataSpec.from_dict(rd.read_data_spec())
    except TypeError as e:
        raise UsageError(f"{rd.data} is corrupt ({e}); retrain the run") from None
    model = build_model(cfg, spec)
    load_weights(model, rd.weights)
    return cfg, spec, Trainer(model, task=get_task(spec.task), device=device)
