"""The Lab race API (serve/lab.py): bad races are a 400 with the CLI's line and start nothing; a race runs as its own process
under --max-jobs, takes lane commands, ends as a comparison; a race whose page is gone is stopped."""

import json
import time

import pytest
from starlette.testclient import TestClient

from zenlearn.serve.app import create_app

ORIGIN = "http://127.0.0.1:8765"
BASE = {"data": "mnist1d", "model": "mlp", "hidden": "16", "epochs": "2", "train_subset": "256", "batch_size": "32",
        "threads": "1"}
LONG = {**BASE, "epochs": "400"}  # runs until stopped
TWO = [{"optimizer": "sgd", "lr": "0.1"}, {"optimizer": "adam"}]


def _wait(pred, seconds=120.0):
    deadline = time.monotonic() + seconds
    while not pred():
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.fixture(params=[60.0])
def lab(tmp_path, monkeypatch, request):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    root = tmp_path / "runs"
    root.mkdir()
    app = create_app(root, token="test-token", max_jobs=1, lab_lanes=3, lab_steps=500, lab_grace=request.param)
    with TestClient(app, base_url=ORIGIN) as client:
        yield client, root


@pytest.mark.parametrize("body, message", [
    ({"config": BASE, "lanes": [{"optimizer": "sgd"}, {"optimizer": "rmsprob"}]},
     "invalid race: lane 2 (optimizer=rmsprob): unknown optimizer 'rmsprob'"),
    ({"config": BASE, "lanes": [{"optimizer": "sgd", "lr": "0"}, {"optimizer": "adam"}]},
     "invalid race: lane 1 (optimizer=sgd lr=0.0): lr must be > 0"),
    ({"config": BASE, "lanes": [{"optimizer": "sgd", "lr": "-1"}, {"optimizer": "adam"}]}, "lr must be > 0"),
    ({"config": BASE, "lanes": [{"optimizer": o} for o in ("sgd", "adam", "momentum", "adagrad")]},
     "a race has 2 to 3 lanes, got 4; remove lanes"),
    ({"config": BASE, "lanes": TWO, "max_steps": "501"}, "max_steps must be at most 500 here (zenlearn serve --lab-steps)"),
    ({"config": {**BASE, "model": "nope"}, "lanes": TWO}, "unknown model 'nope'"),
    ({"config": BASE, "lanes": [{"hidden": "8"}, {"optimizer": "adam"}]}, "lane 1: hidden cannot change within a race"),
    ({"config": BASE, "lanes": "sgd"}, "expected lanes: a list"),
    ({"config": BASE, "lanes": [{}, {"temperature": "2"}]}, "lane 2 (temperature=2.0): --teacher RUN_DIR is required"),
    ({"config": BASE, "lanes": [{}, {"temperature": "2"}], "teacher": "nope"}, "teacher: no run folder 'nope'"),
])
def test_bad_race_is_400_and_starts_nothing(lab, body, message):
    client, root = lab
    r = client.post("/api/lab/race", json=body, headers={"origin": ORIGIN, "x-zenlearn-token": "test-token"})
    assert r.status_code == 400 and message in r.json()["error"], r.json()
    assert list(root.iterdir()) == [] and client.get("/api/runs").json()["runs"] == []


