"""The reproduction suite as data: one `Experiment` per claim of the survey, each beside its published anchor.

Every experiment is made of ordinary comparisons (`zenlearn compare` runs: a base config, what is varied,
seeds) or, for distillation, an ordinary teacher comparison followed by `zenlearn distill` runs. Nothing
here is special-cased in training: a row of the results is the mean ± std over seeds of normal run folders.

Budgets say how much of each protocol is run: `full` (the committed docs/results.md; ~20 min on 2 CPU
cores), `quick` (≤ 15 min on 2 cores) and `tiny` (seconds per experiment; the test suite's smoke run, its
numbers mean nothing). `Experiment.paper` records the published protocol, so results.md can state every
place where the run differs from it.
"""

from __future__ import annotations

from zenlearn.registry import Registry
from zenlearn.workflows.protocol import (  # noqa: F401 (re-exported: the suite's vocabulary)
    BUDGETS,
    Anchor,
    Budget,
    Claim,
    Comparison,
    Experiment,
    budget_of,
    lr_points,
    seeds_of,
    student_options,
)
from zenlearn.workflows.sequences import SEQUENCES

SUITE: Registry[Experiment] = Registry("experiment")

# ---------------------------------------------------------------- 1. models on MNIST-1D

_GREYDANUS = "Greydanus 2020, Scaling down deep learning (MNIST-1D), Table 1"
MNIST1D_PUBLISHED = {"logreg": 0.32, "mlp": 0.68, "cnn": 0.94, "gru": 0.91}
"""MNIST-1D test accuracy published by Greydanus (logistic regression, MLP, CNN, GRU), by model name."""
_ROW_MODEL = {"logistic": "logreg", "MLP": "mlp", "CNN": "cnn", "GRU": "gru"}
SUITE.add("models", Experiment(
    name="models",
    title="Models on MNIST-1D: logistic regression, MLP, CNN, GRU",
    claim="MLPs, CNNs and RNNs suit different data: on a 1-D signal with translation, a convolution or a "
          "recurrence beats a dense network, and every hidden layer beats a linear model.",
    base=dict(data="mnist1d", optimizer="adam", lr=1e-2, batch_size=100, weight_decay=0.0, val_split=0.1),
    comparisons=(
        Comparison("logistic", {"model": "logreg"}),
        Comparison("MLP", {"model": "mlp", "hidden": (100, 100)}),
        Comparison("CNN", {"model": "cnn", "channels": (25, 25, 25), "kernel_size": 5, "stride": 2, "pool": "none",
                           "hidden": ()}),
        Comparison("GRU", {"model": "gru", "hidden_size": 6, "bidirectional": True, "head": "flatten"}),
    ),
    budgets={"full": Budget(seeds=3, overrides={"epochs": 60}),
             "quick": Budget(seeds=2, overrides={"epochs": 8}),
             "tiny": Budget(seeds=1, overrides={"epochs": 1, "train_subset": 200})},
    anchors={row: Anchor(f"{100 * MNIST1D_PUBLISHED[m]:.0f} %", MNIST1D_PUBLISHED[m], _GREYDANUS)
             for row, m in _ROW_MODEL.items()},
    claims=(Claim("CNN > GRU > MLP > logistic regression in test accuracy", "test_accuracy",
                  (("CNN", "GRU"), ("GRU", "MLP"), ("MLP", "logistic")), _GREYDANUS),),
    paper=dict(epochs=150, train_samples=4000, batch_size=100, optimizer="adam", lr=1e-2),
    notes=("The paper trains 6,000 steps of batch 100 (150 epochs) on all 4,000 training samples; here 10 % of "
           "them are held out for validation. Models follow the reference code: MLP 100-100, CNN 3 conv "
           "layers of 25 channels (kernel 5, stride 2; the reference uses kernel 3 in layers 2-3), GRU 6 units "
           "bidirectional with a dense layer on all 40 steps.",),
))

# ---------------------------------------------------------------- 2. activations

