"""`TrainConfig`: one typed dataclass whose fields are the CLI flags and the YAML keys of a run.

Each field's docstring (the string literal under it) is its `--help` text, and the `# --- section ---`
comment above a block of fields is their section in `--help` (`config.fields.field_sections`). Defaults live here and
nowhere else. `TrainConfig.validate()` checks types and ranges; the names (model, optimizer, …) are
checked against their registries by `zenlearn.training.build.check_config`, which every entry point calls,
so that this layer imports no registry.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from zenlearn.config.fields import coerce, field_names, field_types, type_problems
from zenlearn.errors import UsageError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("32", "bf16", "16")
POOLS = ("max", "avg", "none")
HEADS = ("auto", "last", "mean", "max", "flatten", "step")
TASKS = ("auto", "classification", "regression")
NORMALIZE = ("series", "global", "none")


ALIASES = {"workers": "decode_workers"}
"""Old option name → its field: accepted in YAML files and run folders written before the rename."""


@dataclass
class TrainConfig:
    """Everything that defines a training run. Example: `TrainConfig(data="mnist", epochs=1)`."""

    # --- data ---
    data: str = "mnist"
    """Dataset name (see `zenlearn list datasets`)."""
    data_dir: str | None = None
    """Folder with the dataset files; default: $ZENLEARN_DATA, else ~/.cache/zenlearn."""
    val_split: float = 0.1
    """Fraction of the training set held out for validation, in [0, 1)."""
    train_subset: int | None = None
    """Train on a seeded random subset of N training samples, drawn after the validation split is held out (the
    validation split stays whole; the run's header says so); default: all."""
    target: str | None = None
    """Tables (table:, npz:, sklearn:): the target column; default: the last column."""
    task: str = "auto"
    """Tables: auto, classification or regression; auto: a string or bool target, or an integer target with at
    most 20 distinct values, is a classification, anything else a regression."""
    test_data: str | None = None
    """Tables: a separate .csv / .tsv / .parquet / .npz file of test rows with the same columns; default: hold out
    --test-split of the rows."""
    test_split: float = 0.2
    """Tables: fraction of the rows held out for testing when there is no --test-data (stratified for a
    classification, seeded by --seed), in (0, 1)."""
    drop: tuple[str, ...] = ()
    """Tables: columns to ignore, comma separated."""
    categorical: tuple[str, ...] = ()
    """Tables: columns to encode as categories even if they hold numbers, comma separated."""
    image_size: tuple[int, ...] | None = None
    """Image folders: H,W every image is resized to (also at predict time); default: the first image's size."""
    color: str = "rgb"
    """Image folders: rgb (3 channels) or grayscale (1)."""
    class_mode: str = "categorical"
    """Image folders: categorical (one label per class folder) or binary (exactly two class folders)."""
    decode_workers: int | None = None
    """Image folders: processes decoding images in parallel (0: in the main process); default: min(4, CPUs).
    (`workers` in YAML files and run folders written before the rename.)"""
    skip_bad_images: bool = False
    """Image folders: skip unreadable images (counted in summary.json) instead of stopping with an error."""
    cache: str = "auto"
    """Image folders: decode every image once at --image-size into a uint8 cache that later epochs and runs read
    (in folder-cache/ of $ZENLEARN_CACHE, else ~/.cache/zenlearn): memory, disk (memory-mapped), auto (memory if it
    takes at most a quarter of the RAM, else disk) or off (decode every batch)."""
    normalize: str = "series"
    """Time series (ucr:, series:): series (z-normalise each series and feature, as the archive's papers do),
    global (by the training set's per-feature mean and standard deviation) or none."""
    bucket: bool = False
    """Variable-length series (ucr:, series:): batch the training series by length (similar lengths together, in
    a seeded order that resume repeats) and cut every batch to its longest series, so less padding is computed;
    each series' output is the same, its padding being masked either way. Evaluation batches are cut too."""
    column: str | None = None
    """Forecasts (forecast:PATH.csv): the column to forecast; default: the last numeric column."""
    window: int = 24
    """Forecasts: time steps in each input window (the model predicts the next value at every step)."""
    horizon: int = 1
    """Forecasts: how many steps ahead each step's target lies."""
    season: int = 0
    """Forecasts: season length in steps for the seasonal-naive baseline and MASE; 0: from the date column's
    frequency (12 for monthly data, 4 quarterly, 7 daily, 24 hourly), else 1."""

    # --- augmentation ---
    augment: str | None = None
    """Augment training batches on the device: a preset (mnist, cifar, imagenet; see `zenlearn list
    augmentations`) and/or Keras ImageDataGenerator options, e.g. "rotation_range=45,zoom_range=0.2,
    horizontal_flip=true" or "mnist,rotation_range=5"; seeded from --seed; default: none."""

    # --- model ---
    model: str = "seed-cnn"
    """Model name (see `zenlearn list models`)."""
    activation: str = "relu"
    """Hidden-layer activation for models that take one (see `zenlearn list activations`); for the mlp also one
    per hidden layer, comma separated (relu,tanh,sigmoid with three --hidden sizes)."""
    init: str = "default"
    """Weight initialisation of Linear/Conv/RNN layers: default (PyTorch's), kaiming-uniform / kaiming-normal
    (He, for ReLU-family nets), xavier-uniform / xavier-normal (Glorot, for tanh/sigmoid), orthogonal; Keras
    names (he_uniform, glorot_uniform, …) work too (see `zenlearn list inits`)."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer sizes of the MLP (and of the cnn's dense head), comma separated (e.g. 256,256); empty
    for none."""
    negative_slope: float = 0.01
    """Slope of the leaky_relu activation for x < 0."""
    elu_alpha: float = 1.0
    """Alpha of the elu activation (its limit for x → -inf is -alpha), > 0."""
    dropout: float = 0.0
    """Dropout probability after each hidden layer (mlp, cnn stages and head, between rnn layers), in [0, 1)."""
    batch_norm: bool = False
    """Batch normalization before each hidden activation (mlp, cnn)."""
    channels: tuple[int, ...] = (32, 64)
    """Output channels of each cnn stage, comma separated (e.g. 32,64); 2-D convolutions for images, 1-D
    for sequences."""
    kernel_size: int = 3
    """Convolution kernel size of the cnn (padding (k-1)//2 keeps the size for odd k at stride 1)."""
    stride: int = 1
    """Convolution stride of the cnn."""
    pool: str = "max"
    """Pooling after each cnn stage (window 2, stride 2): max, avg or none."""
    hidden_size: int = 64
    """Hidden state size of the rnn / lstm / gru (per direction)."""
    num_layers: int = 1
    """Stacked layers of the rnn / lstm / gru."""
    bidirectional: bool = False
    """Run the rnn / lstm / gru in both directions (outputs of the two directions are concatenated)."""
    head: str = "auto"
    """Output head of the rnn / lstm / gru: last (final hidden state), mean or max (pooled over time),
    flatten (dense layer on all steps' outputs), step (dense layer at every time step); auto: step for
    per-step datasets, else last."""

    # --- optimization ---
    optimizer: str = "adam"
    """Optimizer name (see `zenlearn list optimizers`)."""
    lr: float | None = None
    """Learning rate (the peak when a schedule is used); default: the optimizer's own (see `zenlearn list
    optimizers`)."""
    epochs: int = 5
    """Number of passes over the training set."""
    batch_size: int = 64
    """Training batch size (the global batch: under torchrun the processes split it evenly)."""
    momentum: float | None = None
    """Momentum factor (sgd, momentum, nesterov, rmsprop); default: the optimizer's (0.9 for momentum, nesterov)."""
    weight_decay: float | None = None
    """Weight decay on weights only (never biases or norm parameters); L2 for most optimizers, decoupled for
    adamw; default: the optimizer's (0; adamw 0.01)."""
    betas: tuple[float, ...] | None = None
    """Moment decay rates of the Adam family, like 0.9,0.999; default: the optimizer's."""
    eps: float | None = None
    """Term added to the denominator of adaptive optimizers; default: the optimizer's."""
    rho: float | None = None
    """Decay of the squared-gradient average (adadelta, rmsprop); default: the optimizer's (0.9; rmsprop 0.99)."""
    clip_grad: float | None = None
    """Clip the global gradient norm to this value before every step; default: off."""
    label_smoothing: float = 0.0
    """Cross-entropy label smoothing in [0, 1): the targets mix in this fraction of the uniform distribution."""
    class_weight: str = "none"
    """Weight of each class in the training loss, for imbalanced data: none, balanced (n_samples / (n_classes ·
    n_in_class), as scikit-learn's), or CLASS=WEIGHT pairs like 0=1,7=3.5 (class names or indices; classes
    not named weigh 1). Evaluation stays unweighted; the report's per-class table shows the weights."""
    schedule: str = "constant"
    """LR schedule: constant, step, multistep, exponential, cosine, one-cycle or plateau (see `zenlearn list
    schedules`)."""
    warmup_epochs: float = 0.0
    """Linear LR warmup in front of the schedule, in epochs (stepped per batch; fractions allowed)."""
    lr_gamma: float | None = None
    """LR decay factor of the step, multistep, exponential and plateau schedules; default: 0.1 (exponential 0.9)."""
    lr_step_size: int | None = None
    """Epochs between decays of the step schedule; default: a third of the epochs."""
    lr_milestones: tuple[int, ...] = ()
    """Epochs at which the multistep schedule decays, like 30,60; default: half and three quarters of the epochs."""
    lr_patience: int | None = None
    """Epochs without val-loss improvement before the plateau schedule reduces the LR; default: 2."""
    lr_min: float | None = None
    """Lowest LR: where cosine ends and the floor of plateau; default: 0."""
    lr_monitor: str | None = None
    """The metrics.csv column the plateau schedule watches: loss (the training loss, as Fawaz et al.'s time-series
    models), val_loss, val_accuracy, …; lower is better for losses and errors, higher for accuracy and R²;
    default: val_loss when there is a validation split, else loss."""

    # --- runtime ---
    seed: int = 0
    """Random seed for the split, initialization and shuffling; the same seed repeats a CPU run."""
    device: str = "auto"
    """Where to train: auto (cuda if available, else cpu), cpu or cuda."""
    precision: str = "32"
    """Numeric precision: 32 (float32), bf16 (bfloat16 autocast, CPU or GPU) or 16 (float16 autocast with a
    gradient scaler, CUDA only)."""
    eval_batch_size: int = 1000
    """Batch size for evaluation and prediction."""
    threads: int | None = None
    """CPU threads for torch ops; default: torch's choice (one per core); 0: one per idle core (CPU idle time
    measured over 50 ms), which is several times faster on a busy machine."""
    # --- optimization ---
    early_stopping: int | None = None
    """Stop after N epochs without val_loss improvement and restore the best weights; default: off."""
    keep_best: str | None = None
    """Keep the weights of the epoch with the best value of this metrics.csv column, and evaluate, save and report
    those: loss (the lowest training loss, as Fawaz et al. keep their time-series models), val_loss, val_accuracy,
    …; default: the last epoch's weights."""
    # --- output ---
    out: str | None = None
    """Run folder; default: runs/<data>-<model>-<time>."""
    overwrite: bool = False
    """Allow writing into an existing non-empty run folder."""
    report: bool = True
    """Write report.html (curves, confusion matrix, worst samples, model, timing) into the run folder at the end."""
    grad_norms: bool = False
    """Record each layer's weight-gradient L2 norm (first batch, then the mean of every epoch) in
    RUN_DIR/grad_norms.csv: shows vanishing or exploding gradients."""
    tensorboard: bool = False
    """Also log loss, metrics, learning rate and hyper-parameters to RUN_DIR/tb/ for TensorBoard (needs
    pip install 'zenlearn[tensorboard]')."""
    checkpoint_every: int | None = None
    """Also write checkpoint.pt every N optimizer steps inside an epoch (it is always written at the end of
    each epoch), so `--resume` loses at most N steps; default: epoch ends only."""
    # --- runtime ---
    deterministic: bool = False
    """Use PyTorch's deterministic algorithms (and deterministic cuDNN); fails on ops that have none. CPU
    runs with the same seed are identical without it; on GPU it makes them repeatable."""

    def problems(self) -> list[str]:
        """Type problems, else range problems, one message each (names are not checked here)."""
        return type_problems(self) or self.range_problems()

    def range_problems(self) -> list[str]:
        """Values out of range (`epochs` < 1, `dropout` >= 1, an unknown `pool`, …), one message each."""
        return _range_problems(self)

    def validate(self) -> "TrainConfig":
        """Check types and ranges; raise one `UsageError` listing every problem.

        Example:
            >>> TrainConfig(epochs=0).validate()
            Traceback (most recent call last):
            zenlearn.errors.UsageError: invalid config: epochs must be >= 1, got 0
        """
        problems = self.problems()
        if problems:
            raise UsageError("invalid config: " + "; ".join(problems))
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "config") -> "TrainConfig":
        """Build from a dict (YAML or CLI); unknown keys and wrong types are a `UsageError`."""
        if not isinstance(d, dict):
            raise UsageError(f"{source}: expected a mapping of option: value, got {type(d).__name__}")
        d = cls.canonical(d, source)
        known = field_names(TrainConfig)
        unknown = [k for k in d if k not in known]
        if unknown:
            raise UsageError(f"{source}: unknown option(s) {', '.join(map(repr, unknown))}; "
                             f"valid options: {', '.join(known)}")
        hints = field_types(TrainConfig)
        problems, kwargs = [], {}
        for k, v in d.items():
            try:
                kwargs[k] = coerce(k, hints[k], v)
            except UsageError as e:
                problems.append(str(e))
        if problems:
            raise UsageError(f"{source}: " + "; ".join(problems))
        return cls(**kwargs)

    @staticmethod
    def canonical(d: dict[str, Any], source: str = "config") -> dict[str, Any]:
        """`d` with old option names (`ALIASES`: `workers` → `decode_workers`) renamed, so old YAML files and run
        folders still load; an old name given beside its new one is a `UsageError`."""
        both = [old for old, new in ALIASES.items() if old in d and new in d]
        if both:
            raise UsageError(f"{source}: give {both[0]!r} or {ALIASES[both[0]]!r}, not both "
                             f"({both[0]!r} is the old name of {ALIASES[both[0]]!r})")
        return {ALIASES.get(k, k): v for k, v in d.items()}

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with `changes` applied (values coerced like YAML values)."""
        merged = {**self.to_dict(), **changes}
        return TrainConfig.from_dict(merged)


def _range_problems(c: TrainConfig) -> list[str]:
    p = []

    def need(ok: bool, msg: str) -> None:
        if not ok:
            p.append(msg)

    need(0.0 <= c.val_split < 1.0, f"val_split must be in [0, 1), got {c.val_split}")
    need(c.train_subset is None or c.train_subset >= 1, f"train_subset must be >= 1, got {c.train_subset}")
    need(c.task in TASKS, f"task must be one of {', '.join(TASKS)}, got {c.task!r}")
    need(0.0 < c.test_split < 1.0, f"test_split must be in (0, 1), got {c.test_split}")
    need(all(h >= 1 for h in c.hidden), f"hidden sizes must be >= 1, got {','.join(map(str, c.hidden))}")
    need(c.elu_alpha > 0, f"elu_alpha must be > 0, got {c.elu_alpha}")
    need(0.0 <= c.dropout < 1.0, f"dropout must be in [0, 1), got {c.dropout}")
    need(len(c.channels) >= 1 and all(ch >= 1 for ch in c.channels),
         f"channels must be one or more sizes >= 1 (e.g. 32,64), got {','.join(map(str, c.channels)) or 'none'}")
    need(c.kernel_size >= 1, f"kernel_size must be >= 1, got {c.kernel_size}")
    need(c.stride >= 1, f"stride must be >= 1, got {c.stride}")
    need(c.pool in POOLS, f"pool must be one of {', '.join(POOLS)}, got {c.pool!r}")
    need(c.hidden_size >= 1, f"hidden_size must be >= 1, got {c.hidden_size}")
    need(c.num_layers >= 1, f"num_layers must be >= 1, got {c.num_layers}")
    need(c.head in HEADS, f"head must be one of {', '.join(HEADS)}, got {c.head!r}")
    need(c.lr is None or 0 < c.lr < float("inf"), f"lr must be > 0 and finite, got {c.lr}")
    need(c.clip_grad is None or c.clip_grad > 0, f"clip_grad must be > 0, got {c.clip_grad}")
    need(c.epochs >= 1, f"epochs must be >= 1, got {c.epochs}")
    need(c.batch_size >= 1, f"batch_size must be >= 1, got {c.batch_size}")
    need(c.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {c.eval_batch_size}")
    need(0.0 <= c.label_smoothing < 1.0, f"label_smoothing must be in [0, 1), got {c.label_smoothing}")
    need(c.threads is None or c.threads >= 0, f"threads must be >= 0 (0: auto), got {c.threads}")
    need(c.early_stopping is None or c.early_stopping >= 1,
         f"early_stopping must be >= 1 epochs, got {c.early_stopping}")
    need(c.checkpoint_every is None or c.checkpoint_every >= 1,
         f"checkpoint_every must be >= 1 steps, got {c.checkpoint_every}")
    need(c.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got {c.precision!r}")
    need(c.device in DEVICES, f"device must be one of {', '.join(DEVICES)}, got {c.device!r}")
    need(c.color in ("rgb", "grayscale"), f"color must be rgb or grayscale, got {c.color!r}")
    need(c.class_mode in ("categorical", "binary"), f"class_mode must be categorical or binary, got {c.class_mode!r}")
    need(c.image_size is None or (len(c.image_size) == 2 and min(c.image_size) >= 1),
         f"image_size must be H,W (two integers >= 1), got {','.join(map(str, c.image_size or ()))}")
    need(isinstance(c.class_weight, str) and parse_class_weight(c.class_weight) is not None,
         f"class_weight must be none, balanced or CLASS=WEIGHT pairs with weights > 0 (e.g. 0=1,7=3), "
         f"got {c.class_weight!r}")
    need(c.decode_workers is None or c.decode_workers >= 0, f"decode_workers must be >= 0, got {c.decode_workers}")
    need(c.normalize in NORMALIZE, f"normalize must be one of {', '.join(NORMALIZE)}, got {c.normalize!r}")
    need(c.window >= 1, f"window must be >= 1, got {c.window}")
    need(c.horizon >= 1, f"horizon must be >= 1, got {c.horizon}")
    need(c.season >= 0, f"season must be >= 0 (0: from the dates), got {c.season}")
    return p


def parse_class_weight(text: str) -> str | dict[str, float] | None:
    """`--class-weight` text → "none", "balanced" or {class: weight}; None when it is malformed.

    Example:
        >>> parse_class_weight("balanced"), parse_class_weight("0=1, cat=2.5"), parse_class_weight("0=-1")
        ('balanced', {'0': 1.0, 'cat': 2.5}, None)
    """
    t = text.strip()
    if t.lower() in ("none", "balanced", ""):
        return t.lower() or "none"
    out: dict[str, float] = {}
    for part in t.split(","):
        name, sep, value = part.partition("=")
        try:
            weight = float(value)
        except ValueError:
            return None
        if not sep or not name.strip() or not weight > 0 or weight == float("inf"):
            return None
        out[name.strip()] = weight
    return out
