"""zenlearn: the classic deep-learning techniques as working, measured tools on PyTorch.

Public names are imported lazily, so `import zenlearn` (and the CLI's `--help`) does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from zenlearn.version import __version__

_EXPORTS = {
    "TrainConfig": "config", "Registry": "registry", "ZenlearnError": "errors", "UsageError": "errors",
    "TrainingError": "errors", "Trainer": "training.trainer", "History": "training.trainer",
    "Callback": "training.callbacks", "EarlyStopping": "training.callbacks", "KeepBest": "training.callbacks",
    "ModelCheckpoint": "training.callbacks",
    "CSVLogger": "training.callbacks", "MODELS": "nn.models", "MLP": "nn.models", "CNN": "nn.models",
    "RNN": "nn.models", "SeedCNN": "nn.models", "build_model": "nn.models", "ACTIVATIONS": "nn.activations",
    "get_activation": "nn.activations", "plot_activations": "report.plots.tools", "OPTIMIZERS": "optim.optimizers",
    "build_optimizer": "optim.optimizers", "DATASETS": "data", "load_splits": "data", "BatchLoader": "data",
    "Augment": "augment.pipeline", "AUGMENTATIONS": "augment.spec", "train_run": "workflows.train",
    "load_run": "workflows.train", "evaluate_run": "workflows.train", "run_quickstart": "workflows.quickstart",
}
__all__ = ["__version__", *_EXPORTS]


def __dir__() -> list[str]:
    """The public names too (they are imported lazily), so `dir(zenlearn)` and tab completion show them."""
    return sorted({*globals(), *_EXPORTS})


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'zenlearn' has no attribute {name!r}")
