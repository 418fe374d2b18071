"""Table of bad CLI invocations and config files: each exits 2 with one line on stderr, no traceback, no file lost.

`docs/reliability.md` lists every case with the line it prints; regenerate it with
`ZENLEARN_WRITE_DOCS=1 python -m pytest tests/cli/test_bad_inputs.py`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from zenlearn import TrainConfig, train_run
from zenlearn.cli.main import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
BEGIN, END = "<!-- bad-inputs:begin -->", "<!-- bad-inputs:end -->"
TINY = ["--model", "mlp", "--hidden", "16", "--epochs", "1", "--train-subset", "200", "--no-report", "--quiet"]

# (id, argv, needle in the one-line message); {w} is a scratch folder holding the files made by `world`.
CASES: list[tuple[str, list[str], str]] = [
    # --- train: flags
    ("epochs-not-a-number", ["train", "--epochs", "abc"], "option 'epochs' (--epochs) expects integer, got 'abc'"),
    ("epochs-zero", ["train", "--epochs", "0"], "epochs must be >= 1, got 0"),
    ("epochs-negative", ["train", "--epochs", "-3"], "epochs must be >= 1, got -3"),
    ("epochs-fraction", ["train", "--epochs", "1.5"], "expects integer, got '1.5'"),
    ("lr-zero", ["train", "--lr", "0"], "lr must be > 0"),
    ("lr-text", ["train", "--lr", "fast"], "option 'lr' (--lr) expects number, got 'fast'"),
    ("lr-nan", ["train", "--lr", "nan"], "lr must be > 0 and finite, got nan"),
    ("lr-inf", ["train", "--lr", "inf"], "lr must be > 0 and finite, got inf"),
    ("batch-size-zero", ["train", "--batch-size", "0"], "batch_size must be >= 1, got 0"),
    ("batch-size-negative", ["train", "--batch-size", "-8"], "batch_size must be >= 1, got -8"),
    ("eval-batch-size-zero", ["train", "--eval-batch-size", "0"], "eval_batch_size must be >= 1"),
    ("val-split-one", ["train", "--val-split", "1"], "val_split must be in [0, 1), got 1.0"),
    ("val-split-negative", ["train", "--val-split", "-0.1"], "val_split must be in [0, 1)"),
    ("val-split-text", ["train", "--val-split", "ten%"], "option 'val_split' (--val-split) expects number"),
    ("train-subset-zero", ["train", "--train-subset", "0"], "train_subset must be >= 1, got 0"),
    ("hidden-zero", ["train", "--hidden", "0"], "hidden sizes must be >= 1, got 0"),
    ("hidden-text", ["train", "--hidden", "a,b"], "option 'hidden' (--hidden) expects comma-separated integers"),
    ("unknown-model", ["train", "--model", "transformer"], "unknown model 'transformer';"),
    ("unknown-activation", ["train", "--activation", "swishy"], "unknown activation 'swishy'; did you mean 'silu'? choose one of:"),
    ("activation-per-layer-count", ["train", "--model", "mlp", "--hidden", "8,8", "--activation", "relu,tanh,sigmoid"],
     "activation lists 3 activations for 2 hidden layers ('relu,tanh,sigmoid'); give one activation, or one per"),
    ("activation-per-layer-not-mlp", ["train", "--model", "cnn", "--activation", "relu,tanh"],
     "activation: one per hidden layer ('relu,tanh') is for the mlp; give cnn one"),
    ("unknown-optimizer", ["train", "--optimizer", "adamw2"], "unknown optimizer 'adamw2'; did you mean 'adamw'? choose one of:"),
    ("unknown-dataset", ["train", "--data", "cifar99"], "unknown dataset 'cifar99'; did you mean 'cifar10'? choose one of:"),
    ("dataset-takes-no-argument", ["train", "--data", "mnist:extra"], "dataset 'mnist' takes no ':ARGUMENT'"),
    ("toy-one-class", ["train", "--data", "spiral:classes=1"], "--data spiral:classes=1: classes must be >= 2, got 1"),
    ("toy-unknown-option", ["train", "--data", "moons:k=3"],
     "--data moons:k=3: unknown option 'k'; choose from classes, samples, noise, seed"),
    ("toy-xor-three-classes", ["train", "--data", "xor:classes=3"], "xor has exactly 2 classes, got classes=3"),
    ("toy-unknown-set", ["train", "--data", "spirals"], "unknown dataset 'spirals'; did you mean 'spiral'?"),
    ("unknown-device", ["train", "--device", "tpu"], "device must be one of auto, cpu, cuda"),
    ("cuda-without-gpu", ["train", "--device", "cuda", "--model", "mlp"], "no CUDA GPU is available here"),
    ("unknown-precision", ["train", "--precision", "8"], "precision must be one of 32, bf16, 16"),
    ("fp16-on-cpu", ["train", "--precision", "16", "--device", "cpu", "--model", "mlp"], "needs a CUDA device"),
    ("early-stopping-zero", ["train", "--early-stopping", "0"], "early_stopping must be >= 1 epochs"),
    ("keep-best-unknown-column", ["train", "--keep-best", "lowest"],
     "keep_best must be a metrics.csv column: loss, accuracy, mae, rmse, r2, mase, val_loss, "),
    ("keep-best-val-without-val-split", ["train", *TINY, "--val-split", "0", "--keep-best", "val_accuracy",
                                         "--out", "{w}/new"],
     "--keep-best val_accuracy: this run logs no such column (it logs loss, accuracy; val_ columns need a validation "
     "split, --val-split > 0)"),
    ("keep-best-other-tasks-metric", ["train", *TINY, "--keep-best", "mae", "--out", "{w}/new"],
     "--keep-best mae: this run logs no such column (it logs loss, accuracy, val_loss, val_accuracy)"),
    ("lr-monitor-without-plateau", ["train", "--lr-monitor", "loss"],
     "schedule 'constant' does not take --lr-monitor; it takes: no options"),
    ("checkpoint-every-zero", ["train", "--checkpoint-every", "0"], "checkpoint_every must be >= 1 steps, got 0"),
    ("seed-text", ["train", "--seed", "lucky"], "option 'seed' (--seed) expects integer, got 'lucky'"),
    ("bool-flag-with-value", ["train", "--overwrite=yes"], "ignored explicit argument 'yes'"),
    ("unknown-flag", ["train", "--bogus"], "unrecognized arguments: --bogus; see `zenlearn train --help`"),
    ("class-weight-negative", ["train", "--class-weight", "0=-1"], "class_weight must be none, balanced or CLASS=WEIGHT"),
    ("class-weight-unknown-class", ["train", "--model", "logreg", "--class-weight", "42=2", "--out", "{w}/cw"],
     "--class-weight 42=2: no class '42'; the classes are 0, 1, 2"),
    ("mistyped-flag", ["train", "--modle", "cnn"], "did you mean --model? See `zenlearn train --help`"),
    ("mistyped-command", ["trian"], "did you mean 'train'? See `zenlearn --help`"),
    ("unknown-command", ["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
    ("seed-cnn-on-sequences", ["train", "--data", "mnist1d", "--model", "seed-cnn", "--out", "{w}/new"],
     "model 'seed-cnn' takes image data, but dataset 'mnist1d' gives sequence samples"),
    ("fcn-on-images", ["train", "--data", "mnist", "--model", "fcn", "--out", "{w}/new"],
     "model 'fcn' takes sequence data, but dataset 'mnist' gives image samples of shape (1, 28, 28)"),
    ("seed-cnn-on-series", ["train", "--data", "ucr:GunPoint", "--model", "seed-cnn", "--out", "{w}/new"],
     "model 'seed-cnn' takes image data, but dataset 'GunPoint' gives sequence samples of shape (150, 1)"),
    # --- time series files (ucr:, series:)
    ("bucket-with-a-model-that-sees-the-padding", ["train", "--data", "ucr:JapaneseVowels", "--model", "mlp",
                                                   "--bucket", "--out", "{w}/new"],
     "--bucket: model 'mlp' sees every series at its full padded length (the padding as zeros), so its batches "
     "cannot be cut; use a model that masks the padding"),
    ("ucr-not-bundled", ["train", "--data", "ucr:Wafer", "--out", "{w}/new"],
     "--data ucr:Wafer: 'Wafer' is not bundled with aeon; bundled: "),
    ("series-header-labels-disagree", ["train", "--data", "series:{w}/ts/labels", "--model", "fcn", "--out", "{w}/new"],
     "labels_TRAIN.ts's header lists the labels a b but the data has c; fix the @classLabel line"),
    ("series-header-dimensions-disagree", ["train", "--data", "series:{w}/ts/dims", "--out", "{w}/new"],
     "dims_TRAIN.ts's header says @dimensions 3 but each series has 2"),
    ("series-header-univariate-disagrees", ["train", "--data", "series:{w}/ts/uni", "--out", "{w}/new"],
     "uni_TRAIN.ts's header says @univariate true but each series has 2 dimensions"),
    ("series-unseen-test-label", ["train", "--data", "series:{w}/ts/unseen", "--out", "{w}/new"],
     "unseen_TEST.ts has label(s) c never seen in unseen_TRAIN.ts"),
    ("forecast-window-too-long", ["train", "--data", "forecast:airline", "--model", "lstm", "--window", "200",
                                  "--out", "{w}/new"], "--window 200 plus --horizon 1 is longer than the training span"),
    ("forecast-column-not-numeric", ["train", "--data", "forecast:{w}/sales.csv", "--column", "note", "--model", "lstm",
                                     "--out", "{w}/new"], "--column 'note' is not numeric (string values such as 'a')"),
    ("series-test-without-train", ["train", "--data", "series:{w}/ts/lonely_TEST.ts", "--out", "{w}/new"],
     "found lonely_TEST.ts but no lonely_TRAIN.ts beside it"),
    # --- train: the run folder
    ("out-not-empty", ["train", *TINY, "--out", "{w}/keep"], "already holds files; pass --overwrite"),
    ("out-is-a-file", ["train", *TINY, "--out", "{w}/afile"], "is a file; choose a folder path"),
    ("out-under-a-file", ["train", *TINY, "--out", "{w}/afile/run"], "cannot create the folder (Not a directory)"),
    # --- data files
    ("data-dir-missing", ["train", *TINY, "--data-dir", "{w}/nodata", "--out", "{w}/new"],
     "dataset mnist: missing train-images-idx3-ubyte.gz"),
    ("data-wrong-checksum", ["train", *TINY, "--data-dir", "{w}/baddata", "--out", "{w}/new"],
     "(corrupt or not the official file)"),
    ("data-truncated", ["train", *TINY, "--data-dir", "{w}/truncdata", "--out", "{w}/new"],
     "(corrupt or not the official file)"),
    # --- tables (table:, npz:, sklearn:)
    ("table-target-missing", ["train", "--data", "table:{w}/t.csv", "--target", "nosuch", "--out", "{w}/new"],
     "--target nosuch: no such column in --data table:{w}/t.csv; its columns are: a, b, y"),
    ("table-target-constant", ["train", "--data", "table:{w}/constant.csv", "--out", "{w}/new"],
     "the target is constant (7 in every training row)"),
    ("table-one-class", ["train", "--data", "table:{w}/oneclass.csv", "--out", "{w}/new"],
     "only one class ('yes') in the training rows"),
    ("table-empty-file", ["train", "--data", "table:{w}/empty.csv", "--out", "{w}/new"], "the file is empty"),
    ("table-header-only", ["train", "--data", "table:{w}/header.csv", "--out", "{w}/new"],
     "the table has a header but no rows"),
    ("table-ragged-rows", ["train", "--data", "table:{w}/ragged.csv", "--out", "{w}/new"],
     "rows of different lengths (Expected 3 columns, got 2"),
    ("table-mixed-types", ["train", "--data", "table:{w}/mixed.csv", "--out", "{w}/new"],
     "column 'a' mixes numbers and text (e.g. 'seven'); fix those cells, or pass --categorical a"),
    ("table-unseen-test-label", ["train", "--data", "table:{w}/t.csv", "--test-data", "{w}/unseen.csv",
                                 "--out", "{w}/new"], "--test-data: target label 'maybe' never occurs in the training rows"),
    ("table-nan-target", ["train", "--data", "table:{w}/nantarget.csv", "--out", "{w}/new"],
     "1 row(s) have an empty or NaN target 'y' (the first is data row 3)"),
    ("table-nested-parquet", ["train", "--data", "table:{w}/nested.parquet", "--out", "{w}/new"],
     "nested column(s) 'tags' (list<element: string>); flatten them into plain columns, or pass --drop tags"),
    ("table-date-column", ["train", "--data", "table:{w}/dates.csv", "--out", "{w}/new"],
     "column 'day' holds dates or times (date32[day]), which the MLP cannot use; derive numbers from it"),
    ("table-identifier-column", ["train", "--data", "table:{w}/ids.csv", "--out", "{w}/new"],
     "column 'name' has a different value in every row (an identifier or free text)"),
    ("table-not-a-table", ["train", "--data", "table:{w}/notes.txt", "--out", "{w}/new"],
     "expected a .csv, .tsv, .parquet, .pq file, got .txt"),
    ("table-no-path", ["train", "--data", "table"], "--data table:PATH needs its argument"),
    ("table-test-split-one", ["train", "--data", "table:{w}/t.csv", "--test-split", "1"],
     "test_split must be in (0, 1), got 1.0"),
    ("table-unknown-task", ["train", "--data", "table:{w}/t.csv", "--task", "clustering"],
     "task must be one of auto, classification, regression, got 'clustering'"),
    ("npz-without-y", ["train", "--data", "npz:{w}/onlyx.npz", "--out", "{w}/new"],
     "no array 'y' in the archive (it holds x); save it with np.savez(path, x=X, y=Y)"),
    ("sklearn-unknown-name", ["train", "--data", "sklearn:titanic", "--out", "{w}/new"],
     "unknown table 'titanic'; choose one of: breast_cancer, wine, digits, iris, diabetes"),
    ("predict-table-missing-column", ["predict", "{w}/tablerun", "{w}/nocolumn.csv"],
     "the table lacks feature column(s) 'b' that the model was trained on"),
    ("predict-table-output-folder", ["predict", "{w}/tablerun", "{w}/t.csv", "--output", "{w}/keep"],
     "--output {w}/keep is a folder"),
    # --- config files
    ("config-missing", ["train", "--config", "{w}/nope.yaml"], "not found; pass the path of a YAML config file"),
    ("config-bad-yaml", ["train", "--config", "{w}/bad.yaml"], "is not valid YAML"),
    ("config-binary", ["train", "--config", "{w}/binary.yaml"], "is not valid YAML"),
    ("config-a-list", ["train", "--config", "{w}/list.yaml"], "must hold a mapping of option: value, got list"),
    ("config-unknown-key", ["train", "--config", "{w}/unknown.yaml"], "unknown option(s) 'learning_rate'"),
    ("config-epochs-text", ["train", "--config", "{w}/epochs_text.yaml"], "expects integer, got 'many'"),
    ("config-epochs-bool", ["train", "--config", "{w}/epochs_bool.yaml"], "expects integer, got True"),
    ("config-hidden-mapping", ["train", "--config", "{w}/hidden_map.yaml"], "expects comma-separated integers"),
    ("config-lr-list", ["train", "--config", "{w}/lr_list.yaml"], "expects number, got [1, 2]"),
    ("config-out-of-range", ["train", "--config", "{w}/range.yaml"], "batch_size must be >= 1, got -1"),
    ("config-model-number", ["train", "--config", "{w}/model_num.yaml"], "unknown model '3'"),
    # --- resume
    ("resume-missing-folder", ["train", "--resume", "{w}/nothing"], "not a folder"),
    ("resume-not-a-run", ["train", "--resume", "{w}/keep"], "no config.yaml, so not a zenlearn run folder"),
    ("resume-changed-lr", ["train", "--resume", "{w}/run", "--lr", "0.5"], "--lr 0.5 differs from the run's"),
    ("resume-changed-model", ["train", "--resume", "{w}/run", "--model", "seed-cnn"],
     "--model seed-cnn differs from the run's mlp"),
    ("resume-other-out", ["train", "--resume", "{w}/run", "--out", "{w}/elsewhere"], "differs from --resume"),
    ("resume-finished", ["train", "--resume", "{w}/run"], "the run finished all 1 epochs; nothing to resume"),
    ("resume-fewer-epochs", ["train", "--resume", "{w}/twoepochs", "--epochs", "1"],
     "--epochs 1 is fewer than the 2 epochs the run has done"),
    ("resume-corrupt-checkpoint", ["train", "--resume", "{w}/corruptckpt"], "not a loadable zenlearn checkpoint"),
    ("resume-malicious-checkpoint", ["train", "--resume", "{w}/evilckpt"], "refused to load"),
    ("resume-checkpoint-other-model", ["train", "--resume", "{w}/otherckpt"],
     "does not match this run's model/optimizer"),
    # --- evaluate / predict / export / report / runs / list
    ("evaluate-missing-run", ["evaluate", "{w}/nothing"], "is not a folder"),
    ("evaluate-not-a-run", ["evaluate", "{w}/keep"], "has no config.yaml"),
    ("evaluate-bad-split", ["evaluate", "{w}/run", "--split", "train"], "invalid choice: 'train'"),
    ("evaluate-corrupt-weights", ["evaluate", "{w}/badweights"], "not a valid safetensors file"),
    ("evaluate-weights-other-shape", ["evaluate", "{w}/othershape"], "weights do not match the model"),
    ("evaluate-corrupt-data-json", ["evaluate", "{w}/baddatajson"], "data.json is corrupt"),
    ("evaluate-corrupt-config", ["evaluate", "{w}/badconfig"], "is not valid YAML"),
    ("predict-missing-file", ["predict", "{w}/run", "{w}/missing.png"], "input file"),
    ("predict-top-k-zero", ["predict", "{w}/run", "{w}/missing.png", "--top-k", "0"], "--top-k must be >= 1, got 0"),
    ("predict-corrupt-image", ["predict", "{w}/run", "{w}/corrupt.png"], "cannot read image"),
    ("predict-unsupported-type", ["predict", "{w}/run", "{w}/notes.txt"], "unsupported input type .txt"),
    ("predict-wrong-shape", ["predict", "{w}/run", "{w}/wrong.npy"], "does not fit the model's input (1, 28, 28)"),
    ("predict-pickled-npy", ["predict", "{w}/run", "{w}/objects.npy"], "not a readable .npy array"),
    ("predict-truncated-idx", ["predict", "{w}/run", "{w}/trunc-idx3-ubyte"], "truncated or corrupt"),
    ("predict-no-files", ["predict", "{w}/run"], "the following arguments are required: FILE"),
    ("export-missing-run", ["export", "{w}/nothing"], "is not a folder"),
    ("export-bad-format", ["export", "{w}/run", "--format", "tflite"], "invalid choice: 'tflite'"),
    ("report-missing-run", ["report", "{w}/nothing"], "{w}/nothing"),
    ("list-unknown-kind", ["list", "widgets"], "unknown kind 'widgets'"),
    # --- compare / lr-find
    ("compare-bad-vary", ["compare", "--vary", "lr"], "--vary"),
    ("compare-unknown-key", ["compare", "--vary", "learning_rate=0.1,0.2"], "learning_rate"),
    ("compare-bad-value", ["compare", "--vary", "epochs=1,zero"], "expects integer"),
    ("compare-seeds-zero", ["compare", "--vary", "lr=0.1,0.2", "--seeds", "0"], "seeds"),
    ("compare-storage-timeout-negative", ["compare", "--vary", "lr=0.1,0.2", "--workers", "2", "--storage-timeout",
                                          "-1"], "argument --storage-timeout: expected a number of seconds >= 0"),
    ("compare-variant-and-vary", ["compare", "--vary", "lr=0.1,0.2", "--variant", "optimizer=sgd"],
     "give either --vary (every combination) or --variant (each run set listed), not both"),
    ("compare-variant-no-value", ["compare", "--variant", "optimizer"], "--variant expects KEY=VALUE pairs"),
    # --- race
    ("race-one-lane", ["race", "--data", "mnist1d", "--lane", "optimizer=sgd", "--out", "{w}/new"],
     "a race has 2 to 6 lanes, got 1; add a lane"),
    ("race-seven-lanes", ["race", "--data", "mnist1d", *["--lane", "optimizer=sgd"] * 7, "--out", "{w}/new"],
     "a race has 2 to 6 lanes, got 7; remove lanes"),
    ("race-unknown-optimizer", ["race", "--data", "mnist1d", "--lane", "optimizer=sgd", "--lane", "optimizer=rmsprob",
                                "--out", "{w}/new"], "lane 2 (optimizer=rmsprob): unknown optimizer 'rmsprob'"),
    ("race-lr-zero", ["race", "--data", "mnist1d", "--lane", "optimizer=sgd lr=0", "--lane", "optimizer=adam",
                      "--out", "{w}/new"], "lane 1 (optimizer=sgd lr=0.0): lr must be > 0"),
    ("race-lane-changes-the-model", ["race", "--data", "mnist1d", "--lane", "hidden=8", "--lane", "optimizer=adam",
                                     "--out", "{w}/new"], "lane 1: hidden cannot change within a race"),
    ("race-lane-no-value", ["race", "--lane", "optimizer", "--lane", "optimizer=adam"], "--lane expects KEY=VALUE"),
    ("race-max-steps-zero", ["race", "--data", "mnist1d", "--lane", "optimizer=sgd", "--lane", "optimizer=adam",
                             "--max-steps", "0", "--out", "{w}/new"], "max_steps must be an integer >= 1, got 0"),
    ("race-augment-sequence-data", ["race", "--data", "mnist1d", "--lane", "base", "--lane", "augment=mnist",
                                    "--out", "{w}/new"], "lane 2 (augment=mnist): --augment works on images"),
    ("lr-find-bad-range", ["lr-find", "--start-lr", "1", "--end-lr", "0.1"], "start"),
    ("lr-find-steps-text", ["lr-find", "--steps", "many"], "invalid int value: 'many'"),
    # --- reproduce
    ("reproduce-no-out", ["reproduce", "--only", "models"], "the following arguments are required: --out"),
    ("reproduce-unknown-experiment", ["reproduce", "--out", "{w}/new", "--only", "nosuch"],
     "--only: unknown experiment 'nosuch'"),
    ("reproduce-seeds-zero", ["reproduce", "--out", "{w}/new", "--seeds", "0"], "--seeds must be >= 1, got 0"),
    ("reproduce-bad-budget", ["reproduce", "--out", "{w}/new", "--budget", "huge"], "invalid choice: 'huge'"),
    # --- distill
    ("distill-no-teacher", ["distill", "--student", "mlp"], "the following arguments are required: --teacher"),
    ("distill-missing-teacher", ["distill", "--teacher", "{w}/nothing", "--student", "mlp"], "is not a folder"),
    ("distill-teacher-not-a-run", ["distill", "--teacher", "{w}/keep", "--student", "mlp"], "has no config.yaml"),
    ("distill-temperature-zero", ["distill", "--teacher", "{w}/run", "--student", "mlp", "--temperature", "0"],
     "temperature must be > 0"),
    ("distill-alpha-above-1", ["distill", "--teacher", "{w}/run", "--student", "mlp", "--alpha", "2"],
     "alpha must be in [0, 1], got 2.0"),
    ("distill-unknown-student", ["distill", "--teacher", "{w}/run", "--student", "nonet"], "unknown model 'nonet'"),
    ("distill-bad-sweep", ["distill", "--teacher", "{w}/run", "--student", "mlp", "--sweep", "T"],
     "--sweep expects KEY=V1,V2"),
    ("distill-sweep-repeated-value", ["distill", "--teacher", "{w}/run", "--student", "mlp", "--sweep",
                                      "temperature=2,4,2"], "--sweep temperature: a value is listed twice (2,4,2)"),
    ("distill-unknown-method", ["distill", "--teacher", "{w}/run", "--student", "mlp", "--method", "magic"],
     "unknown distillation method 'magic'"),
    ("distill-teacher-corrupt-weights", ["distill", "--teacher", "{w}/badweights", "--student", "mlp",
                                         "--out", "{w}/new"], "not a valid safetensors file"),
    # --- quickstart, augment, plot-activations
    ("quickstart-out-is-a-file", ["quickstart", "--out", "{w}/afile"], "--out {w}/afile is a file; choose a folder"),
    ("quickstart-out-not-empty", ["quickstart", "--models", "mlp,logreg", "--out", "{w}/qs"],
     "--out {w}/qs/logreg already holds files; pass --overwrite"),
    ("quickstart-unknown-model", ["quickstart", "--models", "svm"], "--models: expected a comma-separated subset"),
    ("augment-unknown-preset", ["augment", "--augment", "bogus"], "'bogus' is neither a preset"),
    ("augment-empty-value", ["augment", "--augment", "rotation_range="], "--augment expects KEY=VALUE"),
    ("augment-bad-value", ["augment", "--augment", "rotation_range=abc"], "rotation_range must be a number >= 0"),
    ("augment-samples-zero", ["augment", "--augment", "mnist", "--samples", "0"], "--samples must be >= 1, got 0"),
    ("augment-out-is-a-folder", ["augment", "--augment", "mnist", "--out", "{w}/keep"], "is a folder; pass a file name"),
    ("augment-sequence-data", ["augment", "--augment", "mnist", "--data", "mnist1d"], "holds sequence samples, not images"),
    ("plot-activations-out-under-a-file", ["plot-activations", "--out", "{w}/afile/act.png"],
     "{w}/afile is a file, not a folder; choose another path"),
    ("plot-activations-out-is-a-folder", ["plot-activations", "--out", "{w}/keep"], "cannot write {w}/keep"),
]

RESULTS: dict[str, tuple[int, str]] = {}


def _evil_checkpoint(path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {path.parent / 'marker'}",))

    torch.save({"model": Evil()}, path)


@pytest.fixture(scope="module")
def world(tmp_path_factory, data_dir):
    """A finished run, run folders broken in every way, bad data folders, bad configs and bad input files."""
    w = tmp_path_factory.mktemp("world")
    run = w / "run"
    train_run(TrainConfig(model="mlp", hidden=(16,), epochs=1, train_subset=200, report=False, out=str(run)),
              verbose=False)
    train_run(TrainConfig(model="mlp", hidden=(16,), epochs=2, train_subset=200, report=False,
                          out=str(w / "twoepochs")), verbose=False)
    (w / "twoepochs" / "summary.json").unlink()  # looks interrupted after its last epoch
    (w / "keep").mkdir()
    (w / "keep" / "precious.txt").write_text("do not lose me")
    (w / "afile").write_text("a file, not a folder")
    (w / "qs" / "logreg").mkdir(parents=True)
    (w / "qs" / "logreg" / "notes.txt").write_text("an earlier run's notes")
    for name, edit in {
        "badweights": lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 40),
        "othershape": lambda d: (d / "config.yaml").write_text((d / "config.yaml").read_text().replace(
            "- 16", "- 17")),
        "baddatajson": lambda d: (d / "data.json").write_text("{not json"),
        "badconfig": lambda d: (d / "config.yaml").write_text("model: [unclosed"),
        "corruptckpt": lambda d: ((d / "checkpoint.pt").write_bytes((d / "checkpoint.pt").read_bytes()[:999]),
                                  (d / "summary.json").unlink()),
        "evilckpt": lambda d: (_evil_checkpoint(d / "checkpoint.pt"), (d / "summary.json").unlink()),
        "otherckpt": lambda d: ((d / "config.yaml").write_text((d / "config.yaml").read_text().replace(
            "- 16", "- 17")), (d / "summary.json").unlink()),
    }.items():
        shutil.copytree(run, w / name)
        edit(w / name)
    src = data_dir / "mnist"
    for folder, mangle in (("baddata", lambda b: b[:-1] + bytes([b[-1] ^ 1])), ("truncdata", lambda b: b[: len(b) // 2])):
        (w / folder / "mnist").mkdir(parents=True)
        for f in src.iterdir():
            data = f.read_bytes()
            (w / folder / "mnist" / f.name).write_bytes(mangle(data) if f.name.startswith("train-images") else data)
    configs = {"bad.yaml": "epochs: [1, 2\n", "list.yaml": "- epochs\n- 3\n", "unknown.yaml": "learning_rate: 0.1\n",
               "epochs_text.yaml": "epochs: many\n", "epochs_bool.yaml": "epochs: true\n",
               "hidden_map.yaml": "hidden: {a: 1}\n", "lr_list.yaml": "lr: [1, 2]\n", "range.yaml": "batch_size: -1\n",
               "model_num.yaml": "model: 3\n"}
    for name, text in configs.items():
        (w / name).write_text(text)
    (w / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage\x89")
    (w / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    (w / "notes.txt").write_text("hello")
    np.save(w / "wrong.npy", np.zeros((3, 5, 5), np.float32))
    np.save(w / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (w / "trunc-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]) + b"\x00" * 100)
    (w / "cwd").mkdir()
    _table_files(w)
    _series_files(w / "ts")
    (w / "sales.csv").write_text("month,sales,note\n" + "".join(f"2020-{m:02d},{m * 3},a\n" for m in range(1, 13)))
    return w


def _table_files(w: Path) -> None:
    """Tables broken in every way the tables issue lists, and a finished run on a good one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = "".join(f"{i % 5},{'xyz'[i % 3]},{'yes' if i % 2 else 'no'}\n" for i in range(30))
    texts = {"t.csv": "a,b,y\n" + good, "constant.csv": "a,b,y\n" + "".join(f"{i % 5},{i % 2},7.0\n" for i in range(30)),
             "oneclass.csv": "a,y\n" + "1,yes\n2,yes\n3,yes\n", "empty.csv": "", "header.csv": "a,b,y\n",
             "ragged.csv": "a,b,y\n1,2,3\n4,5\n", "mixed.csv": "a,y\n1,0\n2,1\nseven,0\n4,1\n",
             "unseen.csv": "a,b,y\n1,x,yes\n2,y,maybe\n", "nantarget.csv": "a,y\n1,0.5\n2,1.5\n3,\n4,2.5\n",
             "dates.csv": "day,y\n" + "".join(f"2024-01-{i + 1:02d},{i % 2}\n" for i in range(20)),
             "ids.csv": "name,y\n" + "".join(f"person {i},{i % 2}\n" for i in range(20)),
             "nocolumn.csv": "a\n1\n"}
    for name, text in texts.items():
        (w / name).write_text(text)
    pq.write_table(pa.table({"tags": [["a"], ["b", "c"]], "y": [0, 1]}), w / "nested.parquet")
    np.savez(w / "onlyx.npz", x=np.zeros((4, 2)))
    train_run(TrainConfig(data=f"table:{w / 't.csv'}", model="mlp", hidden=(4,), epochs=1, report=False,
                          out=str(w / "tablerun")), verbose=False)


