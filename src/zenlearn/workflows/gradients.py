"""The gradient norm of every layer of a deep MLP during its first training steps, per activation: the survey's
argument for ReLU over Sigmoid (vanishing gradients in the layers far from the loss), measured on real data.

The steps are the one `Trainer`'s; a callback reads each `Linear` weight's gradient after the step's backward
pass. Every activation starts from the same seed, so the networks differ only in their activation.
`zenlearn serve`'s activation explorer runs this in a worker process, never in the server.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import nn

from zenlearn.data import load_splits
from zenlearn.nn.build import create_model
from zenlearn.optim.optimizers import create_optimizer
from zenlearn.training.build import seed_everything
from zenlearn.training.callbacks import Callback
from zenlearn.training.trainer import Trainer


class LayerGradients(Callback):
    """Records the L2 norm of each `Linear` weight's gradient (input side first) after every step; stops training
    after `steps` steps (the flag the trainer reads)."""

    def __init__(self, steps: int) -> None:
        self.steps, self.norms = steps, []

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.norms = []

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        layers = [m for m in self.trainer.model.modules() if isinstance(m, nn.Linear)]
        self.norms.append([float(m.weight.grad.norm()) if m.weight.grad is not None else 0.0 for m in layers])
        if len(self.norms) >= self.steps:
            self.trainer.stop_training = True


def gradient_norms(activation: str, *, data: str = "mnist1d", depth: int = 8, width: int = 64, steps: int = 20,
                   batch_size: int = 64, lr: float = 0.1, optimizer: str = "sgd", init: str = "default", seed: int = 0,
                   data_dir: str | None = None, threads: int | None = 1) -> dict[str, Any]:
    """Train an MLP of `depth` hidden layers of `width` units with `activation` for `steps` steps; return each
    layer's weight-gradient norm at every step.

    Args:
        activation: Activation name (see `zenlearn list activations`).
        data: Dataset of the batches. Defaults to "mnist1d".
        depth: Hidden layers. Defaults to 8.
        width: Units per hidden layer. Defaults to 64.
        steps: Optimizer steps. Defaults to 20.
        batch_size: Samples per step. Defaults to 64.
        lr: Learning rate. Defaults to 0.1.
        optimizer: Optimizer name. Defaults to "sgd".
        init: Weight initialisation (see `zenlearn list inits`). Defaults to "default" (PyTorch's).
        seed: Seed of the weights and the batch order. Defaults to 0.
        data_dir: Data folder. Defaults to $ZENLEARN_DATA, else ~/.cache/zenlearn.
        threads: torch threads while it runs (restored after). Defaults to 1; None keeps torch's.

    Returns:
        {"activation", "layers": depth + 1, "norms": steps x layers (input side first), "seconds"}.

    Example:
        >>> r = gradient_norms("sigmoid", depth=4, width=16, steps=3)
        >>> r["layers"], len(r["norms"]), len(r["norms"][0])
        (5, 3, 5)
        >>> r["norms"][0][0] < r["norms"][0][-1]  # sigmoid: the first layer gets far less gradient than the last
        True
    """
    t0 = time.perf_counter()
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        splits = load_splits(data, root=data_dir, seed=seed)
        seed_everything(seed)  # the same weights for every activation of one seed
        model = create_model("mlp", splits.spec, init=init, hidden=(width,) * depth, activation=activation)
        probe = LayerGradients(steps)
        trainer = Trainer(model, create_optimizer(optimizer, model, lr=lr), task=splits.spec.task, device="cpu",
                          callbacks=[probe])
        loader = splits.loader(splits.train, batch_size, shuffle=True, seed=seed)
        trainer.fit(loader, epochs=math.ceil(steps / len(loader)), verbose=False)
    finally:
        torch.set_num_threads(before)
    return {"activation": activation, "layers": depth + 1, "norms": probe.norms,
            "seconds": round(time.perf_counter() - t0, 3)}