def test_race_runs_takes_commands_and_is_saved_as_a_comparison(lab):
    client, root = lab
    post = lambda url, body: client.post(url, json=body, headers={"origin": ORIGIN, "x-zenlearn-token": "test-token"})
    assert client.get("/lab").status_code == 200
    opts = client.get("/api/lab/options").json()
    assert opts["max_lanes"] == 3 and opts["max_steps"] == 500 and "sgd" in opts["optimizers"]
    r = post("/api/lab/race", {"config": {**LONG, "out": "long"}, "lanes": TWO})
    assert r.status_code == 202 and r.json()["path"] == "long" and "--variant 'optimizer=sgd lr=0.1'" in r.json()["compare_command"]
    r = post("/api/lab/race", {"config": {**BASE, "out": "short"}, "lanes": TWO, "max_steps": "12"})
    assert r.status_code == 202
    runs = {x["path"]: x["state"] for x in client.get("/api/runs").json()["runs"]}
    assert runs["short"] == "queued"  # --max-jobs 1: the second race waits for the first
    _wait(lambda: client.get("/api/lab/race", params={"path": "long"}).json()["race"] is not None
          and (root / "long" / "events.jsonl").is_file() and b'"step"' in (root / "long" / "events.jsonl").read_bytes())
    bad = post("/api/lab/command", {"path": "long", "lane": 0, "action": "lr", "value": 0})
    assert bad.status_code == 400 and bad.json()["error"] == "lr must be > 0 and finite, got 0.0"
    assert post("/api/lab/command", {"path": "long", "lane": 5, "action": "rewind"}).status_code == 400
    assert post("/api/lab/command", {"path": "long", "lane": 0, "action": "lr", "value": "0.02"}).json() == {"id": 1}
    _wait(lambda: b'"change"' in (root / "long" / "events.jsonl").read_bytes())
    assert post("/api/stop", {"path": "long"}).status_code == 200
    _wait(lambda: client.get("/api/lab/race", params={"path": "long"}).json()["state"] == "stopped")
    d = client.get("/api/lab/race", params={"path": "long"}).json()
    assert [r["status"] for r in d["results"]] == ["stopped", "stopped"]
    changes = json.loads((root / "long" / d["results"][0]["run_dir"] / "changes.json").read_text())
    assert changes["changes"][0]["lr"] == 0.02
    _wait(lambda: client.get("/api/lab/race", params={"path": "short"}).json()["state"] == "finished")
    d = client.get("/api/lab/race", params={"path": "short"}).json()
    assert d["race"]["max_steps"] == 12 and [r["epochs_run"] for r in d["results"]] == [2.0, 2.0]  # 8 steps an epoch
    assert post("/api/lab/command", {"path": "short", "lane": 0, "action": "stop"}).status_code == 400  # not running
    rows = {x["path"]: x for x in client.get("/api/runs").json()["runs"]}
    assert rows["short"]["kind"] == "comparison" and rows["short"]["race"]  # the runs page opens it in the Lab


@pytest.mark.parametrize("lab", [1.0], indirect=True)
def test_a_race_whose_page_is_gone_is_stopped(lab):
    client, root = lab
    post = lambda url, body: client.post(url, json=body, headers={"origin": ORIGIN, "x-zenlearn-token": "test-token"})
    assert post("/api/lab/race", {"config": {**LONG, "out": "alone"}, "lanes": TWO}).status_code == 202
    # no page follows it: after the grace period (1 s here) the server stops it, and its lanes are saved
    _wait(lambda: client.get("/api/lab/race", params={"path": "alone"}).json()["state"] not in ("queued", "running"))
    d = client.get("/api/lab/race", params={"path": "alone"}).json()
    assert d["state"] == "stopped", (d, (root / "alone" / "output.log").read_text()[-1000:])
    assert [r["status"] for r in d["results"]] == ["stopped", "stopped"]


def test_a_race_outlives_its_server_and_the_next_one_stops_it(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    root = tmp_path / "runs"
    root.mkdir()
    headers = {"origin": ORIGIN, "x-zenlearn-token": "t"}
    with TestClient(create_app(root, token="t", lab_grace=60), base_url=ORIGIN) as first:
        assert first.post("/api/lab/race", json={"config": {**LONG, "out": "kept"}, "lanes": TWO},
                          headers=headers).status_code == 202
        _wait(lambda: first.get("/api/lab/race", params={"path": "kept"}).json()["race"] is not None)
    # the first server is gone; the race is its own process, and the next server finds it running
    with TestClient(create_app(root, token="t"), base_url=ORIGIN) as second:
        assert second.get("/api/lab/race", params={"path": "kept"}).json()["state"] == "running"
        assert second.post("/api/stop", json={"path": "kept"}, headers=headers).status_code == 200
        _wait(lambda: second.get("/api/lab/race", params={"path": "kept"}).json()["state"] == "stopped")
        assert [r["status"] for r in second.get("/api/lab/race", params={"path": "kept"}).json()["results"]] == \
            ["stopped", "stopped"]
