"""LR schedules: each one's LR sequence against its formula and against torch's scheduler where one exists."""

import math

import pytest
import torch
from torch import nn

from zenlearn.config import TrainConfig
from zenlearn.errors import UsageError
from zenlearn.optim.schedules import SCHEDULES, LRSchedule
from zenlearn.training.build import build_schedule, check_config

LR, SPE, EPOCHS = 0.1, 4, 6
T = SPE * EPOCHS


def sgd(lr=LR):
    return torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=lr)


def sequence(sched, n=T):
    out = []
    for _ in range(n):
        out.append(sched.optimizer.param_groups[0]["lr"])
        sched.step()
    return out


def torch_sequence(make, n=T, per_epoch=False):
    opt = sgd()
    s = make(opt)
    out = []
    for t in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if not per_epoch or (t + 1) % SPE == 0:
            s.step()
    return out


# name -> (LRSchedule kwargs, formula of the LR at step t, torch reference or None)
CASES = {
    "constant": ({}, lambda t: LR, None),
    "step": (dict(step_size=2, gamma=0.5), lambda t: LR * 0.5 ** ((t // SPE) // 2),
             (lambda o: torch.optim.lr_scheduler.StepLR(o, 2, 0.5), True)),
    "multistep": (dict(milestones=(1, 4), gamma=0.1), lambda t: LR * 0.1 ** ((t // SPE >= 1) + (t // SPE >= 4)),
                  (lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [1, 4], 0.1), True)),
    "exponential": (dict(gamma=0.9), lambda t: LR * 0.9 ** (t // SPE),
                    (lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9), True)),
    "cosine": (dict(lr_min=0.01), lambda t: 0.01 + (LR - 0.01) * 0.5 * (1 + math.cos(math.pi * t / T)),
               (lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T, eta_min=0.01), False)),
    "one-cycle": ({}, None, (lambda o: torch.optim.lr_scheduler.OneCycleLR(o, LR, total_steps=T,
                                                                           cycle_momentum=False), False)),
    "plateau": ({}, lambda t: LR, None),  # without epoch_end calls nothing changes; see the plateau test
}


def test_cases_cover_the_registry():
    assert set(CASES) == set(SCHEDULES.names())


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_sequence_matches_formula_and_torch(name):
    kwargs, formula, ref = CASES[name]
    got = sequence(LRSchedule(sgd(), name, steps_per_epoch=SPE, epochs=EPOCHS, **kwargs))
    if formula is not None:
        assert got == pytest.approx([formula(t) for t in range(T)], rel=1e-12, abs=1e-15)
    if ref is not None:
        make, per_epoch = ref
        assert got == pytest.approx(torch_sequence(make, per_epoch=per_epoch), rel=1e-9, abs=1e-15)


def test_one_cycle_shape():
    got = sequence(LRSchedule(sgd(), "one-cycle", steps_per_epoch=SPE, epochs=EPOCHS))
    peak = max(range(T), key=got.__getitem__)
    assert got[0] == pytest.approx(LR / 25) and got[peak] == pytest.approx(LR, rel=0.01)
    assert peak == int(0.3 * T - 1) and got[-1] == pytest.approx(LR / 25e4)  # up 30% of steps, then down


@pytest.mark.parametrize("name", ["constant", "cosine", "step"])
def test_linear_warmup_in_front(name):
    w = 6  # 1.5 epochs of 4 steps
    sched = LRSchedule(sgd(), name, steps_per_epoch=SPE, epochs=EPOCHS, warmup_epochs=1.5,
                       **({"step_size": 1, "gamma": 0.5} if name == "step" else {}))
    got = sequence(sched)
    assert got[:w] == pytest.approx([LR * (t + 1) / w for t in range(w)])  # linear up to the peak
    rest = T - w
    after = {"constant": lambda u: LR, "cosine": lambda u: LR * 0.5 * (1 + math.cos(math.pi * u / rest)),
             "step": lambda u: LR * 0.5 ** (u // SPE)}[name]
    assert got[w:] == pytest.approx([after(u) for u in range(rest)])  # then the schedule from its start
    # torch's LinearLR gives the same ramp
    ramp = torch_sequence(lambda o: torch.optim.lr_scheduler.LinearLR(o, 1 / w, 1.0, total_iters=w - 1), n=w)
    assert got[:w] == pytest.approx(ramp)


def test_plateau_matches_torch_reduce_lr_on_plateau():
    losses = [1.0, 0.9, 0.95, 0.91, 0.92, 0.85, 0.86, 0.87, 0.88, 0.9]
    opt = sgd()
    sched = LRSchedule(opt, "plateau", steps_per_epoch=SPE, epochs=len(losses), patience=1, gamma=0.5,
                       lr_min=0.02)
    ref_opt = sgd()
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(ref_opt, factor=0.5, patience=1, min_lr=0.02)
    got, want = [], []
    for loss in losses:
        for _ in range(SPE):
            sched.step()
        sched.epoch_end({"loss": 99.0, "val_loss": loss})  # val_loss is the one watched
        ref.step(loss)
        got.append(opt.param_groups[0]["lr"])
        want.append(ref_opt.param_groups[0]["lr"])
    assert got == pytest.approx(want) and min(got) == pytest.approx(0.02) and got[0] == LR


@pytest.mark.parametrize("monitor, mode, logged", [("loss", "min", [1.0, 0.9, 0.95, 0.91, 0.92, 0.85, 0.86, 0.87]),
                                                    ("val_accuracy", "max", [0.5, 0.6, 0.55, 0.6, 0.58, 0.7, 0.7, 0.69])])
def test_plateau_watches_its_monitor_in_its_direction_as_torch_does(monitor, mode, logged):
    """--lr-monitor loss watches the training loss even beside a val_loss (Fawaz et al.'s recipe); a metric that is
    better higher (val_accuracy) is watched as torch's mode="max"."""
    opt, ref_opt = sgd(), sgd()
    sched = LRSchedule(opt, "plateau", steps_per_epoch=SPE, epochs=len(logged), patience=1, gamma=0.5, lr_min=0.01,
                       monitor=monitor, mode=mode)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(ref_opt, mode=mode, factor=0.5, patience=1, min_lr=0.01)
    got, want = [], []
    for value in logged:
        sched.epoch_end({"loss": 99.0, "val_loss": 99.0, monitor: value})  # the others never improve
        ref.step(value)
        got.append(opt.param_groups[0]["lr"])
        want.append(ref_opt.param_groups[0]["lr"])
    assert got == pytest.approx(want) and got[-1] < LR


def test_build_schedule_watches_lr_monitor_in_the_metrics_direction():
    model = torch.nn.Linear(2, 1)
    sched = build_schedule(TrainConfig(schedule="plateau", lr_monitor="val_accuracy", lr_patience=0),
                           torch.optim.SGD(model.parameters(), lr=LR), steps_per_epoch=SPE)
    sched.epoch_end({"val_accuracy": 0.5})
    sched.epoch_end({"val_accuracy": 0.6})  # higher is better: no reduction
    assert sched.monitor == "val_accuracy" and sched.get_last_lr() == [LR]
    sched.epoch_end({"val_accuracy": 0.4})
    assert sched.get_last_lr() == [pytest.approx(LR * 0.1)]


def test_state_dict_resumes_the_sequence():
    a = LRSchedule(sgd(), "plateau", steps_per_epoch=SPE, epochs=EPOCHS, warmup_epochs=1, patience=0, gamma=0.5)
    sequence(a, 5)
    a.epoch_end({"loss": 1.0})
    a.epoch_end({"loss": 2.0})
    b = LRSchedule(sgd(), "plateau", steps_per_epoch=SPE, epochs=EPOCHS, warmup_epochs=1, patience=0, gamma=0.5)
    b.load_state_dict(a.state_dict())
    assert sequence(b, 6) == sequence(a, 6)
    assert b.scales == [0.5]


def test_config_options_are_checked_against_the_schedule():
    with pytest.raises(UsageError) as e:
        check_config(TrainConfig(schedule="cosine", lr_gamma=0.5))
    assert ("schedule 'cosine' does not take --lr-gamma; it takes: --lr-min; drop the option or pick another "
            "--schedule") in str(e.value)
    with pytest.raises(UsageError, match="warmup_epochs must be in"):
        check_config(TrainConfig(epochs=2, warmup_epochs=2))
    with pytest.raises(UsageError, match="lr_milestones must be increasing epochs"):
        check_config(TrainConfig(schedule="multistep", lr_milestones=(5, 3)))
    with pytest.raises(UsageError, match="unknown schedule 'cosin'; did you mean 'cosine'\\? choose one of: constant"):
        check_config(TrainConfig(schedule="cosin"))
    check_config(TrainConfig(schedule="reduce-on-plateau", lr_patience=3))  # an alias


def test_build_schedule_defaults():
    opt = sgd()
    assert build_schedule(TrainConfig(), opt, SPE) is None  # constant, no warmup: nothing to drive
    s = build_schedule(TrainConfig(schedule="multistep", epochs=8), opt, SPE)
    assert s.params == {"milestones": (4, 6), "gamma": 0.1}
    s = build_schedule(TrainConfig(schedule="step", epochs=9), sgd(), SPE)
    assert s.params == {"step_size": 3, "gamma": 0.1}


def test_lr_of_every_epoch_is_in_metrics_csv(tmp_path, data_dir, monkeypatch):
    import csv

    from zenlearn.workflows.train import train_run

    clips = []
    real = nn.utils.clip_grad_norm_
    monkeypatch.setattr(nn.utils, "clip_grad_norm_", lambda p, m, *a, **k: clips.append(m) or real(p, m, *a, **k))
    cfg = TrainConfig(data="mnist", model="mlp", hidden=(16,), epochs=3, train_subset=256, batch_size=64,
                      optimizer="momentum", schedule="step", lr_step_size=1, lr_gamma=0.5, clip_grad=2.0,
                      out=str(tmp_path / "r"))
    train_run(cfg, verbose=False)
    rows = list(csv.DictReader(open(tmp_path / "r" / "metrics.csv")))
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.01, 0.005, 0.0025])
    assert clips == [2.0] * 12  # 256 / 64 batches x 3 epochs, all clipped at --clip-grad
    assert "lr: 0.01" in (tmp_path / "r" / "config.yaml").read_text()  # the default LR, resolved
