"""zenlearn: the classic deep-learning techniques as working, measured tools on PyTorch.

Public names are imported lazily, so `import zenlearn` (and the CLI's `--help`) does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "TrainConfig": "config", "Registry": "registry", "ZenlearnError": "errors", "UsageError": "errors",
    "TrainingError": "errors", "Trainer": "train", "History": "train", "Callback": "callbacks",
    "EarlyStopping": "callbacks", "ModelCheckpoint": "callbacks", "CSVLogger": "callbacks",
    "MODELS": "models", "MLP": "models", "CNN": "models", "RNN": "models", "SeedCNN": "models", "build_model": "models",
    "ACTIVATIONS": "activations", "get_activation": "activations", "plot_activations": "activations", "OPTIMIZERS": "optim",
    "build_optimizer": "optim", "DATASETS": "data", "load_splits": "data", "BatchLoader": "data",
    "Augment": "augment", "AUGMENTATIONS": "augment", "train_run": "run", "load_run": "run", "evaluate_run": "run",
    "run_quickstart": "quickstart",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'zenlearn' has no attribute {name!r}")
