"""The survey's `flow_from_directory` example: zenlearn vs Keras vs the idiomatic PyTorch loop, one run.

Workload: a class-per-folder JPEG folder (benchmarks/make_photo_folder.py), 224 x 224, batch 32, binary, the
survey's augmentation (rotation 45, shifts 0.2, shear 0.2, zoom 0.2, horizontal flip, fill nearest).

  input pipeline   augmented batches per second, no model: epoch 1 (cold: zenlearn builds its decoded cache
                   from an empty cache folder) and epochs >= 2 (zenlearn reads the cache; their mean is reported)
  training epoch   a whole epoch of examples/survey_folder.py's CNN (Keras: the same layers, `model.fit`)
  memory           peak RSS of `zenlearn train --cache disk` (process + decoding workers) on a large folder

Contenders, each in its own process (TensorFlow and torch in one process fight over threads):
  zenlearn   --data folder:PATH --cache auto (FolderLoader's uint8 batches + Augment, as `zenlearn train --augment`
             runs them; `train_run` for training)
  keras      ImageDataGenerator(**survey).flow_from_directory(PATH, target_size=(224, 224), batch_size=32,
             class_mode="binary") (Keras 3: the legacy module; needs scipy and `pip install -e '.[bench]'`)
  torch      a Dataset that opens each file with PIL, converts to RGB and resizes to 224 x 224 (bilinear),
             the same augmentation per sample (zenlearn's Augment on one image), DataLoader(num_workers=2)

    python benchmarks/make_photo_folder.py runs/photos && python benchmarks/make_photo_folder.py runs/photos-20k --images 10000
    python benchmarks/folder_pipeline.py runs/photos --memory-folder runs/photos-20k
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SURVEY = dict(rotation_range=45, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
              horizontal_flip=True, fill_mode="nearest")
SURVEY_SPEC = ",".join(f"{k}={str(v).lower()}" for k, v in SURVEY.items())
SIZE, BATCH = 224, 32


def zenlearn_pipeline(folder: str, epochs: int) -> list[float]:
    from zenlearn import Augment
    from zenlearn.data.folder import load_folder

    s = load_folder(folder, image_size=(SIZE, SIZE), class_mode="binary", val_split=0.1, cache="auto")
    # as `zenlearn train` does with --augment: the loader hands uint8 pixels to Augment (8-bit OpenCV warp)
    loader, aug = s.loader(s.train, BATCH, shuffle=True, uint8=True), Augment(**SURVEY, seed=0)
    rates, full = [], None
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        t, n = time.perf_counter(), 0
        for x, _ in loader:
            n += len(aug(x))
            full = x if len(x) == BATCH else full
        rates.append(n / (time.perf_counter() - t))
    # the ceiling: the augmentation alone, on one cached uint8 batch over and over (no loader at all)
    t, reps = time.perf_counter(), 20
    for _ in range(reps):
        aug(full)
    rates.append(reps * BATCH / (time.perf_counter() - t))
    return rates


def keras_pipeline(folder: str, epochs: int) -> list[float]:
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    gen = ImageDataGenerator(**SURVEY, rescale=1 / 255).flow_from_directory(
        folder, target_size=(SIZE, SIZE), batch_size=BATCH, class_mode="binary", seed=0)
    rates = []
    for _ in range(epochs):
        t, n = time.perf_counter(), 0
        for i in range(len(gen)):
            n += len(gen[i][0])
        gen.on_epoch_end()
        rates.append(n / (time.perf_counter() - t))
    return rates


def torch_dataset(folder: str):
    import numpy as np
    import torch
    from PIL import Image

    from zenlearn import Augment

    files = sorted((str(p), i) for i, c in enumerate(sorted(os.listdir(folder))) for p in Path(folder, c).glob("*.jpg"))
    aug = Augment(**SURVEY, seed=0)

    class Photos(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(files)

        def __getitem__(self, i: int):
            with Image.open(files[i][0]) as im:
                arr = np.asarray(im.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR))
            x = torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255)  # (3, H, W)
            return aug(x[None])[0], files[i][1]

    return Photos()


def torch_pipeline(folder: str, epochs: int) -> list[float]:
    import torch

    loader = torch.utils.data.DataLoader(torch_dataset(folder), batch_size=BATCH, shuffle=True, num_workers=2)
    rates = []
    for _ in range(epochs):
        t, n = time.perf_counter(), 0
        for x, _ in loader:
            n += len(x)
        rates.append(n / (time.perf_counter() - t))
    return rates


def zenlearn_training(folder: str, epochs: int) -> list[float]:
    from zenlearn import TrainConfig, train_run

    out = tempfile.mkdtemp(prefix="zl-bench-")
    cfg = TrainConfig(data=f"folder:{folder}", image_size=(SIZE, SIZE), batch_size=BATCH, class_mode="binary",
                      augment=SURVEY_SPEC, model="cnn", channels=(16, 32, 64), stride=2, hidden=(64,), optimizer="adam",
                      epochs=epochs, val_split=0.1, out=out, overwrite=True, report=False)
    train_run(cfg, verbose=False)
    with open(Path(out) / "metrics.csv") as f:
        return [float(r["seconds"]) for r in csv.DictReader(f)]


def keras_training(folder: str, epochs: int) -> list[float]:
    import keras
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    gen = ImageDataGenerator(**SURVEY, rescale=1 / 255, validation_split=0.1).flow_from_directory(
        folder, target_size=(SIZE, SIZE), batch_size=BATCH, class_mode="binary", subset="training", seed=0)
    L = keras.layers
    model = keras.Sequential([keras.Input((SIZE, SIZE, 3))] + [
        layer for ch in (16, 32, 64) for layer in (L.Conv2D(ch, 3, strides=2, padding="same", activation="relu"),
                                                   L.MaxPooling2D(2))] + [
        L.Flatten(), L.Dense(64, activation="relu"), L.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    model.fit(gen, epochs=epochs, verbose=0, callbacks=[Timer()])
    return times


def memory(folder: str) -> dict:
    from zenlearn import TrainConfig, train_run

    out = tempfile.mkdtemp(prefix="zl-bench-mem-")
    t = time.perf_counter()
    train_run(TrainConfig(data=f"folder:{folder}", image_size=(SIZE, SIZE), batch_size=BATCH, class_mode="binary",
                          augment=SURVEY_SPEC, model="cnn", channels=(16, 32, 64), stride=2, hidden=(64,),
                          epochs=1, eval_batch_size=BATCH, cache="disk", out=out, overwrite=True, report=False), verbose=False)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": own, "largest_worker_rss_mb": kids, "seconds": time.perf_counter() - t}


CONTENDERS = {"zenlearn": (zenlearn_pipeline, zenlearn_training), "keras": (keras_pipeline, keras_training),
              "torch": (torch_pipeline, None)}


def child(args: argparse.Namespace) -> dict:
    if args.contender == "memory":
        return memory(args.folder)
    pipeline, training = CONTENDERS[args.contender]
    result = {"pipeline": pipeline(args.folder, args.epochs)}
    if args.contender == "zenlearn":
        result["augment_alone"] = result["pipeline"].pop()
    if training is not None and args.train_epochs:
        result["training_seconds"] = training(args.folder, args.train_epochs)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="photo folder (make_photo_folder.py)")
    p.add_argument("--epochs", type=int, default=3, help="input-pipeline epochs per contender [default: 3]")
    p.add_argument("--train-epochs", type=int, default=2, help="training epochs (0: skip) [default: 2]")
    p.add_argument("--memory-folder", default=None, help="large folder for the --cache disk peak-RSS check")
    p.add_argument("--contenders", default="zenlearn,keras,torch")
    p.add_argument("--contender", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.contender:
        print(json.dumps(child(args)))
        return 0
    results = {}
    names = args.contenders.split(",") + (["memory"] if args.memory_folder else [])
    for name in names:
        cache = tempfile.mkdtemp(prefix="zl-bench-cache-")  # every zenlearn process starts cold
        env = {**os.environ, "ZENLEARN_CACHE": cache, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
        folder = args.memory_folder if name == "memory" else args.folder
        cmd = [sys.executable, __file__, folder, "--epochs", str(args.epochs), "--train-epochs",
               str(args.train_epochs), "--contender", name]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode:
            results[name] = {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
        else:
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(name, json.dumps(results[name]), flush=True)
    report(results)
    return 0


def report(results: dict) -> None:
    def rate(name: str, epoch: int) -> float | None:
        """Images/s of epoch 1 (epoch=0), or the mean over epochs >= 2 (epoch=1)."""
        r = results.get(name, {}).get("pipeline")
        if not r or len(r) <= epoch:
            return None
        return r[0] if epoch == 0 else sum(r[1:]) / len(r[1:])

    print(f"\n{'contender':10} {'epoch 1 img/s':>14} {'epochs 2+ img/s':>16} {'train epoch 2 s':>16}")
    for name in CONTENDERS:
        if name in results and "error" not in results[name]:
            tr = results[name].get("training_seconds") or []
            r1, r2 = rate(name, 0), rate(name, 1)
            print(f"{name:10} {r1 or 0:14.1f} {r2 or 0:16.1f} {(tr[1] if len(tr) > 1 else float('nan')):16.1f}")
    z, k = results.get("zenlearn", {}), results.get("keras", {})
    if "pipeline" in z and "pipeline" in k:
        print(f"zenlearn / keras: epoch 1 {rate('zenlearn', 0) / rate('keras', 0):.1f}x, "
              f"epochs 2+ {rate('zenlearn', 1) / rate('keras', 1):.1f}x", end="")
        zt, kt = z.get("training_seconds", []), k.get("training_seconds", [])
        if len(zt) > 1 and len(kt) > 1:
            print(f", training epoch 2 {kt[1] / zt[1]:.1f}x", end="")
        print()
    if "augment_alone" in z:
        print(f"zenlearn's augmentation alone (one cached batch, repeated): {z['augment_alone']:.1f} img/s")
    if "memory" in results and "error" not in results["memory"]:
        m = results["memory"]
        print(f"--cache disk peak RSS: {m['peak_rss_mb']:.0f} MB (largest worker {m['largest_worker_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    sys.exit(main())
