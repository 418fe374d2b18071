"""Start a zenlearn command as a separate process into a run folder, and stop it gracefully.

The process is the run's own: it gets a new session (killing or restarting whoever launched it, e.g.
`zenlearn serve`, does not stop the run), its output goes to the folder's `output.log`, and its state is
in the folder's `state.json` from the moment it starts, so any process — a restarted server included —
can follow it (`RunDir.read_state`) and stop it (`stop`). Stopping sends SIGTERM, which a training run
answers as it answers Ctrl-C: checkpoint at the end of the batch, write "stopped", exit 143; `--resume`
continues it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from zenlearn.errors import UsageError
from zenlearn.io.live import process_start
from zenlearn.io.rundir import LAUNCHED_INTO, RunDir, make_dir

ZENLEARN = (sys.executable, "-m", "zenlearn")
"""The program `launch` runs by default: this Python's zenlearn command line."""


def launch(args: Sequence[str], out: str | Path, *, program: Sequence[str] = ZENLEARN,
           env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `program ARGS…` (by default `zenlearn ARGS…`) in its own session, writing into run folder `out`.

    The folder is created with the process's `output.log` (appended to: a resumed run keeps the earlier
    output) and a "running" `state.json` naming the new process; the run itself rewrites it from then on.
    The caller should `poll()` the returned process now and then, so that an ended one does not linger.

    Args:
        args: The command's arguments, e.g. `["train", "--data", "sine", "--out", str(out)]`.
        out: The run folder the command writes (created if missing).
        program: The program and its first arguments. Defaults to `ZENLEARN`.
        env: The environment. Defaults to this process's.

    Example:
        >>> p = launch(["-c", "print('hi')"], tmp / "run", program=[sys.executable])
        >>> p.wait(), (tmp / "run" / "output.log").read_text()
        (0, 'hi\\n')
    """
    rd = RunDir(make_dir(out))
    with open(rd.log, "ab") as log:
        proc = subprocess.Popen([*program, *args], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env={**(os.environ if env is None else env), LAUNCHED_INTO: str(rd.path)},
                                start_new_session=True)
    state = rd.read_state()
    if state.get("pid") != proc.pid:  # the run may already have written its own state (same pid: same run)
        rd.write_state("running", command=" ".join(args[:1]), pid=proc.pid, started=process_start(proc.pid))
    return proc


def stop(out: str | Path, *, wait: float = 0.0) -> bool:
    """Ask the run in `out` to stop (SIGTERM: it checkpoints and exits); True if it was running here.

    Args:
        out: The run folder.
        wait: Seconds to wait for its state to leave "running". Defaults to 0 (do not wait).

    Example:
        >>> stop(tmp / "never-ran")
        False
    """
    rd = RunDir(out)
    state = rd.read_state()
    if state["state"] != "running":
        return False
    if state.get("host") != socket.gethostname():
        raise UsageError(f"{out} runs on {state.get('host')}; stop it there")
    try:
        os.kill(int(state["pid"]), signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and rd.read_state()["state"] == "running":
        time.sleep(0.05)
    return True
