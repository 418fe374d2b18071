"""Data parallel: 2 gloo processes under torchrun follow the same loss curve as 1 process with the same global batch."""

import csv
import os
import subprocess
import sys

import pytest
import torch

from zenlearn import TrainConfig, train_run
from zenlearn.data import ArrayData, BatchLoader
from zenlearn.errors import UsageError
from zenlearn.training.distributed import all_reduce_sum, init_distributed

ARGS = ["--data", "mnist", "--model", "mlp", "--hidden", "32", "--epochs", "2", "--train-subset", "512",
        "--batch-size", "64", "--no-report", "--quiet"]


def test_rank_shards_of_a_batch_make_the_global_batch():
    data = ArrayData(torch.arange(100).float()[:, None], torch.arange(100))
    one = BatchLoader(data, 20, shuffle=True, seed=3)
    ranks = [BatchLoader(data, 10, shuffle=True, seed=3, rank=r, world_size=2) for r in (0, 1)]
    for epoch in (0, 1):
        for loader in (one, *ranks):
            loader.set_epoch(epoch)
        for (_, y), (_, y0), (_, y1) in zip(one, *ranks, strict=True):
            assert sorted(y.tolist()) == sorted(y0.tolist() + y1.tolist())


def test_single_process_is_a_no_op(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    env = init_distributed(torch.device("cpu"), 63)
    assert (env.rank, env.world_size, env.is_main) == (0, 1, True)
    t = torch.ones(3)
    assert all_reduce_sum(t) is t


def test_global_batch_must_split_over_ranks(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(UsageError, match="--batch-size 63 .* divisible by the 2 torchrun processes; use e.g. "
                                         "--batch-size 62"):
        init_distributed(torch.device("cpu"), 63)


def _rows(path):
    return list(csv.DictReader(open(path)))


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path, data_dir):
    from safetensors.torch import load_file

    single, ddp = tmp_path / "single", tmp_path / "ddp"
    train_run(TrainConfig(data="mnist", model="mlp", hidden=(32,), epochs=2, train_subset=512, batch_size=64,
                          report=False, out=str(single)), verbose=False)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                        "-m", "zenlearn", "train", *ARGS, "--out", str(ddp)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("run folder:") == 1  # rank 0 reports for the group
    a, b = _rows(single / "metrics.csv"), _rows(ddp / "metrics.csv")
    assert len(a) == len(b) == 2  # one writer
    for col in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert [float(x[col]) for x in b] == pytest.approx([float(x[col]) for x in a], rel=1e-5, abs=1e-6), col
    wa, wb = load_file(single / "model.safetensors"), load_file(ddp / "model.safetensors")
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-5
    import json

    assert json.loads((ddp / "summary.json").read_text())["world_size"] == 2


@pytest.mark.slow
def test_channels_last_conv_model_under_ddp_prints_no_warning(tmp_path, data_dir):
    # the README's torchrun command: DDP lays out its gradient buckets after the model went channels-last
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "default"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                        "-m", "zenlearn", "train", "--data", "mnist", "--model", "seed-cnn", "--batch-size", "128",
                        "--train-subset", "256", "--epochs", "1", "--no-report", "--quiet", "--out", str(tmp_path / "r")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Warning" not in r.stderr, r.stderr[-2000:]
