"""The reproduction suite's sequences section: Fawaz et al. 2019's table of deep time-series classifiers.

Models mlp, fcn and resnet (Wang et al. 2017, trained as Fawaz et al.'s dl-4-tsc trains them: fcn and resnet with
Adam 1e-3, the learning rate halved after 50 epochs without a lower training loss, down to 1e-4; the mlp with
Adadelta, halved after 200 such epochs, down to 0.1; batch min(16, N/10), resnet min(64, N/10); the model with the
lowest training loss kept) and zenlearn's lstm and gru, on five datasets of the UCR/UEA archive that ship in aeon's
wheel (`--data ucr:NAME`), beside the published means.
"""

from __future__ import annotations

from zenlearn.workflows.protocol import Anchor, Budget, Claim, Comparison, Experiment

_FAWAZ = "Fawaz et al. 2019 (DMKD 33:917-963), mean test accuracy of 10 runs, UCR 2015 / MTS archives"
UCR = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "JapaneseVowels")
FAWAZ_PUBLISHED = {"GunPoint": (92.7, 100.0, 99.1), "ItalyPowerDemand": (95.4, 96.1, 96.3),
                   "ArrowHead": (77.8, 84.3, 84.5), "OSULeaf": (55.7, 97.7, 97.9), "JapaneseVowels": (97.6, 99.3, 99.2)}
"""Published mean test accuracy (%) of MLP, FCN and ResNet (results-uea-avg-std.csv, results-mts-avg-std.csv)."""
PAPER_EPOCHS = {"mlp": 5000, "fcn": 2000, "resnet": 1500}
TRAIN_SERIES = {"GunPoint": 50, "ItalyPowerDemand": 67, "ArrowHead": 36, "OSULeaf": 200, "JapaneseVowels": 270}
BATCH_CAP = {"resnet": 64}
"""dl-4-tsc's batch size is int(min(cap, training series / 10)), the cap 16 (resnet.py: 64)."""
MODELS = {"mlp": {"hidden": (500, 500, 500), "dropout": 0.2, "optimizer": "adadelta", "lr": 1.0, "rho": 0.95,
                  "eps": 1e-7, "lr_patience": 200, "lr_min": 0.1},
          "fcn": {}, "resnet": {}, "lstm": {"hidden_size": 128}, "gru": {"hidden_size": 128}}
"""Each model's options. Wang et al.'s MLP is 3 x 500 ReLU units with dropout (0.1 on the input, 0.2 between,
0.3 before the output; here 0.2 after each hidden layer), trained with Keras's Adadelta (lr 1.0, rho 0.95, eps 1e-7:
the defaults of the Keras the paper ran; its plateau floor min_lr=0.1 is below that lr)."""


def batch_size(dataset: str, model: str) -> int:
    """The paper's batch size for `model` on `dataset`: int(min(16, N/10)) (resnet: 64), N its training series.

    Example:
        >>> batch_size("ArrowHead", "fcn"), batch_size("OSULeaf", "fcn"), batch_size("OSULeaf", "resnet")
        (3, 16, 20)
    """
    return int(min(BATCH_CAP.get(model, 16), TRAIN_SERIES[dataset] / 10))

RNN_EPOCHS = 375
"""LSTM and GRU have no published protocol; they get ResNet's quarter budget."""


def _label(dataset: str, model: str) -> str:
    return f"{dataset} · {model}"


def _anchors() -> dict[str, Anchor]:
    out = {_label(ds, m): Anchor(f"{v:.1f} %", v / 100, _FAWAZ)
           for ds, values in FAWAZ_PUBLISHED.items() for m, v in zip(("mlp", "fcn", "resnet"), values)}
    out.update({_label(ds, m): Anchor("no published row", None, _FAWAZ) for ds in UCR for m in ("lstm", "gru")})
    return out


SEQUENCES = Experiment(
    name="sequences",
    title="Sequences: Fawaz et al. 2019's MLP, FCN and ResNet (and LSTM, GRU) on five UCR/UEA datasets",
    claim="The RNN/LSTM is a model for analysing sequence data; on recorded series, convolutional networks "
          "made for time series (FCN, ResNet) are the published baselines to match.",
    base=dict(optimizer="adam", lr=1e-3, batch_size=16, val_split=0.0, schedule="plateau", lr_gamma=0.5,
              lr_patience=50, lr_min=1e-4, lr_monitor="loss", keep_best="loss", eval_batch_size=256, normalize="none"),
    comparisons=tuple(Comparison(_label(ds, m), {"data": f"ucr:{ds}", "model": m, "batch_size": batch_size(ds, m),
                                                 **options}, tag=m)
                      for ds in UCR for m, options in MODELS.items()),
    budgets={"full": Budget(seeds=5, per_tag={**{m: {"epochs": e // 4} for m, e in PAPER_EPOCHS.items()},
                                              "lstm": {"epochs": RNN_EPOCHS}, "gru": {"epochs": RNN_EPOCHS}}),
             "quick": Budget(seeds=1, overrides={"epochs": 3}),
             "tiny": Budget(seeds=1, overrides={"epochs": 1, "train_subset": 12},
                            per_tag={"mlp": {"hidden": (8,)}, "lstm": {"hidden_size": 4}, "gru": {"hidden_size": 4}})},
    anchors=_anchors(),
    claims=(Claim("FCN is at least as accurate as the MLP on every dataset (Fawaz et al.)", "test_accuracy",
                  tuple((_label(ds, "fcn"), _label(ds, "mlp")) for ds in UCR), _FAWAZ),),
    paper=dict(epochs="MLP 5000, FCN 2000, ResNet 1500", batch_size="min(16, N/10) (ResNet: min(64, N/10))",
               optimizer="Adam 1e-3, halved on a 50-epoch training-loss plateau down to 1e-4 (MLP: Adadelta 1.0, "
                         "a 200-epoch plateau, down to 0.1)",
               model="the one with the lowest training loss"),
    curves=("loss", "accuracy"),
    notes=("The full budget trains a quarter of the paper's epochs (MLP 1250, FCN 500, ResNet 375; LSTM and GRU, "
           "which have no published row, 375) with the paper's recipe: its batch size min(16, N/10) (ResNet: "
           "min(64, N/10); 3-6 on the smaller training sets: at batch 16, ArrowHead's fcn reached 62.9 % in 100 "
           "epochs, at batch 3 86.9 % in 200, docs/results.md), its optimizers and plateau schedules on the training "
           "loss (`--lr-monitor loss`), and the weights of the epoch with the lowest training loss (`--keep-best "
           "loss`). All training series are used (no validation split). The plateau counts as torch's does (a "
           "reduction after patience + 1 epochs without a 0.01 % lower loss; Keras: after patience epochs without a "
           "1e-4 lower one).",
           "JapaneseVowels: the paper interpolated the series to one length; zenlearn runs the raw variable-length "
           "series (7 to 29 steps), padded per batch and masked in every model (packed RNNs, masked convolutions "
           "and pooling); the MLP sees the padding as zeros.",
           "The data is read as it is stored (`--normalize none`), as the paper does: the UCR files are z-normalised "
           "per series already, and the paper left the multivariate archive's series (JapaneseVowels) unnormalised. "
           "z-normalising each JapaneseVowels series and feature (`--normalize series`, zenlearn's default) drops "
           "the cepstral levels that tell the speakers apart: fcn reached 80.0 % that way, 98.9 % without (60 "
           "epochs, seed 0, docs/results.md)."),
)