_ELU = "Clevert, Unterthiner & Hochreiter 2016 (ELU), Fig. 2"
_GLOROT = "Glorot & Bengio 2010"
SUITE.add("activations", Experiment(
    name="activations",
    title="Activations: an 8 × 128 MLP on MNIST (the ELU paper's setting)",
    claim="Each activation has a purpose: sigmoid and tanh saturate, so a deep sigmoid net's gradient "
          "vanishes on its way to the first layers; ReLU keeps it; ELU pushes mean activations towards zero "
          "and learns fastest.",
    base=dict(data="mnist", model="mlp", hidden=(128,) * 8, init="kaiming-uniform", optimizer="sgd", lr=0.01,
              batch_size=64, grad_norms=True),
    comparisons=(Comparison("", vary={"activation": ("sigmoid", "tanh", "relu", "leaky_relu", "elu")}),),
    budgets={"full": Budget(seeds=3, overrides={"epochs": 3}),
             "quick": Budget(seeds=2, overrides={"epochs": 2, "train_subset": 10000}),
             "tiny": Budget(seeds=1, overrides={"epochs": 1, "train_subset": 300})},
    anchors={"elu": Anchor("lowest training loss, fastest", None, _ELU),
             "relu": Anchor("above ELU's training loss", None, _ELU),
             "leaky_relu": Anchor("above ELU's training loss", None, _ELU),
             "sigmoid": Anchor("saturates; the deep net trains slowly (vanishing gradient)", None, _GLOROT),
             "tanh": Anchor("trains, better than sigmoid", None, _GLOROT)},
    claims=(
        Claim("ELU reaches a lower training loss than ReLU and Leaky ReLU", "train_loss",
              (("elu", "relu"), ("elu", "leaky_relu")), _ELU),
        Claim("the deep sigmoid net's gradient vanishes: its first-to-last-layer gradient ratio is the smallest",
              "grad_ratio", (("relu", "sigmoid"), ("tanh", "sigmoid"), ("elu", "sigmoid"), ("leaky_relu", "sigmoid")),
              _GLOROT),
        Claim("the deep sigmoid net has the lowest test accuracy", "test_accuracy",
              (("tanh", "sigmoid"), ("relu", "sigmoid"), ("elu", "sigmoid")), _GLOROT),
    ),
    paper=dict(epochs=300, train_samples=60000, batch_size=64, optimizer="sgd (He initialization)", lr=0.01),
    curves=("loss", "val_accuracy"),
    notes=("As in the ELU paper: plain SGD at lr 0.01 from He initialization (`--init kaiming-uniform`), for 3 "
           "of its 300 epochs: the curves show the start of training, where the activations differ most. "
           "(From PyTorch's default initialization, a third of He's variance, plain SGD left the 8-layer ReLU "
           "net at chance, 11 %, after 3 epochs.) Every activation gets the same He initialization, sigmoid and "
           "tanh included. The ELU paper compares ELU, ReLU, Leaky ReLU and SReLU only; sigmoid and tanh are "
           "anchored by Glorot & Bengio's analysis of saturation in deep nets.",),
))

# ---------------------------------------------------------------- 3. optimizers

_DEEPOBS = "Schneider, Balles & Hennig 2019 (DeepOBS), fmnist_2c2d baselines"
_LR_GRID = {"sgd": (0.01, 0.03, 0.1), "momentum": (0.003, 0.01, 0.03), "adagrad": (0.003, 0.01, 0.03),
            "adadelta": (0.3, 1.0, 3.0), "adam": (3e-4, 1e-3, 3e-3)}
SUITE.add("optimizers", Experiment(
    name="optimizers",
    title="Optimizers on Fashion-MNIST: DeepOBS' fmnist_2c2d, learning rate tuned per optimizer",
    claim="Adam combines momentum and adaptive per-parameter rates, so it trains at least as well as SGD, "
          "momentum, AdaGrad and Adadelta.",
    base=dict(data="fashion-mnist", model="cnn", channels=(32, 64), kernel_size=5, pool="max", hidden=(1024,),
              activation="relu", batch_size=128, val_split=0.05),
    comparisons=tuple(Comparison(name, {"optimizer": name}, lr_grid=grid) for name, grid in _LR_GRID.items()),
    budgets={"full": Budget(seeds=3, overrides={"epochs": 1, "train_subset": 10000}, lr_points=3),
             "quick": Budget(seeds=2, overrides={"epochs": 1, "train_subset": 1000}, lr_points=2),
             "tiny": Budget(seeds=1, overrides={"epochs": 1, "train_subset": 128, "channels": (4, 8),
                                                "hidden": (16,)}, lr_points=1)},
    anchors={"sgd": Anchor("≈ 92 % (tuned, 100 epochs)", 0.92, _DEEPOBS),
             "momentum": Anchor("≈ 92 % (tuned, 100 epochs)", 0.92, _DEEPOBS),
             "adam": Anchor("≈ 92 % (tuned, 100 epochs)", 0.92, _DEEPOBS),
             "adagrad": Anchor("no DeepOBS baseline", None, _DEEPOBS),
             "adadelta": Anchor("no DeepOBS baseline", None, _DEEPOBS)},
    claims=(Claim("Adam trains at least as well as SGD, AdaGrad and Adadelta (the survey)", "test_accuracy",
                  (("adam", "sgd"), ("adam", "adagrad"), ("adam", "adadelta"))),
            Claim("momentum improves on plain SGD", "test_accuracy", (("momentum", "sgd"),))),
    paper=dict(epochs=100, train_samples=60000, batch_size=128, lr_grid="36 log-spaced values in [1e-5, 1e2]"),
    notes=("DeepOBS tunes each optimizer's learning rate over a log grid, trains 100 epochs and reports the "
           "tuned baselines of SGD, Momentum and Adam (all near 92 % test accuracy, within about a point of "
           "each other); it has no AdaGrad or Adadelta baseline. Here the grid is 3 half-decade points around "
           "each optimizer's usual rate, picked on the validation split with one seed, and training is far "
           "shorter, so the ranking reflects early training speed more than final accuracy.",),
))

