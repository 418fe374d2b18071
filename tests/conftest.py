"""Shared fixtures. Tests read the real datasets from $ZENLEARN_DATA (default: ../shared/datasets)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from system_programs import chromium, pytest_configure, pytest_runtest_setup  # noqa: F401  (the `needs` marker)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets"
# Absolute, so that subprocesses started in another folder (examples, CLI runs) find the data too.
os.environ["ZENLEARN_DATA"] = str(Path(os.environ.get("ZENLEARN_DATA") or DEFAULT_DATA).resolve())
os.environ["ZENLEARN_OFFLINE"] = "1"  # tests never download
# Decoded image-folder caches of this test session go to a fresh folder, never to ~/.cache (or a stale one).
os.environ["ZENLEARN_CACHE"] = tempfile.mkdtemp(prefix="zenlearn-test-cache-")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder; missing data is a loud failure, never a skip."""
    d = Path(os.environ["ZENLEARN_DATA"])
    missing = [p for p in ("mnist/train-images-idx3-ubyte.gz", "fashion-mnist/t10k-labels-idx1-ubyte.gz")
               if not (d / p).is_file()]
    if missing:
        pytest.fail(f"test data missing: {missing} under {d}; set ZENLEARN_DATA to the shared datasets folder")
    return d


@pytest.fixture(scope="session")
def mlp_run(data_dir, tmp_path_factory) -> Path:
    """One small finished MLP run folder (2 epochs on 2,000 MNIST samples, TensorBoard on), shared read-only."""
    from zenlearn import TrainConfig, train_run

    out = tmp_path_factory.mktemp("mlp_run") / "run"
    train_run(TrainConfig(data="mnist", model="mlp", hidden=(32,), epochs=2, train_subset=2000, batch_size=64,
                          tensorboard=True, out=str(out)), verbose=False)
    return out


@pytest.fixture
def one_thread():
    """Run a test on one torch thread: tiny models train ~10x faster so when the cores are shared."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
