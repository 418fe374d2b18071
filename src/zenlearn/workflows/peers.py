"""Peers measured in the same run: scikit-learn models fitted on exactly the rows, preprocessing and seed of a
zenlearn table run, scored by the same `Task` (so "accuracy" means one thing on both sides of the table).

`PEERS` maps a peer's name to a builder `(cfg, seed, categorical) -> estimator`; `run_peer` fits one on the
training split that `zenlearn train` would use for `cfg` at `seed` and scores it on that run's test split.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from zenlearn.config import TrainConfig
from zenlearn.nn.tasks import get_task
from zenlearn.registry import Registry
from zenlearn.training.build import open_splits

Peer = Callable[[TrainConfig, int, bool], Any]
PEERS: Registry[Peer] = Registry("peer")


def _mlp(cfg: TrainConfig, seed: int, categorical: bool) -> Any:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPClassifier if categorical else MLPRegressor
    activation = cfg.activation if cfg.activation in ("relu", "tanh", "logistic", "identity") else "relu"
    return cls(hidden_layer_sizes=tuple(cfg.hidden), activation=activation, solver="adam",
               learning_rate_init=cfg.lr or 1e-3, batch_size=cfg.batch_size, max_iter=cfg.epochs,
               alpha=cfg.weight_decay or 0.0, random_state=seed)


def _hgb(cfg: TrainConfig, seed: int, categorical: bool) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    return (HistGradientBoostingClassifier if categorical else HistGradientBoostingRegressor)(random_state=seed)


PEERS.add("MLPClassifier", _mlp, "scikit-learn's MLP (MLPRegressor for a regression) with the run's hidden layers, "
          "activation, batch size, epochs (max_iter) and learning rate; its own tolerance-based stopping",
          aliases=("MLPRegressor",))
PEERS.add("HistGradientBoosting", _hgb, "scikit-learn's HistGradientBoostingClassifier / Regressor, defaults")


def run_peer(peer: str, cfg: TrainConfig, seed: int) -> dict[str, Any]:
    """Fit peer `peer` on the training split of `cfg` at `seed` and score it on that split's test rows.

    Returns "test_<metric>" for each of the task's metrics, "train_seconds" (the fit's wall time) and
    "train_samples". The validation rows, if any, are left out as the zenlearn run leaves them out of training.
    """
    splits = open_splits(cfg.replace(seed=seed))
    task = get_task(splits.spec.task)
    x, y = splits.train.x.cpu().numpy(), splits.train.y.cpu().numpy()
    est = PEERS.get(peer)(cfg, seed, task.categorical)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the run's epochs on purpose
        est.fit(x, y if task.categorical else y.ravel())
    seconds = time.perf_counter() - t0
    xt, yt = splits.test.x.cpu().numpy(), splits.test.y.cpu()
    if task.categorical:
        proba = np.zeros((len(xt), splits.spec.num_outputs), dtype=np.float64)
        proba[:, est.classes_.astype(int)] = est.predict_proba(xt)  # a class absent from training stays 0
        out = torch.from_numpy(np.log(np.clip(proba, 1e-12, None)))  # log-probabilities as logits
    else:
        out = torch.from_numpy(est.predict(xt).astype(np.float64).reshape(len(xt), -1))
        yt = yt.double()
    scores = task.finish_stats(task.batch_stats(out, yt, task.loss(out, yt)), "test_")
    return {**scores, "train_seconds": seconds, "train_samples": len(x)}
