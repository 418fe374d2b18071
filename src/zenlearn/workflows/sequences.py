"""The reproduction suite's sequences section: Fawaz et al. 2019's table of deep time-series classifiers.

Models mlp, fcn and resnet (Wang et al. 2017, trained as Fawaz et al. train them: Adam, batch 16, the learning
rate halved after 50 epochs without a lower training loss, down to 1e-4) and zenlearn's lstm and gru, on five
datasets of the UCR/UEA archive that ship in aeon's wheel (`--data ucr:NAME`), beside the published means.
"""

from __future__ import annotations

from zenlearn.workflows.protocol import Anchor, Budget, Claim, Comparison, Experiment

_FAWAZ = "Fawaz et al. 2019 (DMKD 33:917-963), mean test accuracy of 10 runs, UCR 2015 / MTS archives"
UCR = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "JapaneseVowels")
FAWAZ_PUBLISHED = {"GunPoint": (92.7, 100.0, 99.1), "ItalyPowerDemand": (95.4, 96.1, 96.3),
                   "ArrowHead": (77.8, 84.3, 84.5), "OSULeaf": (55.7, 97.7, 97.9), "JapaneseVowels": (97.6, 99.3, 99.2)}
"""Published mean test accuracy (%) of MLP, FCN and ResNet (results-uea-avg-std.csv, results-mts-avg-std.csv)."""
PAPER_EPOCHS = {"mlp": 5000, "fcn": 2000, "resnet": 1500}
BATCH = {"GunPoint": 5, "ItalyPowerDemand": 6, "ArrowHead": 3, "OSULeaf": 16, "JapaneseVowels": 16}
"""The paper's batch size, min(16, training series / 10): 50, 67, 36, 200 and 270 training series."""
MODELS = {"mlp": {"hidden": (500, 500, 500), "dropout": 0.2}, "fcn": {}, "resnet": {},
          "lstm": {"hidden_size": 128}, "gru": {"hidden_size": 128}}
"""Each model's options: Wang et al.'s MLP is 3 x 500 ReLU units with dropout (0.1 on the input, 0.2 between,
0.3 before the output; here 0.2 after each hidden layer)."""
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
              lr_patience=50, lr_min=1e-4, eval_batch_size=256, normalize="none"),
    comparisons=tuple(Comparison(_label(ds, m), {"data": f"ucr:{ds}", "model": m, "batch_size": BATCH[ds], **options},
                                 tag=m)
                      for ds in UCR for m, options in MODELS.items()),
    budgets={"full": Budget(seeds=5, per_tag={**{m: {"epochs": e // 4} for m, e in PAPER_EPOCHS.items()},
                                              "lstm": {"epochs": RNN_EPOCHS}, "gru": {"epochs": RNN_EPOCHS}}),
             "quick": Budget(seeds=1, overrides={"epochs": 3}),
             "tiny": Budget(seeds=1, overrides={"epochs": 1, "train_subset": 12},
                            per_tag={"mlp": {"hidden": (8,)}, "lstm": {"hidden_size": 4}, "gru": {"hidden_size": 4}})},
    anchors=_anchors(),
    claims=(Claim("FCN is at least as accurate as the MLP on every dataset (Fawaz et al.)", "test_accuracy",
                  tuple((_label(ds, "fcn"), _label(ds, "mlp")) for ds in UCR), _FAWAZ),),
    paper=dict(epochs="MLP 5000, FCN 2000, ResNet 1500", batch_size="min(16, N/10)",
               optimizer="Adam 1e-3, halved on a 50-epoch training-loss plateau (MLP: Adadelta)",
               model="the one with the lowest training loss"),
    curves=("loss", "accuracy"),
    notes=("The full budget trains a quarter of the paper's epochs (MLP 1250, FCN 500, ResNet 375; LSTM and GRU, "
           "which have no published row, 375) with Adam at the paper's batch size min(16, N/10) (3-6 on the smaller "
           "training sets: at batch 16, ArrowHead's fcn reached 62.9 % in 100 epochs, at batch 3 86.9 % in 200, "
           "docs/results.md) and reports the last epoch's model, not the one with the lowest training loss; the "
           "paper trains its MLP with Adadelta. All training series are used (no validation split).",
           "JapaneseVowels: the paper interpolated the series to one length; zenlearn runs the raw variable-length "
           "series (7 to 29 steps), padded per batch and masked in every model (packed RNNs, masked convolutions "
           "and pooling); the MLP sees the padding as zeros.",
           "The data is read as it is stored (`--normalize none`), as the paper does: the UCR files are z-normalised "
           "per series already, and the paper left the multivariate archive's series (JapaneseVowels) unnormalised. "
           "z-normalising each JapaneseVowels series and feature (`--normalize series`, zenlearn's default) drops "
           "the cepstral levels that tell the speakers apart: fcn reached 80.0 % that way, 98.9 % without (60 "
           "epochs, seed 0, docs/results.md)."),
)
