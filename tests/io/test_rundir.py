"""RunDir (zenlearn.io.rundir): the one place that names a run folder's files, checks `--out`, and reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zenlearn.errors import UsageError
from zenlearn.io import rundir
from zenlearn.io.rundir import RUN_FILES, RunDir


def test_every_file_name_is_a_constant_and_a_property():
    rd = RunDir("r")
    for prop in ("config", "data", "metrics", "checkpoint", "weights", "summary", "report", "state", "events"):
        path = getattr(rd, prop)
        assert path.parent.name == "r" and path.name == getattr(rundir, prop.upper() if prop != "weights"
                                                                 else "WEIGHTS")


def test_check_refuses_a_file_or_a_folder_holding_files_and_creates_nothing(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        RunDir(f).check(overwrite=False)
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("keep")
    with pytest.raises(UsageError, match="pass --overwrite to replace them, --resume"):
        RunDir(full).create(overwrite=False)
    assert (full / "keep.txt").read_text() == "keep"
    new = RunDir(tmp_path / "a" / "b").check(overwrite=False)
    assert not new.path.exists()  # check writes nothing; create makes the folder
    assert RunDir(tmp_path / "a" / "b").create(overwrite=False).path.is_dir()


def test_clear_results_removes_only_an_earlier_runs_files(tmp_path):
    rd = RunDir(tmp_path).create(overwrite=True)
    for name in (*RUN_FILES, "config.yaml", "notes.txt"):
        (tmp_path / name).write_text("old")
    rd.clear_results()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "notes.txt"]


def test_readers_of_an_unfinished_and_a_corrupt_folder(tmp_path):
    rd = RunDir(tmp_path)
    assert rd.read_summary() is None and rd.read_metrics() == [] and rd.read_state()["state"] == "unknown"
    with pytest.raises(UsageError, match="is not a folder"):
        RunDir(tmp_path / "nope").check_finished()
    with pytest.raises(UsageError, match="has no config.yaml; is it a finished zenlearn run folder"):
        rd.check_finished()
    rd.data.write_text("{not json")
    with pytest.raises(UsageError, match="data.json is corrupt"):
        rd.read_data_spec()
    rd.metrics.write_text("epoch,loss\n1,0.5\n2,0.25\n")
    rd.summary.write_text(json.dumps({"epochs": 2}))
    assert rd.read_metrics() == [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}]
    assert rd.read_summary().epochs == 2 and rd.read_state()["state"] == "finished"
    rd.summary.write_text("{broken")
    with pytest.raises(UsageError, match="summary.json is not readable JSON"):
        rd.read_summary()


def test_run_summary_round_trips_a_real_summary_and_keeps_unknown_keys(tmp_path):
    """summary.json → RunSummary → summary.json loses nothing: the fields, a dataset's own fields and keys
    from a newer version, in the same order; the optional blocks are written only when set."""
    from zenlearn.io.summary import RunSummary
    d = {"test": {"loss": 0.5, "accuracy": 0.75}, "val": None, "train_seconds": 1.5, "wall_seconds": 2.0,
         "samples_per_second": 10.0, "params": 7, "world_size": 1, "epochs": 2, "epochs_requested": 3,
         "stopped_early": True, "best_epoch": 1, "kept_epoch": None, "data": {"name": "mnist1d", "train": 4}, "model": "mlp",
         "device": "cpu", "precision": "fp32", "seed": 0, "environment": {"torch": "2"},
         "skipped_files": ["a.jpg"], "from_a_newer_version": {"x": 1}, "timings": {"fit": 1.0}}
    rd = RunDir(tmp_path)
    rd.summary.write_text(json.dumps(d))
    s = rd.read_summary()
    assert (s.test["accuracy"], s.epochs, s.stopped_early, s.data["name"]) == (0.75, 2, True, "mnist1d")
    assert s.metric("test", "accuracy") == 0.75 and s.metric("val", "accuracy") is None
    assert s.extra == {"skipped_files": ["a.jpg"], "from_a_newer_version": {"x": 1}} and s.forecast is None
    rd.write_summary(s)
    assert list(json.loads(rd.summary.read_text()).items()) == list(d.items())
    s.forecast = {"model": {"mase": 0.5}}
    assert json.loads(RunSummary.from_dict(s.to_dict()).to_dict() and json.dumps(s.to_dict()))["forecast"] == s.forecast


def test_state_of_a_dead_process_reads_interrupted(tmp_path):
    rd = RunDir(tmp_path)
    rd.write_state("running")
    assert rd.read_state()["state"] == "running"  # this very process
    st = json.loads(rd.state.read_text())
    rd.state.write_text(json.dumps({**st, "pid": 2**22 + 7}))  # no such process
    assert rd.read_state()["state"] == "interrupted"
    rd.state.write_text(json.dumps({**st, "host": "elsewhere"}))  # another host: only the heartbeat tells
    assert rd.read_state(now=st["heartbeat"] + 1)["state"] == "running"
    assert rd.read_state(now=st["heartbeat"] + 3 * st["heartbeat_every"])["state"] == "interrupted"
    rd.write_state("failed", reason="NaN loss")
    failed = rd.read_state()
    assert (failed["state"], failed["reason"]) == ("failed", "NaN loss")


def test_a_run_folder_from_a_newer_version_still_loads(tmp_path):
    """data.json keys this version does not know are ignored (a newer run folder), not called corrupt."""
    import shutil

    from zenlearn.training.build import load_run

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "run-v0.1-logreg-mnist1d"
    run = tmp_path / "run"
    shutil.copytree(fixture, run)
    spec = json.loads((run / "data.json").read_text())
    (run / "data.json").write_text(json.dumps({**spec, "a_key_from_the_future": [1, 2]}))
    _, loaded, _ = load_run(run)
    assert loaded.input_shape == tuple(spec["input_shape"])
