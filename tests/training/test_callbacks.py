"""KeepBest: the weights of the epoch with the best logged value are the ones evaluated, saved and resumed."""

import json

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from zenlearn import TrainConfig, Trainer, train_run
from zenlearn.errors import UsageError
from zenlearn.io.rundir import RunDir
from zenlearn.training.build import check_config
from zenlearn.training.callbacks import Callback, KeepBest


class Scripted(Callback):
    """Logs a fake `score` per epoch and marks the weights with the epoch number."""

    def __init__(self, scores):
        self.scores = scores

    def on_epoch_end(self, epoch, logs):
        logs["score"] = self.scores[epoch]
        with torch.no_grad():
            self.trainer.model.weight.fill_(epoch)


def _fit(keeper, scores, epochs=None, state=None):
    model = nn.Linear(1, 1)
    t = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.0), device="cpu", task="regression",
                callbacks=[Scripted(scores), keeper])
    if state is not None:
        t.load_state_dict(state)
    x = torch.randn(8, 1)
    t.fit((x, x), epochs=epochs or len(scores), batch_size=8, verbose=False)
    return t, model


@pytest.mark.parametrize("mode, kept", [("min", 1), ("max", 3)])
def test_keep_best_loads_the_best_epochs_weights_at_the_end(mode, kept):
    keeper = KeepBest("score", mode=mode)
    t, model = _fit(keeper, [3.0, 1.0, 2.0, 4.0, 1.0])  # a tie (epoch 5's 1.0) does not replace epoch 2
    assert t.epoch == 5 and model.weight.item() == kept and keeper.kept_epoch() == kept + 1
    assert keeper.message() == (f"kept the weights of epoch {kept + 1} (the {'lowest' if mode == 'min' else 'highest'} "
                                f"score, {[3.0, 1.0, 2.0, 4.0, 1.0][kept]:.4g})")


def test_keep_best_ignores_epochs_without_the_column_or_with_nan():
    keeper = KeepBest("score")
    _, model = _fit(keeper, [float("nan"), 2.0, float("nan")])
    assert model.weight.item() == 1.0 and keeper.kept_epoch() == 2
    keeper = KeepBest("missing")
    _, model = _fit(keeper, [1.0, 2.0])
    assert model.weight.item() == 1.0 and keeper.kept_epoch() is None  # nothing logged: the last weights stay


def test_keep_best_state_survives_a_resume():
    scores = [3.0, 1.0, 2.0, 4.0]
    first, _ = _fit(KeepBest("score"), scores, epochs=3)  # epoch 2 is the best so far
    state = first.state_dict()
    keeper = KeepBest("score")
    _, model = _fit(keeper, scores, epochs=4, state=state)
    assert model.weight.item() == 1.0 and keeper.kept_epoch() == 2


def test_train_run_evaluates_and_saves_the_lowest_training_loss(tmp_path, one_thread):
    """lr 2 makes the loss bounce (epoch 2 lowest): the kept run's weights are those of a 2-epoch run."""
    def run(name, **options):
        cfg = TrainConfig(data="sine", model="mlp", hidden=(8,), lr=2.0, optimizer="sgd", val_split=0.0,
                          train_subset=64, batch_size=16, out=str(tmp_path / name), report=False, **options)
        return train_run(cfg, verbose=False)

    kept = run("kept", epochs=4, keep_best="loss")
    rd, rs = RunDir(tmp_path / "kept"), RunDir(tmp_path / "short")
    losses = [float(r.split(",")[1]) for r in rd.metrics.read_text().splitlines()[1:]]
    assert kept["kept_epoch"] == losses.index(min(losses)) + 1 == 2 and len(losses) == 4
    assert json.loads(rd.summary.read_text())["kept_epoch"] == 2
    short = run("short", epochs=2)
    assert short["kept_epoch"] is None and kept["test"] == short["test"]
    wa, wb = load_file(rd.weights), load_file(rs.weights)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_keep_best_and_lr_monitor_names_are_checked():
    with pytest.raises(UsageError, match="keep_best must be a metrics.csv column: loss, accuracy, mae, "):
        check_config(TrainConfig(keep_best="lowest"))
    with pytest.raises(UsageError, match="lr_monitor must be a metrics.csv column"):
        check_config(TrainConfig(schedule="plateau", lr_monitor="val_los"))
    with pytest.raises(UsageError, match="schedule 'cosine' does not take --lr-monitor"):
        check_config(TrainConfig(schedule="cosine", lr_monitor="loss"))
    check_config(TrainConfig(schedule="plateau", lr_monitor="val_accuracy", keep_best="loss"))


@pytest.mark.parametrize("option", ["keep_best", "lr_monitor"])
def test_a_column_this_run_does_not_log_is_refused_before_anything_is_written(tmp_path, option, one_thread):
    out = tmp_path / "run"
    cfg = TrainConfig(data="sine", model="mlp", hidden=(8,), epochs=1, val_split=0.0, train_subset=32,
                      schedule="plateau", out=str(out), **{option: "val_loss"})
    with pytest.raises(UsageError, match=f"--{option.replace('_', '-')} val_loss: this run logs no such column "
                                         r"\(it logs loss, mae, rmse, r2; val_ columns need a validation split"):
        train_run(cfg, verbose=False)
    assert not out.exists()
