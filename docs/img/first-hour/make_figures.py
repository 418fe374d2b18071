"""Render the figures of issue 23 item 19 from fixed synthetic data: python fh_figs.py OUT_DIR."""
import sys
from pathlib import Path

import numpy as np
import torch

from zenlearn.report.plots import run as plots
from zenlearn.report.plots import study
from zenlearn.report.preview import image_grid, write_png

out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
# distill sweep: accuracy over T x alpha, the viridis heat-map (sweep.png)
vals = np.array([[0.9612, 0.9655, 0.9701], [0.9688, 0.9734, 0.9752], [0.9641, 0.9702, 0.9749]])
(out / "sweep.png").write_bytes(plots.heatmap(vals, [1, 4, 20], [0.5, 0.7, 0.9], "validation accuracy", "alpha", "T",
                                              "accuracy", mark=(1, 2)))
# a study: 12 trials, lr log-searched, optimizer categorical (history.png, params.png)
rows = []
for t in range(12):
    opt = ["sgd", "momentum", "nesterov", "adagrad", "adam"][t % 5]
    lr = float(10 ** rng.uniform(-4, -0.5))
    rows.append({"trial": t, "state": "pruned" if t % 4 == 3 else "complete", "value": float(rng.uniform(0.8, 0.97)),
                 "lr": lr, "optimizer": opt})
(out / "history.png").write_bytes(study.history(rows, "value", True))
(out / "params.png").write_bytes(study.param_panels(rows, ["lr", "optimizer"], "value", ["lr"]))
# run curves: a loss falling over a decade and a half (history of a run; log axis)
epochs = list(range(1, 31))
loss = [2.0 * 0.85 ** e for e in epochs]
(out / "loss.png").write_bytes(plots.curves(epochs, {"loss": loss, "val_loss": [v * 1.1 for v in loss]}, "Loss",
                                            "loss", log=True))
cm = np.array([[50, 2, 0], [3, 40, 7], [0, 9, 41]])
(out / "confusion.png").write_bytes(plots.confusion(cm, ["cat", "dog", "momentum"]))
# augmentation preview: originals then 3 augmented rows
x = torch.rand(6, 1, 16, 16)
rows_img = [x] + [x.roll(k, -1) for k in (1, 2, 3)]
try:
    grid = image_grid(rows_img, labels=["original"] + [f"augmented {i}" for i in (1, 2, 3)])
except TypeError:
    grid = image_grid(rows_img)
write_png(out / "augment.png", grid)
print("wrote", sorted(p.name for p in out.iterdir()))
