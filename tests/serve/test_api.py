"""The JSON API, the event stream and the launch queue, with Starlette's TestClient."""

import argparse
import json
import os
import time

import pytest

from zenlearn.cli.main import main
from zenlearn.cli.options import add_config_flags, config_from_args
from zenlearn.config import TrainConfig, field_names
from zenlearn.errors import UsageError
from zenlearn.io.live import EventLog
from zenlearn.io.rundir import RunDir
from zenlearn.serve.jobs import to_args

TINY = {"data": "mnist1d", "model": "mlp", "hidden": "16", "epochs": "2", "train_subset": "400", "batch_size": "20",
        "report": False}  # 20 steps per epoch


def test_runs_lists_a_finished_run(client):
    runs = client.get("/api/runs").json()["runs"]
    assert [(r["path"], r["kind"], r["state"], r["data"], r["model"], r["optimizer"], r["epochs"]) for r in runs] == [
        ("old", "run", "finished", "mnist1d", "logreg", "adam", 2)]
    assert runs[0]["metric"] == "val_accuracy" and 0 < runs[0]["best"] <= 1 and runs[0]["test"]["metric"] == "accuracy"


def test_interrupted_run_reads_interrupted(client, root):
    rd = RunDir(root / "old")
    rd.write_state("running", pid=2**22 + 12345)  # no such process
    assert client.get("/api/runs").json()["runs"][0]["state"] == "interrupted"
    assert client.get("/api/run", params={"path": "old"}).json()["state"] == "interrupted"


def test_run_details_and_missing_runs(client):
    d = client.get("/api/run", params={"path": "old"}).json()
    assert d["config"]["model"] == "logreg" and "old/metrics.csv" in d["files"] and len(d["metrics"]) == 2
    for bad in ("nope", "../", "/etc", "old/../.."):
        assert client.get("/api/run", params={"path": bad}).status_code == 404


def test_fields_are_trainconfig_fields(client):
    fields = {f["name"]: f for f in client.get("/api/fields").json()["fields"]}
    assert list(fields) == [n for n in field_names(TrainConfig) if n not in ("out", "overwrite")]
    assert "mlp" in fields["model"]["choices"] and fields["epochs"]["default"] == TrainConfig().epochs
    assert fields["report"]["input"] == "checkbox" and fields["lr"]["help"]


def test_to_args_rebuilds_the_config():
    cfg = TrainConfig(data="sine", model="mlp", hidden=(8, 4), lr=0.01, report=False, epochs=3, schedule="cosine",
                      augment="mnist", out="x/y")
    p = argparse.ArgumentParser()
    add_config_flags(p)
    assert config_from_args(p.parse_args(to_args(cfg)[1:-1])) == cfg


@pytest.mark.parametrize("config", [{"model": "nope"}, {"lr": "-1"}, {"epochs": "many"}, {"hidden": "a,b"},
                                    {"optimizer": "sgd", "momentum": "2"}])
def test_bad_form_is_400_with_the_cli_line_and_writes_nothing(client, root, post, capsys, config):
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in config.items()]
    assert main(["train", "--data", "mnist1d", *flags, "--out", str(root / "cli")]) == 2
    line = capsys.readouterr().err.strip().removeprefix("zenlearn: error: ")
    r = post(client, "/api/launch", {"config": {"data": "mnist1d", **config}})
    assert r.status_code == 400 and r.json() == {"error": line}
    assert sorted(p.name for p in root.iterdir()) == ["old"]


@pytest.mark.parametrize("out", ["../x", "a/b", ".hidden", "old"])
def test_launch_stays_in_root_and_never_overwrites(client, root, post, out):
    r = post(client, "/api/launch", {"config": {**TINY, "out": out}})
    assert r.status_code == 400 and "out" in r.json()["error"]
    assert sorted(p.name for p in root.iterdir()) == ["old"]
    r = post(client, "/api/launch", {"config": {**TINY, "overwrite": True, "out": "fresh"}})
    assert r.status_code == 400 and not (root / "fresh").exists()


def _events_file(root, n=5):
    rd = RunDir(root / "old")
    rd.events.unlink(missing_ok=True)
    with EventLog(rd.events) as log:
        log.append("start", epoch=0, step=0, epochs=n, steps=10)
        for e in range(1, n + 1):
            log.append("epoch", epoch=e, loss=1.0 / e)
    rd.write_state("finished")
    return n + 1


def _read_sse(text):
    events, cur = [], {}
    for line in text.splitlines():
        if not line:
            if cur:
                events.append(cur)
            cur = {}
        elif not line.startswith(":"):
            k, _, v = line.partition(":")
            cur[k] = v.strip()
    return events


def test_stream_is_finite_numbered_and_resumes_after_last_event_id(client, root):
    lines = _events_file(root)
    r = client.get("/api/stream", params={"runs": "old", "until_end": "1"})
    assert r.headers["content-type"].startswith("text/event-stream")
    runs = [e for e in _read_sse(r.text) if e.get("event") == "run"]
    assert [int(e["id"]) for e in runs] == list(range(1, lines + 1))
    assert [json.loads(e["data"])["line"] for e in runs] == list(range(1, lines + 1))
    assert _read_sse(r.text)[-1]["event"] == "end"
    for header in ({"last-event-id": "3"}, {}):
        params = {"runs": "old", "until_end": "1", **({} if header else {"after": "3"})}
        again = client.get("/api/stream", params=params, headers=header)
        assert [int(e["id"]) for e in _read_sse(again.text) if e.get("event") == "run"] == list(range(4, lines + 1))


