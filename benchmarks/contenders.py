"""The contenders of `train_speed.py`: Keras 3 (TensorFlow backend), the idiomatic PyTorch loop, zenlearn.

Each builds the survey's models exactly (same layers, same Adam defaults, batch 64) and trains one epoch
at a time, so `train_speed.py` can alternate epochs between frameworks. The peers are not tuned: they
are the code a user would write from each framework's tutorial. Every contender lives in its own
process (`serve`): TensorFlow and torch in one process fight over threads and slow each other down.
"""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up banners are not results
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

WORKLOADS = ("cnn", "mlp", "lstm")


# ---------------------------------------------------------------- data (plain numpy, as a Keras user loads it)

def read_idx_gz(path: Path) -> np.ndarray:
    """An IDX `.gz` file (MNIST format) as a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist_numpy(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST train/test as float32 images in [0, 1] of shape (N, 28, 28, 1) and int64 labels."""
    d = Path(data_dir) / "mnist"
    xs = [read_idx_gz(d / f"{p}-images-idx3-ubyte.gz").astype(np.float32)[..., None] / 255 for p in ("train", "t10k")]
    ys = [read_idx_gz(d / f"{p}-labels-idx1-ubyte.gz").astype(np.int64) for p in ("train", "t10k")]
    return xs[0], ys[0], xs[1], ys[1]


# ---------------------------------------------------------------- Keras 3

def keras_model(workload: str, seq_shape: tuple[int, int] = (5, 2), out_features: int = 1):
    """The survey's model in Keras 3, compiled with Adam (Keras defaults) and the survey's loss."""
    import keras
    from keras import layers

    if workload == "cnn":
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax"),
        ])
    elif workload == "mlp":
        model = keras.Sequential([
            keras.Input((28, 28, 1)), layers.Flatten(),
            layers.Dense(256, activation="relu"), layers.Dense(256, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
    elif workload == "lstm":
        model = keras.Sequential([
            keras.Input(seq_shape), layers.LSTM(100, return_sequences=True), layers.Dense(out_features),
        ])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
        return model
    else:
        raise ValueError(f"unknown workload {workload!r}; choose one of: {', '.join(WORKLOADS)}")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class Keras:
    """`model.fit(x, y, batch_size=64, epochs=1, shuffle=True)` once per epoch."""

    def __init__(self, workload: str, data: dict[str, np.ndarray], options: dict) -> None:
        import keras

        keras.utils.set_random_seed(0)
        self.workload, self.data = workload, data
        x, y = data["x"], data["y"]
        if workload == "lstm":
            self.model = keras_model(workload, tuple(x.shape[1:]), y.shape[-1])
        else:
            self.model = keras_model(workload)

    def epoch(self) -> float:
        t0 = time.perf_counter()
        self.model.fit(self.data["x"], self.data["y"], batch_size=64, epochs=1, shuffle=True, verbose=0)
        return time.perf_counter() - t0

    def metric(self) -> float:
        loss, metric = self.model.evaluate(self.data["xt"], self.data["yt"], batch_size=1000, verbose=0)
        return loss if self.workload == "lstm" else metric


# ---------------------------------------------------------------- the idiomatic PyTorch loop

def torch_model(workload: str, in_features: int = 2, out_features: int = 1):
    """The survey's model as a tutorial-style `nn.Module` (NCHW images, float32)."""
    import torch
    from torch import nn

    if workload == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))
    if workload == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    if workload == "lstm":
        class SeqLSTM(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = nn.LSTM(in_features, 100, batch_first=True)
                self.head = nn.Linear(100, out_features)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.head(self.lstm(x)[0])  # (B, T, F) -> (B, T, out)

        return SeqLSTM()
    raise ValueError(f"unknown workload {workload!r}; choose one of: {', '.join(WORKLOADS)}")


class TorchLoop:
    """`DataLoader(TensorDataset(...), shuffle=True)` + Adam + the textbook loop, as in the PyTorch tutorial."""

    def __init__(self, workload: str, data: dict[str, np.ndarray], options: dict, batch_size: int = 64) -> None:
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        torch.manual_seed(0)
        self.workload, self.data = workload, data
        x, y = data["x"], data["y"]
        if workload in ("cnn", "mlp"):
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NHWC -> NCHW
            self.loss_fn = torch.nn.CrossEntropyLoss()
        else:
            xt = torch.from_numpy(np.ascontiguousarray(x))
            self.loss_fn = torch.nn.MSELoss()
        self.model = torch_model(workload, in_features=x.shape[-1], out_features=y.shape[-1] if y.ndim > 1 else 1)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loader = DataLoader(TensorDataset(xt, torch.from_numpy(y)), batch_size=batch_size, shuffle=True)

    def epoch(self) -> float:
        """One training epoch; returns its wall seconds."""
        self.model.train()
        t0 = time.perf_counter()
        running = 0.0
        for xb, yb in self.loader:
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
            running += loss.item()
        return time.perf_counter() - t0

    def metric(self) -> float:
        """Test accuracy (classification) or MSE (regression)."""
        import torch

        x, y = self.data["xt"], self.data["yt"]
        self.model.eval()
        with torch.no_grad():
            if self.workload in ("cnn", "mlp"):
                out = self.model(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))))
                return float((out.argmax(-1) == torch.from_numpy(y)).float().mean())
            return float(self.loss_fn(self.model(torch.from_numpy(x)), torch.from_numpy(y)))


