"""The LR range test (zenlearn.optim.lr_find): an exponential sweep that restores the model and optimizer."""

import pytest
import torch
from torch import nn


def test_lr_find_sweeps_suggests_and_restores_state():
    from zenlearn.optim.lr_find import RULE, lr_find
    from zenlearn.training.trainer import Trainer

    torch.manual_seed(0)
    x = torch.randn(512, 8)
    y = (x[:, :2].sum(1) > 0).long()
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    t = Trainer(model, opt, device="cpu")
    t.fit((x, y), epochs=1, batch_size=64, verbose=False)  # the optimizer now has momentum buffers
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt_before = {k: v.clone() for k, v in opt.state_dict()["state"][0].items()}
    from zenlearn.data import ArrayData, BatchLoader

    res = lr_find(t, BatchLoader(ArrayData(x, y), 32, shuffle=True), start_lr=1e-5, end_lr=100, steps=60)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(opt_before[k], v) for k, v in opt.state_dict()["state"][0].items())
    assert opt.param_groups[0]["lr"] == 0.01
    ratios = [b / a for a, b in zip(res.lrs, res.lrs[1:])]
    assert ratios == pytest.approx([(100 / 1e-5) ** (1 / 59)] * len(ratios))  # exponential sweep
    assert res.rule == RULE and res.suggestion == pytest.approx(res.min_loss_lr / 10)
    k = res.smoothed.index(min(res.smoothed))
    assert res.lrs[k] == res.min_loss_lr and len(res.lrs) <= 60
    assert "passed 4x its minimum" in res.stopped or "NaN" in res.stopped  # lr 100 diverges
