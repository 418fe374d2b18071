"""`NeuralClassifier` and `NeuralRegressor`: scikit-learn estimators that build a zenlearn model, optimizer and
schedule by name and fit them with the one `Trainer` (no second training loop).

They take arrays (dense, numeric) as scikit-learn's `MLPClassifier` does and leave scaling to the pipeline
(`StandardScaler`, `ColumnTransformer`); they pass scikit-learn's own estimator checks except those listed in
`EXPECTED_FAILED_CHECKS`, each with its reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from zenlearn.config import TrainConfig
from zenlearn.data import ArrayData, BatchLoader, DataSpec
from zenlearn.data.arrays import split
from zenlearn.training.build import build_model, build_optimizer, build_schedule, check_config, seed_everything
from zenlearn.training.callbacks import EarlyStopping
from zenlearn.training.device import set_threads
from zenlearn.training.trainer import Trainer

EXPECTED_FAILED_CHECKS: dict[str, str] = {}
"""scikit-learn estimator checks that these estimators are known to fail, check name → reason; passed to
`parametrize_with_checks(..., expected_failed_checks=...)` with strict xfails in the tests, so a listed check that
starts passing fails the suite. Empty: with scikit-learn 1.9 every check passes (the array-API checks are skipped
by scikit-learn itself unless SCIPY_ARRAY_API=1, and these estimators do not claim array-API support)."""


class _NeuralEstimator(BaseEstimator):
    """The parameters and the fit shared by both estimators (a scikit-learn estimator stores its parameters
    untouched in `__init__`; they are checked in `fit`, by `zenlearn.training.build.check_config`)."""

    _task = ""

    def __init__(self, model: str = "mlp", *, hidden: tuple[int, ...] = (100,), activation: str = "relu",
                 dropout: float = 0.0, batch_norm: bool = False, init: str = "default", optimizer: str = "adam",
                 lr: float | None = None, weight_decay: float | None = None, momentum: float | None = None,
                 schedule: str = "constant", warmup_epochs: float = 0.0, epochs: int = 200, batch_size: int = 200,
                 early_stopping: int | None = 10, tol: float = 1e-4, val_split: float = 0.0,
                 clip_grad: float | None = None, options: dict[str, Any] | None = None, seed: int = 0,
                 device: str = "cpu", threads: int | None = None) -> None:
        self.model, self.hidden, self.activation, self.dropout = model, hidden, activation, dropout
        self.batch_norm, self.init, self.optimizer, self.lr = batch_norm, init, optimizer, lr
        self.weight_decay, self.momentum, self.schedule, self.warmup_epochs = weight_decay, momentum, schedule, warmup_epochs
        self.epochs, self.batch_size, self.early_stopping, self.tol = epochs, batch_size, early_stopping, tol
        self.val_split, self.clip_grad, self.options, self.seed = val_split, clip_grad, options, seed
        self.device, self.threads = device, threads

    def _config(self) -> TrainConfig:
        """The parameters as a checked `TrainConfig` (a bad name or value is one `UsageError`, a ValueError)."""
        fields = dict(model=self.model, hidden=tuple(self.hidden), activation=self.activation, dropout=self.dropout,
                      batch_norm=self.batch_norm, init=self.init, optimizer=self.optimizer, lr=self.lr,
                      weight_decay=self.weight_decay, momentum=self.momentum, schedule=self.schedule,
                      warmup_epochs=self.warmup_epochs, epochs=self.epochs, batch_size=self.batch_size,
                      early_stopping=self.early_stopping, val_split=self.val_split, clip_grad=self.clip_grad,
                      seed=self.seed, device=self.device, threads=self.threads, report=False)
        return check_config(TrainConfig.from_dict({**fields, **(self.options or {})}, source=type(self).__name__))

    def _fit(self, x: np.ndarray, y: torch.Tensor, spec: DataSpec) -> "_NeuralEstimator":
        cfg = self._config()
        before = torch.get_num_threads()
        set_threads(cfg.threads)
        try:
            seed_everything(cfg.seed)
            train, val = split(ArrayData(torch.tensor(x), y), cfg.val_split, cfg.seed)
            model = build_model(cfg, spec)
            optimizer = build_optimizer(cfg, model)
            loader = BatchLoader(train, cfg.batch_size, shuffle=True, seed=cfg.seed)
            callbacks = []
            if cfg.early_stopping:  # as MLPClassifier's n_iter_no_change / tol, on val_loss when there is a val split
                callbacks.append(EarlyStopping("val_loss" if val is not None else "loss", cfg.early_stopping,
                                               min_delta=self.tol, restore_best_weights=val is not None))
            trainer = Trainer(model, optimizer, task=spec.task, device=cfg.device, callbacks=callbacks,
                              scheduler=build_schedule(cfg, optimizer, len(loader)), scheduler_interval="step",
                              clip_grad_norm=cfg.clip_grad)
            history = trainer.fit(loader, val, cfg.epochs, verbose=False)
        finally:
            torch.set_num_threads(before)
        self.model_ = trainer.model.cpu().eval()
        self.spec_ = spec
        self.n_iter_ = len(history.epochs)
        self.loss_curve_ = [e["loss"] for e in history.epochs]
        return self

    def _outputs(self, x: Any) -> np.ndarray:
        """The model's outputs for `x`, in batches, in float32 (probabilities for a classifier)."""
        check_is_fitted(self, "model_")
        x = validate_data(self, x, reset=False, dtype=np.float32)
        trainer = Trainer(self.model_, task=self.spec_.task, device="cpu")
        return trainer.predict(torch.tensor(x), batch_size=max(1, len(x))).numpy()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.device != "cpu"  # CUDA kernels may sum in a different order
        return tags