def _series_files(ts: Path) -> None:
    """.ts files whose header disagrees with their data, an unseen test label, a _TEST without its _TRAIN."""
    ts.mkdir()
    head = "@problemName x\n@univariate {uni}\n@dimensions {dims}\n@equalLength true\n@classLabel true {labels}\n@data\n"
    files = {"labels": ("true", 1, "a b", ["1,2,3:a", "3,2,1:c"]), "dims": ("false", 3, "a b", ["1,2:3,4:a"]),
             "uni": ("true", 1, "a b", ["1,2:3,4:a"]), "unseen": ("true", 1, "a b c", ["1,2,3:a", "3,2,1:b"])}
    for name, (uni, dims, labels, rows) in files.items():
        text = head.format(uni=uni, dims=dims, labels=labels)
        (ts / f"{name}_TRAIN.ts").write_text(text + "\n".join(rows) + "\n")
        (ts / f"{name}_TEST.ts").write_text(text + ("3,2,1:c\n" if name == "unseen" else rows[0] + "\n"))
    (ts / "lonely_TEST.ts").write_text(head.format(uni="true", dims=1, labels="a") + "1,2:a\n")


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case_id,argv,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(case_id, argv, needle, world, capsys, monkeypatch):
    monkeypatch.chdir(world / "cwd")  # a default run folder would land here, and be noticed
    before = _snapshot(world)
    code = main([a.replace("{w}", str(world)) for a in argv])
    out, err = capsys.readouterr()
    RESULTS[case_id] = (code, err.strip().replace(str(world), "<tmp>"))
    assert "Traceback" not in err and "Traceback" not in out
    assert len(err.strip().splitlines()) == 1, err
    assert code == 2, err
    assert needle.replace("{w}", str(world)) in err
    assert _snapshot(world) == before, "a bad input changed or removed files"  # nothing lost, nothing written
    assert not (world / "marker").exists() and not any(world.glob("*/marker"))


