"""Queued trials on a SQLite storage are claimed once: real processes race to pop the same queue.

Optuna claims a WAITING trial with `SELECT … FOR UPDATE`, which SQLite ignores; without `serialize_sqlite`
two processes could both claim one trial (a compare cell then ran twice and a worker died with "Cannot
tell a COMPLETE trial", seen in a full `reproduce --workers 2`)."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import optuna

from zenlearn.workflows.tune.storage import open_storage

ROOT = Path(__file__).resolve().parents[2]
POP = """
import sys, time
from zenlearn.workflows.tune.storage import open_storage
import optuna
study = optuna.load_study(study_name="q", storage=open_storage(sys.argv[1], heartbeat=False))
while time.time() < float(sys.argv[2]):  # start together
    pass
claimed = []
while (tid := study._pop_waiting_trial_id()) is not None:
    claimed.append(study._storage.get_trial(tid).system_attrs["fixed_params"]["cell"])
print(" ".join(map(str, claimed)))
"""


def test_each_queued_trial_is_claimed_by_exactly_one_process(tmp_path):
    import time

    url = f"sqlite:///{tmp_path / 'q.db'}"
    study = optuna.create_study(study_name="q", storage=open_storage(url, heartbeat=False))
    n = 60
    for i in range(n):
        study.enqueue_trial({"cell": i})
    start = time.time() + 3
    env_path = str(ROOT / "src")
    procs = [subprocess.Popen([sys.executable, "-c", POP, url, str(start)], stdout=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}) for _ in range(3)]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    claims = Counter(int(c) for out in outs for c in out)
    assert sorted(claims) == list(range(n))
    assert max(claims.values()) == 1, {c: k for c, k in claims.items() if k > 1}
    assert sum(1 for out in outs if out) >= 2  # the processes really competed
