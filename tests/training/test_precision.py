"""--precision: bf16 autocast trains on CPU; float16 on CPU is refused (see also test_cli.py)."""

import math

import pytest
import torch
from torch import nn

from zenlearn import TrainConfig, Trainer, train_run
from zenlearn.errors import UsageError


def test_bf16_autocast_runs_matmuls_in_bfloat16_on_cpu():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    seen = []
    model[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    x = torch.randn(256, 8)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()  # (N,) 3 learnable classes
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), 1e-2), device="cpu", precision="bf16")
    hist = trainer.fit((x, y), epochs=8, batch_size=32, verbose=False)
    assert seen and set(seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay float32
    losses = hist.history["loss"]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < 0.6 * losses[0]


def test_bf16_run_on_cpu(tmp_path, data_dir):
    s = train_run(TrainConfig(data="mnist", model="mlp", hidden=(32,), epochs=1, train_subset=1000,
                              precision="bf16", device="cpu", report=False, out=str(tmp_path / "bf16")),
                  verbose=False)
    assert s["precision"] == "bf16" and s["test"]["accuracy"] > 0.5


def test_fp16_on_cpu_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "fp16"
    with pytest.raises(UsageError, match="needs a CUDA device; on CPU use --precision bf16 or 32"):
        train_run(TrainConfig(model="mlp", precision="16", device="cpu", out=str(out)), verbose=False)
    assert not out.exists()
