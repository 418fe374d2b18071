"""Many machines on one study: a real PostgreSQL server (throwaway cluster) and two independent
`zenlearn tune` processes, one with the password in its URL, one with PGPASSWORD; the password appears
in no file under either --out and in neither output."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pgcluster import cluster

pytest.importorskip("optuna", reason="pip install -e '.[test]' installs the tune extra")
SECRET = "Sup3r-s3cret-pw"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.needs("postgres")
def test_two_machines_share_a_postgres_study_and_the_password_never_leaks(tmp_path, data_dir):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "ZENLEARN_HEARTBEAT": "1"}
    with cluster(SECRET) as url:
        with_pw = url.replace("tuner@", f"tuner:{SECRET}@")
        base = [sys.executable, "-m", "zenlearn", "tune", "--data", "mnist", "--model", "mlp", "--hidden", "16",
                "--train-subset", "600", "--epochs", "2", "--threads", "1", "--search", "lr=log:1e-3:1e-1",
                "optimizer=sgd,adam", "--trials", "2", "--study", "shared", "--refit"]
        a = subprocess.Popen([*base, "--storage", with_pw, "--out", str(tmp_path / "machine-a")], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        b = subprocess.Popen([*base, "--storage", url, "--out", str(tmp_path / "machine-b")],
                             env={**env, "PGPASSWORD": SECRET}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        logs = [p.communicate(timeout=600)[0] for p in (a, b)]
        assert (a.returncode, b.returncode) == (0, 0), logs
        assert "postgresql://tuner:***@127.0.0.1" in logs[0] and "optuna-dashboard" in logs[0]
        # a third "machine" gets best.yaml without training: --trials 0 rewrites the outputs from the storage
        out_c = tmp_path / "machine-c"
        c = subprocess.run([*base[:-5], "--trials", "0", "--study", "shared", "--storage", with_pw, "--out", str(out_c)],
                           env=env, capture_output=True, text=True, timeout=300, check=False)
        assert c.returncode == 0, c.stdout + c.stderr
        assert (out_c / "best.yaml").is_file()
        with open(out_c / "study.csv") as f:  # written after both machines finished their trials
            rows = list(csv.DictReader(f))
        assert len(rows) == 4 and sum(r["state"] == "complete" for r in rows) == 4, rows
        hosts_dirs = {Path(r["run_dir"]).parents[1].name for r in rows}
        assert hosts_dirs == {"machine-a", "machine-b"}  # each machine's trials in its own --out
        logs.append(c.stdout + c.stderr)
    leaks = [str(p) for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert not leaks and not [log for log in logs if SECRET in log]
