"""The allocator thresholds a training process sets (training.device.keep_freed_memory)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = "from zenlearn.training.device import keep_freed_memory as k; print(k(), k())"


def run(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", CODE], env={**os.environ, **env}, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only (a no-op elsewhere)")
def test_sets_the_thresholds_once_and_respects_the_users_own():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "True False"  # set once, then left alone
    assert run({"MALLOC_MMAP_THRESHOLD_": "1048576"}) == "False False"  # the user's setting wins


def test_idle_cores_counts_busy_cores_as_busy():
    import time

    from zenlearn.training.device import idle_cores

    n = os.cpu_count() or 1
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5)
        busy = idle_cores(0.3)
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert 1 <= busy <= max(1, n // 2), busy  # every core spinning: at most half look idle (others' noise)


def test_set_threads_none_keeps_torch_setting_zero_takes_idle_cores(monkeypatch):
    import torch

    import zenlearn.training.device as device

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert device.set_threads(None) == 1 and torch.get_num_threads() == 1  # None leaves torch alone
        monkeypatch.setattr(device, "idle_cores", lambda window=0.05: 2)
        assert device.set_threads(0) == 2 and torch.get_num_threads() == 2  # 0: one per idle core
        assert device.set_threads(1) == 1
    finally:
        torch.set_num_threads(before)