# ---------------------------------------------------------------- 4. augmentation

_SURVEY_IDG = ("rotation_range=45,width_shift_range=0.2,height_shift_range=0.2,shear_range=0.2,zoom_range=0.2,"
               "horizontal_flip=true,fill_mode=nearest")
_FLIPS_SHIFTS = "horizontal_flip=true,width_shift_range=0.1,height_shift_range=0.1"
_SHIFTS = "width_shift_range=0.1,height_shift_range=0.1"  # flips+shifts without the flip: what a digit tolerates
_FLIPS_CROPS = "horizontal_flip=true,crop_padding=8,fill_mode=reflect"  # CIFAR's recipe, 1/8 of the 64-px side
_AUGS = (None, _SHIFTS, _FLIPS_SHIFTS, _SURVEY_IDG)
_PHOTO_AUGS = (None, _FLIPS_CROPS, _SURVEY_IDG)
_AUG_LABELS = {"none": "none", _SHIFTS: "shifts", _FLIPS_SHIFTS: "flips+shifts", _FLIPS_CROPS: "flips+crops",
               _SURVEY_IDG: "survey ImageDataGenerator"}
_SURVEY = "the survey (augmentation improves generalization)"
_PHOTO_SIZES = (20, 60)
"""Training photos of the photo arms (both classes together): few, as in the survey's small-data setting."""
_PHOTO_CNN = dict(data="photos", image_size=(64, 64), model="cnn", channels=(16, 32, 64), stride=2, hidden=(64,),
                  batch_size=32)
"""examples/survey_folder.py's CNN on the generated photos (`--data photos`), at 64 x 64 to fit the budget."""


def _photo_tag(n: int) -> str:
    return f"photos{n}"


def _digit_claims(d: str, s: str) -> tuple[Claim, ...]:
    return tuple(Claim(f"{d}, {s}: {aug} improves test accuracy over none", "test_accuracy",
                       ((f"{d}, {s} · {aug}", f"{d}, {s} · none"),), _SURVEY)
                 for aug in ("shifts", "flips+shifts", "survey ImageDataGenerator"))


def _photo_claims(n: int) -> tuple[Claim, ...]:
    return tuple(Claim(f"photos, {n}: {aug} improves test accuracy over none", "test_accuracy",
                       ((f"photos, {n} · {aug}", f"photos, {n} · none"),), _SURVEY)
                 for aug in ("flips+crops", "survey ImageDataGenerator"))


