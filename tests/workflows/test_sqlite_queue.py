"""Queued trials on a SQLite storage are claimed once: real processes race to pop the same queue.

Optuna claims a WAITING trial with `SELECT … FOR UPDATE`, which SQLite ignores; without `serialize_sqlite`
two processes could both claim one trial (a compare cell then ran twice and a worker died with "Cannot
tell a COMPLETE trial", seen in a full `reproduce --workers 2`)."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import optuna

from zenlearn.workflows.parallel.storage import open_storage

ROOT = Path(__file__).resolve().parents[2]
POP = """
import pathlib, sys, time, warnings
from zenlearn.workflows.parallel.storage import open_storage
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")  # a queued cell lies outside the range [-1, -0.5] and warns; it is what we read
study = optuna.load_study(study_name="q", storage=open_storage(sys.argv[1], heartbeat=False))
barrier, racers = pathlib.Path(sys.argv[2]), int(sys.argv[3])
(barrier / str(time.monotonic_ns())).touch()
deadline = time.monotonic() + 60
while len(list(barrier.iterdir())) < racers and time.monotonic() < deadline:  # start together: a barrier
    pass
claimed = []
while (cell := study.ask().suggest_float("cell", -1.0, -0.5)) >= 0:  # negative: nothing queued, a fresh trial
    claimed.append(int(cell))
print(" ".join(map(str, claimed)))
"""

def test_each_queued_trial_is_claimed_by_exactly_one_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    study = optuna.create_study(study_name="q", storage=open_storage(url, heartbeat=False))
    n = 60
    for i in range(n):
        study.enqueue_trial({"cell": i})
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env_path = str(ROOT / "src")
    procs = [subprocess.Popen([sys.executable, "-c", POP, url, str(barrier), "3"], stdout=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}) for _ in range(3)]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    claims = Counter(int(c) for out in outs for c in out)
    assert sorted(claims) == list(range(n))
    assert max(claims.values()) == 1, {c: k for c, k in claims.items() if k > 1}
    assert len(list(barrier.iterdir())) == 3  # all three were waiting at the barrier before any claimed