class NeuralClassifier(ClassifierMixin, _NeuralEstimator):
    """A zenlearn network as a scikit-learn classifier (softmax outputs, cross-entropy, the `Trainer`).

    Args:
        model: A zenlearn model (`zenlearn list models`; mlp, logreg, cnn, rnn, …). Defaults to "mlp".
        hidden: Hidden layer sizes. Defaults to (100,), as `MLPClassifier`.
        activation: Hidden activation (`zenlearn list activations`). Defaults to "relu".
        dropout: Dropout after each hidden layer. Defaults to 0.
        batch_norm: Batch normalisation before each hidden activation. Defaults to False.
        init: Weight initialisation (`zenlearn list inits`). Defaults to "default".
        optimizer: Optimizer (`zenlearn list optimizers`). Defaults to "adam".
        lr: Learning rate. Defaults to the optimizer's own (adam: 1e-3).
        weight_decay: Weight decay on weights only. Defaults to the optimizer's.
        momentum: Momentum of sgd-family optimizers. Defaults to the optimizer's.
        schedule: LR schedule (`zenlearn list schedules`), stepped per batch. Defaults to "constant".
        warmup_epochs: Linear LR warmup in epochs. Defaults to 0.
        epochs: Passes over the data at most. Defaults to 200, as `MLPClassifier`'s max_iter.
        batch_size: Rows per step. Defaults to 200.
        early_stopping: Stop after this many epochs without the loss improving by `tol` (the validation loss
            when `val_split` > 0, restoring the best weights); None trains all epochs. Defaults to 10.
        tol: The improvement that counts. Defaults to 1e-4.
        val_split: Fraction of the rows held out to watch. Defaults to 0.
        clip_grad: Clip the gradient norm to this. Defaults to None (off).
        options: Any other `TrainConfig` field by name (e.g. {"channels": (16,)} for a cnn). Defaults to None.
        seed: Seed of the weights and batch order; a refit repeats a CPU fit exactly. Defaults to 0.
        device: "cpu", "cuda" or "auto". Defaults to "cpu".
        threads: torch threads while fitting (restored after). Defaults to torch's setting.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> x, y = load_iris(return_X_y=True)
        >>> clf = NeuralClassifier(hidden=(16,), epochs=30, lr=0.01).fit((x - x.mean(0)) / x.std(0), y)
        >>> clf.predict_proba(x[:2]).shape, clf.classes_.tolist()
        ((2, 3), [0, 1, 2])
    """

    _task = "classification"

    def fit(self, X: Any, y: Any) -> "NeuralClassifier":
        """Fit on `X` (rows, features) and labels `y` (any hashable labels); returns self."""
        x, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y holds one class ({self.classes_[0]!r}); a classifier needs at least 2 classes")
        spec = DataSpec("array", self._task, (x.shape[1],), len(self.classes_),
                        [str(c) for c in self.classes_], kind="vector")
        return self._fit(x, torch.from_numpy(codes.astype(np.int64)), spec)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (rows, classes), columns in the order of `classes_`."""
        return self._outputs(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of every row."""
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_proba(X).argmax(1)]


class NeuralRegressor(RegressorMixin, _NeuralEstimator):
    """A zenlearn network as a scikit-learn regressor (MSE, the `Trainer`); `y` may have several columns.

    The parameters are `NeuralClassifier`'s. The targets are standardised inside the model (its outputs are
    scaled back by the training targets' mean and standard deviation), so the loss stays in `y`'s units.

    Example:
        >>> from sklearn.datasets import load_diabetes
        >>> x, y = load_diabetes(return_X_y=True)
        >>> reg = NeuralRegressor(hidden=(16,), epochs=20, lr=0.01).fit(x / x.std(0), y)
        >>> reg.predict(x[:3] / x.std(0)).shape
        (3,)
    """

    _task = "regression"

    def fit(self, X: Any, y: Any) -> "NeuralRegressor":
        """Fit on `X` (rows, features) and targets `y` (rows,) or (rows, outputs); returns self."""
        x, y = validate_data(self, X, y, dtype=np.float32, y_numeric=True, multi_output=True)
        y2 = np.asarray(y, dtype=np.float32).reshape(len(y), -1)  # (N, outputs)
        self.n_outputs_ = y2.shape[1]
        self._y_1d = np.asarray(y).ndim == 1
        std = float(y2.std()) or 1.0
        spec = DataSpec("array", self._task, (x.shape[1],), self.n_outputs_, kind="vector",
                        target_mean=float(y2.mean()), target_std=std)
        return self._fit(x, torch.from_numpy(y2), spec)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: (rows,) when fitted on a 1-D `y`, else (rows, outputs)."""
        out = self._outputs(X).astype(np.float64)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
