"""Looking at a study: optuna-dashboard on a free local port over a tune study's storage, opened in
headless Chromium; the page shows the study's trial count, its best trial and best value."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from zenlearn.cli.main import main

pytest.importorskip("optuna", reason="pip install -e '.[test]' installs the tune extra")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.needs("chromium")
def test_dashboard_shows_trial_count_and_best_value(tmp_path, capsys, data_dir, chromium):
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
    out = tmp_path / "study"
    assert main(["tune", "--data", "mnist", "--model", "mlp", "--hidden", "16", "--train-subset", "600", "--epochs", "1",
                 "--threads", "1", "--search", "lr=log:1e-3:1e-1", "--trials", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    command = next(line.removeprefix("watch it: ") for line in printed.splitlines() if line.startswith("watch it: "))
    assert command == f"optuna-dashboard sqlite:///{(out / 'study.db').resolve()}"
    best = json.loads((out / "tune.json").read_text())["best"]
    port = free_port()
    exe = Path(sys.executable).with_name("optuna-dashboard")
    server = subprocess.Popen([str(exe), *command.split()[1:], "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                studies = json.loads(urllib.request.urlopen(f"{base}/api/studies", timeout=2).read())
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("optuna-dashboard did not start")
        study_id = next(s["study_id"] for s in studies["study_summaries"] if s["study_name"] == "zenlearn")
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"{base}/dashboard/studies/{study_id}")
            page.get_by_text(f"Best Trial (number={best['trial']})").wait_for(timeout=30_000)
            assert repr(best["value"]) in page.inner_text("body")
            page.goto(f"{base}/dashboard/studies/{study_id}/trials")
            page.get_by_text("3 Trials").wait_for(timeout=30_000)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