def test_at_least_50_cases():
    assert len(CASES) >= 50 and len({c[0] for c in CASES}) == len(CASES)


def test_reliability_doc_lists_every_case():
    """docs/reliability.md holds the generated table; regenerate it when cases change (see module doc)."""
    if os.environ.get("ZENLEARN_WRITE_DOCS") == "1":
        if len(RESULTS) != len(CASES):
            pytest.fail("run the whole table (no -k) to regenerate docs/reliability.md")
        rows = ["| # | case | command | exit | stderr (one line) |", "| ---: | --- | --- | ---: | --- |"]
        for i, (case_id, argv, _) in enumerate(CASES, 1):
            code, line = RESULTS[case_id]
            cmd = "zenlearn " + " ".join(a.replace("{w}", "<tmp>") for a in argv)
            rows.append(f"| {i} | {case_id} | `{cmd}` | {code} | {line.replace('|', '&#124;')} |")
        table = f"{BEGIN}\n{len(CASES)} bad inputs tried: {sum(c == 2 for c, _ in RESULTS.values())} exit 2, " \
                f"0 tracebacks, 0 files changed or lost.\n\n" + "\n".join(rows) + f"\n{END}"
        text = DOC.read_text()
        DOC.write_text(text[: text.index(BEGIN)] + table + text[text.index(END) + len(END):])
    text = DOC.read_text()
    assert f"{len(CASES)} bad inputs tried" in text
    missing = [c[0] for c in CASES if f"| {c[0]} |" not in text]
    assert not missing, f"docs/reliability.md lacks {missing}; regenerate it (see tests/cli/test_bad_inputs.py)"