class Zenlearn:
    """zenlearn as `zenlearn train` builds it: data, model, optimizer and `Trainer` from a `TrainConfig`."""

    def __init__(self, workload: str, data: dict[str, np.ndarray], options: dict) -> None:
        import torch

        from zenlearn import TrainConfig
        from zenlearn.data import BatchLoader, load_splits
        from zenlearn.training.build import build_model, build_optimizer
        from zenlearn.training.device import set_threads
        from zenlearn.training.trainer import Trainer

        cfg = TrainConfig.from_dict(options)
        set_threads(cfg.threads)  # as `zenlearn train` does
        splits = load_splits(cfg.data, root=cfg.data_dir, val_split=cfg.val_split, seed=cfg.seed,
                             train_subset=cfg.train_subset)
        torch.manual_seed(cfg.seed)
        model = build_model(cfg, splits.spec)
        self.trainer = Trainer(model, build_optimizer(cfg, model), task=splits.spec.task, device=cfg.device,
                               precision=cfg.precision)
        s = splits.spec.scale
        self.loader = BatchLoader(splits.train, cfg.batch_size, scale=s, shuffle=True, seed=cfg.seed)
        self.test = BatchLoader(splits.test, cfg.eval_batch_size, scale=s)

    def epoch(self) -> float:
        t0 = time.perf_counter()
        self.trainer.fit(self.loader, epochs=self.trainer.epoch + 1, verbose=False)
        return time.perf_counter() - t0

    def metric(self) -> float:
        m = self.trainer.evaluate(self.test)
        return m["accuracy"] if "accuracy" in m else m["loss"]

    def peak(self) -> dict[str, float]:
        """GFLOP/s of torch.mm on 2048 x 2048 matrices (best of 5) in fp32 and bf16, on this worker's threads."""
        import torch

        rates = {}
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
            torch.mm(a, b)  # warm-up
            best = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                torch.mm(a, b)
                best = min(best, time.perf_counter() - t0)
            rates[name] = 2 * 2048**3 / best / 1e9
        return rates


KINDS = {"keras": Keras, "torch-loop": TorchLoop, "zenlearn": Zenlearn}


def serve(conn, kind: str, workload: str, data_file: str, options: dict) -> None:
    """Worker process: build one contender, then answer "epoch" / "metric" requests until "stop"."""
    try:
        data = dict(np.load(data_file))
        contender = KINDS[kind](workload, data, options)
        conn.send(("ok", None))
    except Exception as e:  # noqa: BLE001 - reported to the parent, which stops the benchmark
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    while (cmd := conn.recv()) != "stop":
        try:
            conn.send(("ok", getattr(contender, cmd)()))
        except Exception as e:  # noqa: BLE001
            conn.send(("error", f"{type(e).__name__}: {e}"))
