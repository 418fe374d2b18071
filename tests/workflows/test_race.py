"""The lab race: identical lanes give identical curves, a race equals `zenlearn compare` on the same settings,
LR changes and rewinds from control.json, decision boundaries on 2-D data, the step limit, SIGTERM, bad input."""

import base64
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from zenlearn.cli.main import main
from zenlearn.config import TrainConfig
from zenlearn.errors import UsageError
from zenlearn.workflows.race import RaceSpec, run_race, send_command

SMALL = {"data": "mnist1d", "model": "mlp", "hidden": (16,), "epochs": 2, "train_subset": 256, "batch_size": 32, "report": False}


def events(out):
    return [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]


def curve(evs, lane):
    return [(e["step"], e["loss"], e["accuracy"]) for e in evs if e["kind"] == "step" and e["lane"] == lane]


@pytest.fixture
def spiral(tmp_path):
    """A 2-D, 2-class spiral as a CSV (the table reader turns it into a 2-feature dataset)."""
    rng, rows = np.random.default_rng(0), []
    t = np.linspace(0.5, 3 * np.pi, 150)
    for c in range(2):
        r = t / (3 * np.pi)
        xs, ys = r * np.cos(t + np.pi * c), r * np.sin(t + np.pi * c)
        rows += [(a + rng.normal(0, 0.03), b + rng.normal(0, 0.03), c) for a, b in zip(xs, ys)]
    path = tmp_path / "spiral.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([("x1", "x2", "label"), *rows])
    return f"table:{path}"


def test_identical_lanes_identical_curves_and_the_race_equals_compare(tmp_path, one_thread):
    lanes = [{"optimizer": "sgd", "lr": 0.1}, {"optimizer": "sgd", "lr": 0.1}, {"optimizer": "adam"}]
    # dropout draws from torch's global generator between the lanes' steps: each lane keeps its own state
    res = run_race(RaceSpec(TrainConfig(**SMALL, dropout=0.3), lanes), tmp_path / "race", verbose=False)
    evs = events(tmp_path / "race")
    assert curve(evs, 0) == curve(evs, 1) and len(curve(evs, 0)) >= 8  # point for point
    assert curve(evs, 0) != curve(evs, 2)
    runs = [tmp_path / "race" / r["run_dir"] for r in res.rows]
    assert (runs[0] / "model.safetensors").read_bytes() == (runs[1] / "model.safetensors").read_bytes()
    assert [r["variant"] for r in res.rows] == ["optimizer=sgd, lr=0.1", "optimizer=sgd, lr=0.1 #2",
                                                "optimizer=adam"]
    manifest = json.loads((tmp_path / "race" / "race.json").read_text())
    assert manifest["steps_per_epoch"] == 8 and not manifest["boundary"]  # 256 training rows / 32
    # the link: the command the page shows trains the same lanes one after another, to the same test metrics
    cmd = manifest["compare_command"].replace(str(tmp_path / "race"), str(tmp_path / "cmp"))
    assert cmd.startswith("zenlearn compare ") and cmd.count("--variant") == 3
    import shlex

    assert main([*shlex.split(cmd)[1:], "--threads", "1", "--quiet"]) == 0
    with open(tmp_path / "cmp" / "results.csv", newline="") as f:
        cmp_rows = list(csv.DictReader(f))
    with open(tmp_path / "race" / "results.csv", newline="") as f:
        race_rows = list(csv.DictReader(f))
    for a, b in zip(race_rows, cmp_rows, strict=True):
        assert {k: v for k, v in a.items() if k.startswith("test_")} == {k: v for k, v in b.items() if k.startswith("test_")}
    assert json.loads((tmp_path / "race" / "compare.json").read_text())["vary"] == {
        "optimizer": ["sgd", "sgd", "adam"], "lr": [0.1, 0.1, None]}
    assert main(["report", str(tmp_path / "race")]) == 0 and (tmp_path / "race" / "report.html").is_file()


