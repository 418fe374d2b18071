"""Training speed of the time-series FCN (Wang et al. 2017): zenlearn's `fcn` vs aeon's Keras-based FCNClassifier.

Both train the same network (conv 128x8, 256x5, 128x3 with batch norm and ReLU, global average pool, softmax)
on the same bundled archive dataset (aeon's own files, read by each side's loader), with Adam at batch 16 and
the same LR rule (halve after 50 epochs without a lower training loss). Each contender runs in its own process,
one after the other, on the same number of CPU threads (zenlearn twice: float32, and bfloat16 autocast,
`--precision bf16`); throughput is training samples / median epoch time
over the epochs after the first (the first pays for graph tracing and allocation). aeon's FCNClassifier keeps
its own callbacks (ReduceLROnPlateau and a ModelCheckpoint that saves the best model each epoch): that is
how it trains. tsai's FCN is not measured: tsai needs torchvision, which this machine's PyTorch build lacks.

Usage (aeon's deep classifiers need TensorFlow: put it in a separate venv, e.g.
`python -m venv /work/bench-venv && /work/bench-venv/bin/pip install tensorflow-cpu aeon`):

    python benchmarks/series_fcn_speed.py --aeon-python /work/bench-venv/bin/python
    python benchmarks/series_fcn_speed.py --dataset GunPoint --epochs 6 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def zenlearn_epochs(dataset: str, epochs: int, threads: int, precision: str = "32") -> dict:
    """zenlearn's `fcn` through the one `Trainer` (`precision` "32" or "bf16" autocast): per-epoch seconds."""
    import torch

    torch.set_num_threads(threads)
    from zenlearn.data import BatchLoader, load_splits
    from zenlearn.nn.build import create_model
    from zenlearn.training.trainer import Trainer

    s = load_splits(f"ucr:{dataset}", val_split=0.0, normalize="none")  # the files are z-normalised already
    model = create_model("fcn", s.spec)
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=1e-3), device="cpu", precision=precision)
    hist = trainer.fit(BatchLoader(s.train, 16, shuffle=True), epochs=epochs, verbose=False)
    return {"n": len(s.train), "seconds": [e["train_seconds"] for e in hist.epochs],
            "framework": f"torch {torch.__version__}"}


def aeon_epochs(dataset: str, epochs: int, threads: int) -> dict:
    """aeon's Keras FCNClassifier with its own callbacks, plus one that times each epoch."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from pathlib import Path

    import aeon.datasets
    import tensorflow as tf
    from aeon.classification.deep_learning import FCNClassifier

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    data = Path(aeon.datasets.__file__).parent / "data"
    x, y = aeon.datasets.load_classification(dataset, split="train", extract_path=str(data))
    seconds: list[float] = []

    class EpochTimer(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.t0)

    plateau = tf.keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=50, min_lr=0.0001)
    clf = FCNClassifier(n_epochs=epochs, batch_size=16, callbacks=[plateau, EpochTimer()],
                        file_path=os.environ.get("TMPDIR", "/tmp") + "/", random_state=0)
    clf.fit(x, y)
    return {"n": len(x), "seconds": seconds, "framework": f"tensorflow {tf.__version__}, keras {tf.keras.__version__}"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="OSULeaf", help="a dataset bundled in aeon's wheel (default: OSULeaf)")
    p.add_argument("--epochs", type=int, default=5, help="epochs per contender; the first is not timed")
    p.add_argument("--threads", type=int, default=2, help="CPU threads of each contender")
    p.add_argument("--aeon-python", default=sys.executable, help="the Python with tensorflow and aeon")
    p.add_argument("--contender", choices=("zenlearn", "zenlearn-bf16", "aeon"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.contender:
        if a.contender == "aeon":
            print(json.dumps(aeon_epochs(a.dataset, a.epochs, a.threads)))
        else:
            precision = "bf16" if a.contender.endswith("bf16") else "32"
            print(json.dumps(zenlearn_epochs(a.dataset, a.epochs, a.threads, precision)))
        return
    results = {}
    contenders = (("zenlearn fcn", "zenlearn", sys.executable), ("aeon FCNClassifier (Keras)", "aeon", a.aeon_python),
                  ("zenlearn fcn --precision bf16", "zenlearn-bf16", sys.executable))
    for name, kind, python in contenders:
        cmd = [python, __file__, "--contender", kind, "--dataset", a.dataset, "--epochs", str(a.epochs),
               "--threads", str(a.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(a.threads)})
        if out.returncode:
            raise SystemExit(f"{name} failed:\n{out.stderr[-2000:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        epoch = statistics.median(r["seconds"][1:])
        results[name] = r["n"] / epoch
        print(f"{name:28s} {results[name]:8.1f} samples/s  (median epoch {epoch:.2f} s of {r['n']} series, "
              f"epochs {', '.join(f'{s:.2f}' for s in r['seconds'])} s; {r['framework']})", flush=True)
    zen, keras, bf16 = results.values()
    print(f"ratio zenlearn / aeon-Keras: {zen / keras:.2f}x fp32, {bf16 / keras:.2f}x bf16  "
          f"({a.dataset}, batch 16, {a.threads} thread(s))")


if __name__ == "__main__":
    main()
