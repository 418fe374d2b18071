"""Faults: the server dies while a run trains (the run goes on; a restarted server shows it live), and a launched
run is killed with `kill -9` (the page says "interrupted — resume" within 5 s; Resume ends byte-identical)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx

from zenlearn.io.rundir import RunDir

RUN = {"data": "mnist1d", "model": "mlp", "hidden": "16", "train_subset": "400", "batch_size": "10",
       "report": False}  # 40 steps per epoch


def _wait(pred, seconds=120.0):
    deadline = time.monotonic() + seconds
    while not pred():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _server(root, port):
    p = subprocess.Popen([sys.executable, "-m", "zenlearn", "serve", str(root), "--port", str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    token = None
    while token is None:
        line = p.stdout.readline()
        assert line, "the server exited"
        m = re.search(r"\?token=([\w-]+)", line)
        token = m.group(1) if m else None
    _wait(lambda: _listening(port), 30)
    return p, token


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _state(base, run):
    return {r["path"]: r["state"] for r in httpx.get(f"{base}/api/runs").json()["runs"]}.get(run)


def test_killing_the_server_leaves_the_run_training(tmp_path, data_dir):
    root = tmp_path / "runs"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server, token = _server(root, port)
    try:
        r = httpx.post(f"{base}/api/launch", json={"config": {**RUN, "epochs": "150", "out": "long"}},
                       headers={"origin": base, "x-zenlearn-token": token})
        assert r.status_code == 202, r.text
        _wait(lambda: _state(base, "long") == "running" and RunDir(root / "long").read_metrics())
        server.send_signal(signal.SIGKILL)
        server.wait()
        lines = len(RunDir(root / "long").events.read_text().splitlines())
        _wait(lambda: len(RunDir(root / "long").events.read_text().splitlines()) > lines)  # still training
        server, token = _server(root, port)  # a new server (new token) finds it, live
        assert _state(base, "long") == "running"
        with httpx.stream("GET", f"{base}/api/stream", params={"runs": "long", "until_end": "1"}, timeout=300) as s:
            ids = [int(line[3:]) for line in s.iter_lines() if line.startswith("id:")]
        assert ids == list(range(1, len(ids) + 1)) and len(ids) > lines
        assert _state(base, "long") == "finished"
    finally:
        server.kill()
        server.wait()


def test_kill_9_reads_interrupted_and_resume_is_byte_identical(tmp_path, data_dir, client, root, post, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    state = lambda run: {r["path"]: r for r in client.get("/api/runs").json()["runs"]}.get(run, {})  # noqa: E731
    assert post(client, "/api/launch", {"config": {**RUN, "epochs": "6", "out": "base"}}).status_code == 202
    _wait(lambda: state("base").get("state") == "finished")
    assert post(client, "/api/launch", {"config": {**RUN, "epochs": "6", "out": "killed"}}).status_code == 202
    rd = RunDir(root / "killed")
    _wait(lambda: sum(json.loads(x)["kind"] == "epoch" for x in (rd.events.read_text().splitlines()
                                                                   if rd.events.exists() else [])) >= 2)
    os.kill(rd.read_state()["pid"], signal.SIGKILL)
    killed = time.monotonic()
    _wait(lambda: state("killed").get("state") == "interrupted", 10)
    assert time.monotonic() - killed < 5
    assert post(client, "/api/resume", {"path": "killed"}).status_code == 202
    _wait(lambda: state("killed").get("state") == "finished")
    assert rd.weights.read_bytes() == RunDir(root / "base").weights.read_bytes()