SUITE.add("augmentation", Experiment(
    name="augmentation",
    title="Augmentation: none vs shifts vs flips/shifts vs the survey's ImageDataGenerator, 1k and 60k digits, "
          "and on a few photos",
    claim="Augmentation improves generalization, most when data is scarce.",
    base=dict(model="seed-cnn", optimizer="adam", batch_size=64, val_split=0.05),
    comparisons=tuple(
        Comparison(f"{label}, {size}", {"data": data, "train_subset": 1000 if size == "1k" else None},
                   {"augment": _AUGS}, labels=_AUG_LABELS, tag=size)
        for data, label in (("mnist", "MNIST"), ("fashion-mnist", "Fashion-MNIST")) for size in ("1k", "60k"))
    + tuple(Comparison(f"photos, {n}", {**_PHOTO_CNN, "train_subset": n}, {"augment": _PHOTO_AUGS},
                       labels=_AUG_LABELS, tag=_photo_tag(n)) for n in _PHOTO_SIZES),
    budgets={"full": Budget(seeds=2, overrides={"epochs": 25},
                            per_tag={"60k": {"epochs": 3}, "photos20": {"epochs": 80}, "photos60": {"epochs": 40}},
                            tag_seeds={"photos20": 5, "photos60": 5}),
             "quick": Budget(seeds=2, overrides={"epochs": 5},
                             per_tag={"60k": {"epochs": 1, "train_subset": 10000}, "photos20": {"epochs": 40},
                                      "photos60": {"epochs": 20}}),
             "tiny": Budget(seeds=1, overrides={"epochs": 1, "train_subset": 64},
                            per_tag={"60k": {"train_subset": 128},
                                     **{_photo_tag(n): {"data": "photos:4", "train_subset": 4, "image_size": (16, 16)}
                                        for n in _PHOTO_SIZES}})},
    anchors={},
    claims=tuple(c for d in ("MNIST", "Fashion-MNIST") for s in ("1k", "60k") for c in _digit_claims(d, s))
    + tuple(c for n in _PHOTO_SIZES for c in _photo_claims(n)),
    paper=dict(),
    notes=("The survey shows the ImageDataGenerator settings without a measured result. The \"60k\" arms train on "
           "the full training set less the validation split (57,000 images). Horizontal flips change a digit's "
           "meaning (a flipped 2 or 7 is no digit; Fashion-MNIST's clothes are left-right symmetric), and 45° "
           "rotations with 20 % shifts, shear and zoom are strong for 28 × 28 images. Augmentation makes the "
           "task harder to fit, so it pays only once the plain model has had time to overfit: the full budget "
           "trains the 1k arms 25 epochs (the setting where the `mnist` preset cut test errors by 28 %, "
           "docs/benchmarks.md) but the 60k arms only 3, where the augmented task is still being learned.",
           "The photo arms are what the survey's settings were made for: real JPEG photos (`--data photos`, objects "
           "against textures, generated from scikit-image's bundled photographs), where a flip, a rotation or a "
           "zoom keeps the label. Few training photos (20 or 60, both classes together, a seeded subset per "
           "seed), tested on 1,000 other crops of the same source photographs; examples/survey_folder.py's CNN "
           "at 64 × 64 instead of the survey's 224 × 224, so that 2 × 3 × 5 runs fit the budget in about a "
           "minute; 80 and 40 epochs (the same 80 optimizer steps of batch 32); flips+crops is CIFAR's recipe "
           "(8 px reflect padding, an eighth of the side).",),
))

# ---------------------------------------------------------------- 5. distillation

_HINTON = "Hinton, Vinyals & Dean 2015, MNIST (test errors of 10,000)"
SUITE.add("distillation", Experiment(
    name="distillation",
    title="Distillation: Hinton's MNIST experiment, teacher 1200-1200 → student 800-800",
    claim="Distillation lets a small student approach a large teacher: trained on the teacher's softened "
          "outputs it makes fewer errors than the same student trained on labels alone.",
    base=dict(data="mnist", model="mlp", optimizer="adam", batch_size=128, val_split=0.1, schedule="cosine"),
    comparisons=(Comparison("teacher", {"hidden": (1200, 1200), "dropout": 0.5,
                                        "augment": "width_shift_range=2,height_shift_range=2"}),),
    distill={"student": {"hidden": (800, 800), "dropout": 0.0, "augment": None},
             "options": {"method": "kd", "temperature": 4.0, "alpha": 0.9}},
    budgets={"full": Budget(seeds=2, overrides={"epochs": 20}, student={"epochs": 10}),
             "quick": Budget(seeds=2, overrides={"epochs": 2, "train_subset": 10000}),
             "tiny": Budget(seeds=1, overrides={"epochs": 1, "train_subset": 200, "hidden": (32,)})},
    anchors={"teacher": Anchor("67 errors", 67, _HINTON), "student (labels only)": Anchor("146 errors", 146, _HINTON),
             "student (distilled)": Anchor("74 errors", 74, _HINTON)},
    claims=(Claim("the distilled student makes fewer test errors than the same student trained alone", "errors",
                  (("student (distilled)", "student (labels only)"),), _HINTON),
            Claim("the teacher makes fewer errors than the student trained alone", "errors",
                  (("teacher", "student (labels only)"),), _HINTON)),
    paper=dict(epochs="until convergence (thousands of updates)", train_samples=60000,
               teacher="1200-1200, dropout, ±2 px jitter", student="800-800", temperature=20),
    metric="errors",
    notes=("Hinton's nets train to convergence, the teacher with strong dropout, weight constraints and input "
           "jitter; here the teacher has dropout 0.5 and ±2 px shifts, every net trains a few epochs of Adam "
           "with cosine decay, so all three make more errors and the gap between the students is smaller. "
           "T = 4, alpha = 0.9 is the setting the validation sweep of examples/distill_mnist.py chose (20 teacher "
           "and 10 student epochs: 101 / 156.0 ± 11.5 / 124.7 ± 4.0 errors over 3 seeds, docs/benchmarks.md); "
           "Hinton used T = 20, within 0.1 point of T = 4 on that sweep.",),
))