def test_stream_multiplexes_runs_with_one_id_per_run(client, root):
    import shutil

    _events_file(root, 2)
    shutil.copytree(root / "old", root / "twin")
    with EventLog(RunDir(root / "twin").events) as log:
        log.append("epoch", epoch=3, loss=0.1)
    r = client.get("/api/stream", params={"runs": "old,twin", "until_end": "1", "list": "1"})
    events = _read_sse(r.text)
    ids = [e["id"] for e in events if e.get("event") == "run"]
    assert ids[-1] == "3,4" and len(ids) == 7
    table = [json.loads(e["data"]) for e in events if e.get("event") == "runs"]
    assert table and {row["path"] for row in table[0]} == {"old", "twin"}
    assert client.get("/api/stream", params={"runs": "old,../x"}).status_code == 404


def test_compare(client, root):
    import shutil

    shutil.copytree(root / "old", root / "s1")
    cfg = (root / "s1" / "config.yaml").read_text()
    (root / "s1" / "config.yaml").write_text(cfg.replace("seed: 0", "seed: 1"))
    d = client.get("/api/compare", params={"runs": "old,s1"}).json()
    assert d["differs"] == {"seed": [0, 1]} and d["groups"][0]["runs"] == ["old", "s1"]
    assert d["groups"][0]["test"]["accuracy"]["std"] == 0 and len(d["runs"][0]["metrics"]) == 2
    assert client.get("/api/compare", params={"runs": "old"}).status_code == 400


def _wait(pred, seconds=120.0):
    deadline = time.monotonic() + seconds
    while not pred():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_launch_queue_stop_resume(tmp_path, data_dir, monkeypatch, post):
    """The form starts a real run as its own process; a second waits in the queue (--max-jobs 1); Stop
    checkpoints it ("stopped — resume"); Resume finishes it."""
    from starlette.testclient import TestClient

    from zenlearn.serve.app import create_app

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    root = tmp_path / "runs"
    with TestClient(create_app(root, token="test-token", max_jobs=1), base_url="http://127.0.0.1:8765") as client:
        state = lambda p: {r["path"]: r["state"] for r in client.get("/api/runs").json()["runs"]}.get(p)  # noqa: E731
        slow = {"hidden": "2048,2048", "train_subset": "3000"}  # ~2 s per epoch: still running when stopped
        r = post(client, "/api/launch", {"config": {**TINY, **slow, "epochs": "3", "out": "a"}})
        assert r.status_code == 202 and r.json() == {"path": "a"}
        assert post(client, "/api/launch", {"config": {**TINY, "out": "b"}}).status_code == 202
        assert state("b") == "queued" and not (root / "b").exists()
        assert post(client, "/api/launch", {"config": {**TINY, "out": "b"}}).status_code == 400  # already queued
        _wait(lambda: any(json.loads(line)["kind"] == "progress" for line in _lines(root / "a")))
        assert post(client, "/api/stop", {"path": "a"}).json() == {"path": "a", "stopping": True}
        _wait(lambda: state("a") == "stopped")
        assert "checkpoint saved" in client.get("/api/run", params={"path": "a"}).json()["reason"]
        _wait(lambda: state("b") == "finished")  # the queue moved on
        assert post(client, "/api/resume", {"path": "b"}).status_code == 400  # finished: nothing to resume
        assert post(client, "/api/resume", {"path": "a"}).status_code == 202
        _wait(lambda: state("a") == "finished")
        epochs = [json.loads(line)["epoch"] for line in _lines(root / "a") if json.loads(line)["kind"] == "epoch"]
        assert epochs[-1] == 3 and os.path.exists(root / "a" / "model.safetensors")


def _lines(folder):
    p = RunDir(folder).events
    return p.read_text().splitlines() if p.exists() else []


def test_resume_waits_for_the_stopping_process(tmp_path, monkeypatch):
    """Resume clicked while the stopped run's process is still exiting: queued, started once it is gone."""
    import subprocess
    import sys

    from zenlearn.serve.jobs import Queue

    started = []
    monkeypatch.setattr("zenlearn.serve.jobs.launch", lambda args, out: started.append(args) or
                        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"]))
    out = tmp_path / "r"
    out.mkdir()
    q = Queue(max_jobs=2)
    q.submit(out, ["train", "x"])
    RunDir(out).write_state("stopped")  # the run wrote "stopped"; its process has not exited yet
    q.submit(out, ["train", "--resume", str(out)])
    assert len(started) == 1 and q.queued()[0]["out"] == out
    _wait(lambda: q.tick() or len(started) == 2, 30)
    RunDir(out).write_state("running")
    with pytest.raises(UsageError, match="already queued or running"):
        q.submit(out, ["train", "--resume", str(out)])
