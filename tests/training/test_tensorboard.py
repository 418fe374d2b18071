"""--tensorboard: scalars and hyper-parameters in RUN_DIR/tb/, read back with TensorBoard's own reader."""

import csv

import pytest

pytest.importorskip("tensorboard", reason="pip install -e '.[test]' installs tensorboard")


def test_tensorboard_events_read_back(mlp_run):
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    mux = EventMultiplexer().AddRunsFromDirectory(str(mlp_run / "tb"))
    mux.Reload()
    scalars = {}
    tags_seen = set()
    for run in mux.Runs():
        acc = mux.GetAccumulator(run)
        for tag in acc.Tags()["scalars"]:
            tags_seen.add(tag)
            scalars[tag] = [(e.step, e.value) for e in acc.Scalars(tag)]
    assert {"train/loss", "train/accuracy", "val/loss", "val/accuracy", "lr"} <= tags_seen
    rows = list(csv.DictReader(open(mlp_run / "metrics.csv")))
    for tag, col in (("train/loss", "loss"), ("val/accuracy", "val_accuracy"), ("lr", "lr")):
        assert [s for s, _ in scalars[tag]] == [int(r["epoch"]) for r in rows]
        assert [v for _, v in scalars[tag]] == pytest.approx([float(r[col]) for r in rows], rel=1e-6)
    # Hyper-parameters (HPARAMS tab): the config with the final test/val metrics.
    from tensorboard.plugins.hparams import plugin_data_pb2

    hp = {}
    for run in mux.Runs():
        for raw in mux.PluginRunToTagToContent("hparams").get(run, {}).values():
            data = plugin_data_pb2.HParamsPluginData.FromString(raw)
            if data.HasField("session_start_info"):
                hp.update(data.session_start_info.hparams)
    assert hp, "no hparams summary written"
    assert hp["model"].string_value == "mlp" and hp["lr"].number_value == pytest.approx(1e-3)
    assert hp["hidden"].string_value == "32"
    assert "hparam/test_accuracy" in tags_seen


def test_tensorboard_missing_package_is_usage_error(monkeypatch):
    import builtins

    from zenlearn.errors import UsageError
    from zenlearn.training.tensorboard import require_tensorboard

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(UsageError, match=r"pip install 'zenlearn\[tensorboard\]'"):
        require_tensorboard()