# ---------------------------------------------------------------- 6. tables

_TABLES = ("breast_cancer", "wine", "digits", "iris")
_TABLE_MLP = dict(model="mlp", hidden=(100,), activation="relu", optimizer="adam", lr=1e-3, batch_size=32,
                  val_split=0.0, test_split=0.2, threads=1)
"""MLPClassifier's defaults with batch 32; no validation rows (zenlearn and its peers train on the same rows of each
seed's stratified 80/20 split); one torch thread (32-row batches are too small to share)."""
_TABLE_BUDGETS = {"full": Budget(seeds=5, overrides={"epochs": 200}), "quick": Budget(seeds=5, overrides={"epochs": 40}),
                  "tiny": Budget(seeds=1, overrides={"epochs": 1})}
_TABLE_NOTE = ("zenlearn's run is `zenlearn train --data sklearn:NAME` (standardised with the training rows' "
               "statistics); each peer is fitted in the same process on the same standardised training rows of the "
               "same seed, scored on the same test rows by zenlearn's Task. MLPClassifier gets the run's layers, "
               "activation, batch size, learning rate and epochs (max_iter) and keeps its own stopping rule (1e-4 "
               "for 10 epochs); HistGradientBoosting has scikit-learn's defaults. Test splits are small (30 rows for "
               "iris, 36 for wine: one row is 3.3 and 2.8 points), so compare means over seeds, not single runs.")
SUITE.add("tables", Experiment(
    name="tables",
    title="Tables: zenlearn's MLP against MLPClassifier and gradient boosting on scikit-learn's bundled tables",
    claim="The MLP is the model for a vector of measurements per row: on a table, zenlearn's MLP is as accurate as "
          "scikit-learn's MLPClassifier with the same layers (within half a point or better).",
    base=_TABLE_MLP,
    comparisons=tuple(Comparison(f"{t} · zenlearn MLP", {"data": f"sklearn:{t}"}) for t in _TABLES),
    budgets=_TABLE_BUDGETS,
    peers=("MLPClassifier", "HistGradientBoosting"),
    claims=tuple(Claim(f"{t}: zenlearn's MLP ≥ MLPClassifier − 0.5 points", "test_accuracy",
                       ((f"{t} · zenlearn MLP", f"{t} · MLPClassifier"),), "issue 25", margin=0.005) for t in _TABLES),
    curves=("loss",), notes=(_TABLE_NOTE,),
))
SUITE.add("tables-regression", Experiment(
    name="tables-regression",
    title="Tables, regression: zenlearn's MLP against MLPRegressor and gradient boosting on diabetes (R²)",
    claim="The same MLP fits a regression table: zenlearn's MLP (targets standardised inside the model) reaches "
          "MLPRegressor's R² or better.",
    base=_TABLE_MLP,
    comparisons=(Comparison("diabetes · zenlearn MLP", {"data": "sklearn:diabetes"}),),
    budgets=_TABLE_BUDGETS,
    peers=("MLPRegressor", "HistGradientBoosting"),
    claims=(Claim("diabetes: zenlearn's MLP R² ≥ MLPRegressor's − 0.02", "test_r2",
                  (("diabetes · zenlearn MLP", "diabetes · MLPRegressor"),), "issue 25", margin=0.02),),
    metric="test_r2", curves=("loss",),
    notes=(_TABLE_NOTE.replace("MLPClassifier gets", "MLPRegressor gets") + " MLPRegressor fits the raw targets "
           "(a mean of 152, a spread of 77), as a scikit-learn user would without a TransformedTargetRegressor.",),
))
SUITE.add("sequences", SEQUENCES)
