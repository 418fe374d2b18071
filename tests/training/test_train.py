import json

import pytest
import torch
from torch import nn

from zenlearn.config import TrainConfig
from zenlearn.errors import TrainingError
from zenlearn.nn.build import model_summary, param_table
from zenlearn.nn.models import SeedCNN
from zenlearn.training.build import load_run
from zenlearn.training.callbacks import EarlyStopping
from zenlearn.training.trainer import Trainer
from zenlearn.workflows.train import evaluate_run, train_run


def tiny(tmp_path, name="run", **kw):
    base = dict(data="mnist", model="mlp", hidden=(32,), epochs=1, train_subset=2000, batch_size=64,
                out=str(tmp_path / name))
    return TrainConfig(**{**base, **kw})


def test_seed_cnn_is_the_survey_architecture():
    m = SeedCNN()
    rows = param_table(m)
    assert [r[1] for r in rows] == ["Conv2d", "Conv2d", "Linear", "Linear"]
    assert [r[2] for r in rows] == [32 * 9 + 32, 64 * 32 * 9 + 64, 1600 * 64 + 64, 64 * 10 + 10]
    text = model_summary(m)
    assert "features.0" in text and "102,464" in text and "total params: 121,930" in text


def test_end_to_end_train_evaluate_predict(tmp_path, data_dir):
    summary = train_run(tiny(tmp_path, model="seed-cnn", epochs=2), verbose=False)
    run = tmp_path / "run"
    for f in ("config.yaml", "data.json", "metrics.csv", "checkpoint.pt", "model.safetensors", "summary.json"):
        assert (run / f).is_file(), f
    on_disk = json.loads((run / "summary.json").read_text())
    for key in ("test", "val", "train_seconds", "samples_per_second", "params", "epochs"):
        assert key in on_disk
    assert on_disk["epochs"] == 2 and on_disk["params"] == 121930
    assert summary["test"]["accuracy"] > 0.85
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds") and len(lines) == 3
    # evaluate reloads the weights and reproduces the test metrics
    again = evaluate_run(run)
    assert again["accuracy"] == pytest.approx(summary["test"]["accuracy"], abs=1e-9)
    # predict: the reloaded model classifies real test images like the trained one
    cfg, spec, trainer = load_run(run)
    from zenlearn.data import load_splits
    s = load_splits("mnist", val_split=0.1)
    probs = trainer.predict(s.test.x[:100].float() / 255)
    assert probs.shape == (100, 10) and torch.allclose(probs.sum(1), torch.ones(100), atol=1e-5)
    assert (probs.argmax(1) == s.test.y[:100]).float().mean() > 0.8


def test_config_yaml_repeats_the_run(tmp_path, data_dir):
    a = train_run(tiny(tmp_path, "a"), verbose=False)
    from zenlearn.config import load_yaml
    cfg = TrainConfig.from_dict(load_yaml(tmp_path / "a" / "config.yaml")).replace(out=str(tmp_path / "b"))
    b = train_run(cfg, verbose=False)
    assert a["test"] == b["test"] and a["val"] == b["val"]  # same seed → identical metrics on CPU
    c = train_run(tiny(tmp_path, "c", seed=1), verbose=False)
    assert c["test"] != a["test"]


def test_trainer_on_tensors_and_history():
    torch.manual_seed(0)
    x = torch.randn(256, 2)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    t = Trainer(model, torch.optim.Adam(model.parameters(), 0.05), device="cpu")
    hist = t.fit((x, y), (x, y), epochs=5, batch_size=32, verbose=False)
    assert len(hist.history["loss"]) == 5 and hist.history["val_accuracy"][-1] > 0.9
    assert t.evaluate((x, y))["accuracy"] > 0.9


def test_last_val_metrics_are_reused_only_while_the_weights_are_unchanged():
    torch.manual_seed(0)
    x, y = torch.randn(128, 2), torch.randint(0, 2, (128,))
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    t = Trainer(model, torch.optim.Adam(model.parameters(), 0.01), device="cpu")
    assert t.last_val_metrics() is None  # nothing validated yet
    t.fit((x, y), (x, y), epochs=2, batch_size=32, verbose=False)
    cached = t.last_val_metrics()
    again = t.evaluate((x, y), batch_size=32, prefix="val_")  # the fit's batches; eval leaves weights alone
    assert cached == pytest.approx(again, rel=1e-12)
    assert cached["val_accuracy"] == t.history.history["val_accuracy"][-1]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    t.fit((x, y), epochs=3, batch_size=32, verbose=False)  # trains on: the cached score is stale
    assert t.last_val_metrics() is None
    t.fit((x, y), (x, y), epochs=4, batch_size=32, verbose=False)
    assert t.last_val_metrics() is not None
    model.load_state_dict(state)  # e.g. a best-weights restore
    assert t.last_val_metrics() is None


def test_nan_loss_stops_with_a_clear_message():
    model = nn.Linear(2, 2)
    t = Trainer(model, torch.optim.SGD(model.parameters(), lr=1.0), device="cpu")
    x = torch.full((64, 2), float("nan"))
    with pytest.raises(TrainingError, match="loss became NaN/Inf in epoch 1; lower --lr"):
        t.fit((x, torch.zeros(64, dtype=torch.long)), epochs=1, batch_size=8, verbose=False)


def test_early_stopping_restores_best_weights():
    model = nn.Linear(1, 1)
    t = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.0), device="cpu",
                task="regression", callbacks=[EarlyStopping("loss", patience=2, min_delta=1e-4)])
    x = torch.randn(16, 1)
    t.fit((x, x), epochs=10, batch_size=16, verbose=False)
    assert t.epoch == 3  # lr 0: no improvement after the first epoch → stop after patience 2


def test_early_stopping_restores_the_best_epoch():
    from zenlearn.training.callbacks import Callback

    class Scripted(Callback):  # makes epoch 1 the best by a fake metric and marks weights per epoch
        def on_epoch_end(self, epoch, logs):
            logs["score"] = [3.0, 1.0, 2.0, 2.5, 2.7][epoch]
            with torch.no_grad():
                self.trainer.model.weight.fill_(epoch)

    model = nn.Linear(1, 1)
    es = EarlyStopping("score", patience=2)
    t = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.0), device="cpu", task="regression",
                callbacks=[Scripted(), es])
    x = torch.randn(8, 1)
    t.fit((x, x), epochs=10, batch_size=8, verbose=False)
    assert t.epoch == 4 and es.best_epoch == 1 and model.weight.item() == 1.0


def test_regression_task_reports_mae():
    model = nn.Linear(3, 1)
    t = Trainer(model, torch.optim.Adam(model.parameters(), 0.1), task="regression", device="cpu")
    x = torch.randn(128, 3)
    y = x.sum(1, keepdim=True)
    t.fit((x, y), epochs=20, batch_size=32, verbose=False)
    m = t.evaluate((x, y))
    assert set(m) == {"loss", "mae", "rmse", "r2"} and m["mae"] < 0.3 and m["r2"] > 0.95