def _when(out, test, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (out / "events.jsonl").is_file() and test(events(out)):
            return True
        time.sleep(0.02)
    return False


def test_lr_change_rewind_and_stop_from_control_json(tmp_path, spiral, one_thread):
    out = tmp_path / "race"
    spec = RaceSpec(TrainConfig(data=spiral, model="mlp", hidden=(8, 8), epochs=200, batch_size=16, report=False),
                    [{"activation": "relu"}, {"activation": "sigmoid"}], max_steps=3000)
    sent = []

    def page():  # what the page does, from another thread while the race trains here
        if _when(out, lambda evs: any(e["kind"] == "step" and e["step"] >= 30 for e in evs)):
            sent.append(send_command(out, {"lane": 0, "action": "lr", "value": 0.05}, lanes=2))
            sent.append(send_command(out, {"lane": 1, "action": "rewind"}, lanes=2))
        if _when(out, lambda evs: sum(e["kind"] == "change" for e in evs) == 2):
            sent.append(send_command(out, {"lane": 0, "action": "stop"}, lanes=2))
            sent.append(send_command(out, {"lane": 1, "action": "stop"}, lanes=2))

    helper = threading.Thread(target=page)
    helper.start()
    res = run_race(spec, out, verbose=False)
    helper.join()
    assert sent == [1, 2, 3, 4]
    evs = events(out)
    frames = [e for e in evs if e["kind"] == "boundary" and e["lane"] == 1]
    start, rewound = frames[0], next(e for e in frames if e["reason"] == "rewind")
    assert start["reason"] == "start" and rewound["step"] > start["step"]
    assert base64.b64decode(rewound["png"]) == base64.b64decode(start["png"])  # the initial boundary, byte for byte
    assert base64.b64decode(start["png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(e["png"] != start["png"] for e in frames)  # it moved before the rewind, or after it
    lane0 = tmp_path / "race" / res.rows[0]["run_dir"]
    changes = json.loads((lane0 / "changes.json").read_text())
    change = changes["changes"][0]
    assert change["action"] == "lr" and change["lr"] == 0.05 and change["was"] == 0.001
    assert changes["stopped"].startswith("stopped by the page at step")
    after = [e["lr"] for e in evs if e["kind"] == "step" and e["lane"] == 0 and e["step"] > change["step"]]
    assert after and set(after) == {0.05}
    with open(lane0 / "metrics.csv", newline="") as f:
        lrs = [float(r["lr"]) for r in csv.DictReader(f)]
    assert lrs[-1] == 0.05 and lrs[0] == 0.001  # the epoch of the change shows the new LR
    assert [r["status"] for r in res.rows] == ["stopped", "stopped"]
    assert (lane0 / "boundary.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((lane0 / "summary.json").read_text())
    assert summary["epochs"] < 200 and summary["test"]["accuracy"] > 0


def test_step_limit_stops_each_lane(tmp_path, one_thread):
    res = run_race(RaceSpec(TrainConfig(**SMALL), [{"optimizer": "sgd"}, {"optimizer": "adam"}], max_steps=5),
                   tmp_path / "race", verbose=False)
    for r in res.rows:
        changes = json.loads((tmp_path / "race" / r["run_dir"] / "changes.json").read_text())
        assert changes["stopped"] == "stopped by the step limit (5) at step 5" and r["status"] == "stopped"
        assert r["epochs_run"] == 1


@pytest.mark.parametrize("lanes, message", [
    ([{"optimizer": "sgd"}], "a race has 2 to 6 lanes, got 1; add a lane"),
    ([{"optimizer": "sgd"}] * 7, "a race has 2 to 6 lanes, got 7; remove lanes"),
    ([{"optimizer": "sgd"}, {"optimizer": "rmsprob"}], "lane 2 (optimizer=rmsprob): unknown optimizer 'rmsprob'"),
    ([{"optimizer": "sgd", "lr": 0.0}, {"optimizer": "adam"}], "lane 1 (optimizer=sgd lr=0.0): lr must be > 0"),
    ([{"hidden": (8,)}, {"optimizer": "adam"}], "lane 1: hidden cannot change within a race"),
])
def test_bad_races_write_nothing(tmp_path, lanes, message):
    with pytest.raises(UsageError, match="^invalid race: " + message.replace("(", r"\(").replace(")", r"\)")
                       if "lane " in message else message):
        run_race(RaceSpec(TrainConfig(**SMALL), lanes), tmp_path / "race", verbose=False)
    assert not (tmp_path / "race").exists()


def test_augmentation_lane_on_data_that_is_not_images_writes_nothing(tmp_path, spiral, capsys):
    args = ["race", "--data", spiral, "--model", "mlp", "--hidden", "8", "--epochs", "1", "--no-report",
            "--lane", "base", "--lane", "augment=mnist", "--out", str(tmp_path / "race")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("zenlearn: error: invalid race: lane 2 (augment=mnist): --augment works "
                                                         "on images (C, H, W)"), err
    assert not (tmp_path / "race").exists()


def test_sigterm_stops_the_race_and_saves_the_comparison(tmp_path):
    out = tmp_path / "race"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-m", "zenlearn", "race", "--data", "mnist1d", "--model", "mlp", "--hidden",
                          "16", "--epochs", "500", "--train-subset", "256", "--no-report", "--threads", "1",
                          "--lane", "optimizer=sgd", "--lane", "optimizer=adam", "--out", str(out), "--quiet"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _when(out, lambda evs: sum(e["kind"] == "epoch" for e in evs) >= 2, timeout=120)
        p.send_signal(signal.SIGTERM)
        output = p.communicate(timeout=120)[0]
    finally:
        p.kill()
    assert p.returncode == 143, output
    assert "race stopped by SIGTERM; its lanes are saved as a comparison" in output
    assert json.loads((out / "state.json").read_text())["state"] == "stopped"
    with open(out / "results.csv", newline="") as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["stopped", "stopped"]


def test_distillation_lanes_learn_from_the_race_teacher(tmp_path, one_thread):
    from zenlearn import train_run

    teacher = tmp_path / "teacher"
    train_run(TrainConfig(**{**SMALL, "hidden": (64,), "epochs": 3, "out": str(teacher)}), verbose=False)
    lanes = ["base", "temperature=2", "temperature=8 alpha=0.5"]
    spec = RaceSpec.from_texts(TrainConfig(**SMALL), lanes, teacher=str(teacher))
    assert spec.compare_command("x") is None and "--teacher" in spec.race_args("x")
    res = run_race(spec, tmp_path / "race", verbose=False)
    assert [r["status"] for r in res.rows] == ["ok"] * 3
    assert [r["variant"] for r in res.rows] == ["base", "temperature=2.0", "temperature=8.0, alpha=0.5"]
    assert [r["temperature"] for r in res.rows] == ["none", "2.0", "8.0"]
    evs = events(tmp_path / "race")
    assert len({tuple(curve(evs, i)) for i in range(3)}) == 3  # the teacher changes what the students learn
    # the labels-only lane is the plain run: the same test metrics as training it alone
    alone = train_run(TrainConfig(**{**SMALL, "out": str(tmp_path / "alone")}), verbose=False)
    assert res.rows[0]["test_accuracy"] == alone["test"]["accuracy"]


@pytest.mark.parametrize("lanes, teacher, message", [
    (["base", "temperature=2"], None, "lane 2 (temperature=2.0): --teacher RUN_DIR is required"),
    (["base", "temperature=0"], "{t}", "lane 2 (temperature=0.0): temperature must be > 0"),
    (["base", "temperature=2"], "{t}/nope", "--teacher: RUN_DIR"),
])
def test_bad_distillation_lanes(tmp_path, lanes, teacher, message):
    from zenlearn.cli.main import main as cli

    (tmp_path / "t").mkdir()
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RaceSpec.from_texts(TrainConfig(**SMALL), lanes, teacher=teacher and teacher.format(t=tmp_path / "t")).check()
    assert cli(["race", "--data", "mnist1d", *[a for lane in lanes for a in ("--lane", lane)], "--out",
                str(tmp_path / "race")] + (["--teacher", teacher.format(t=tmp_path / "t")] if teacher else [])) == 2
    assert not (tmp_path / "race").exists()


def test_augmentation_lanes_on_images(tmp_path, data_dir, one_thread):
    base = TrainConfig(data="mnist", model="mlp", hidden=(16,), epochs=1, train_subset=256, batch_size=32,
                       eval_batch_size=2000, report=False)
    res = run_race(RaceSpec(base, [{}, {"augment": "mnist"}, {"augment": "rotation_range=30"}]), tmp_path / "race",
                   verbose=False)
    assert [r["status"] for r in res.rows] == ["ok"] * 3 and res.rows[1]["augment"] == "mnist"
    evs = events(tmp_path / "race")
    assert curve(evs, 0)[0] != curve(evs, 1)[0]  # the first batch already differs: it was augmented
