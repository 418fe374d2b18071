"""MNIST-1D: the paper's reference training vs `zenlearn quickstart`, in one run, on one machine.

The reference is Greydanus' setup ("Scaling down deep learning", github.com/greydanus/mnist1d): 6000
steps, batch 100, Adam lr 1e-2, batches taken in order from the 4000 training samples, and the paper's
four models (logistic 40→10; MLP 40→100, residual 100→100, →10, relu; CNN Conv1d 1→25 k5 s2 p1, 25→25
k3 s2 p1, 25→25 k3 s2 p1, relu, linear 125→10; bidirectional GRU, hidden 6, linear on all 40 steps'
outputs 480→10). Its timer covers the 6000 training steps only (the original's periodic test
evaluation is left out, which makes the reference faster, not slower). zenlearn trains its quickstart
recipes (`zenlearn.quickstart.RECIPES`, chosen on the validation split) through `train_run`, timed by
the run's own `train_seconds`. Both report test accuracy; each figure is the mean ± std over the seeds,
and the two sides alternate seed by seed.

    python benchmarks/mnist1d.py                      # 3 seeds, all four models
    python benchmarks/mnist1d.py --models cnn,gru --seeds 1 --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time

import torch
from torch import nn

from zenlearn.data.mnist1d import make_mnist1d
from zenlearn.workflows.quickstart import RECIPES, quickstart_config
from zenlearn.workflows.train import train_run


class RefMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear1, self.linear2, self.linear3 = nn.Linear(40, 100), nn.Linear(100, 100), nn.Linear(100, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()  # the residual block
        return self.linear3(h)


class RefCNN(nn.Module):
    def __init__(self, channels: int = 25) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = nn.Linear(channels * 5, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 1, x.shape[-1])  # (B, 40) -> (B, 1, 40)
        h = self.conv3(self.conv2(self.conv1(x).relu()).relu()).relu()  # (B, 25, 5)
        return self.linear(h.flatten(1))


class RefGRU(nn.Module):
    def __init__(self, hidden_size: int = 6, steps: int = 40) -> None:
        super().__init__()
        self.gru = nn.GRU(1, hidden_size, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden_size * steps, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(x.view(*x.shape[:2], 1))  # (B, 40, 12)
        return self.linear(h.reshape(h.shape[0], -1))  # all outputs, 480 -> 10


REFERENCE = {"logreg": lambda: nn.Linear(40, 10), "mlp": RefMLP, "cnn": RefCNN, "gru": RefGRU}


def train_reference(name: str, data: dict, seed: int, steps: int = 6000, batch: int = 100,
                    lr: float = 1e-2) -> tuple[float, float]:
    """The paper's training loop; returns (test accuracy, seconds of the training steps)."""
    torch.manual_seed(seed)
    model = REFERENCE[name]()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = torch.tensor(data["x"], dtype=torch.float32), torch.tensor(data["y"])
    xt, yt = torch.tensor(data["x_test"], dtype=torch.float32), torch.tensor(data["y_test"])
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for step in range(steps):
        i = (step * batch) % len(x)  # sequential batches, as in the original
        loss = loss_fn(model(x[i : i + batch]), y[i : i + batch])
        loss.item()  # the original logs every training loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(xt).argmax(-1) == yt).float().mean().item()
    return acc, seconds


def train_zenlearn(name: str, seed: int, out: str) -> tuple[float, float]:
    summary = train_run(quickstart_config(name, seed=seed, out=f"{out}/{name}-{seed}", device="cpu", report=False),
                        verbose=False)
    return summary["test"]["accuracy"], summary["train_seconds"]


def mean_std(v: list[float]) -> tuple[float, float]:
    return statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(RECIPES), help="comma-separated subset of logreg,mlp,cnn,gru")
    p.add_argument("--seeds", type=int, default=3, help="seeds per model (0, 1, …) [default: 3]")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads [default: torch's]")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    models = [m for m in a.models.split(",") if m]
    data = make_mnist1d()
    print(f"MNIST-1D, {len(data['x'])} train / {len(data['x_test'])} test; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; seeds 0..{a.seeds - 1}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in models:
            ref, zen = [], []
            for s in range(a.seeds):  # alternate, so that a change in machine load hits both sides alike
                ref.append(train_reference(name, data, s))
                zen.append(train_zenlearn(name, s, tmp))
            (ra, rs), (rt, _) = mean_std([r[0] for r in ref]), mean_std([r[1] for r in ref])
            (za, zs), (zt, _) = mean_std([z[0] for z in zen]), mean_std([z[1] for z in zen])
            rows.append({"model": name, "reference_accuracy": ra, "reference_std": rs, "reference_seconds": rt,
                         "zenlearn_accuracy": za, "zenlearn_std": zs, "zenlearn_seconds": zt, "speedup": rt / zt,
                         "reference_runs": ref, "zenlearn_runs": zen})
            print(f"  {name}: reference {100 * ra:.1f} % in {rt:.2f} s; zenlearn {100 * za:.1f} % in {zt:.2f} s",
                  flush=True)
    print(f"\n{'model':<7} {'reference acc':>15} {'ref s':>7} {'zenlearn acc':>15} {'zen s':>7} {'speedup':>8}")
    for r in rows:
        print(f"{r['model']:<7} {100 * r['reference_accuracy']:>8.1f} ± {100 * r['reference_std']:<4.1f} "
              f"{r['reference_seconds']:>7.2f} {100 * r['zenlearn_accuracy']:>8.1f} ± {100 * r['zenlearn_std']:<4.1f} "
              f"{r['zenlearn_seconds']:>7.2f} {r['speedup']:>7.1f}x")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
