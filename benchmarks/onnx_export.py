"""ONNX export per model family: agreement with PyTorch and CPU inference time, onnxruntime vs PyTorch.

Trains a tiny run per family (1 epoch on a subset; the weights only need to be non-trivial), exports it
with `zenlearn.export.export_run` (checked on 1,000 real test samples), then times batch inference of
the same 1,000 samples in PyTorch (eval, inference_mode) and onnxruntime (CPUExecutionProvider), same
thread count. Prints one line per family with the ratio PyTorch time / onnxruntime time (>1: ORT faster).

    ZENLEARN_DATA=../shared/datasets python benchmarks/onnx_export.py [--repeats 20] [--out /tmp/onnx-bench]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

FAMILIES = [  # (label, TrainConfig overrides)
    ("mlp 256,256 / mnist", dict(data="mnist", model="mlp")),
    ("seed-cnn / mnist", dict(data="mnist", model="seed-cnn")),
    ("gru 64 x2 / mnist1d", dict(data="mnist1d", model="gru", hidden_size=64, num_layers=2)),
    ("lstm 64 / mnist1d", dict(data="mnist1d", model="lstm", hidden_size=64)),
]


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--out", default=None, help="folder for the runs (default: a temporary folder)")
    args = ap.parse_args()

    import onnxruntime as ort

    from zenlearn import TrainConfig, train_run
    from zenlearn.data import BatchLoader, load_splits
    from zenlearn.training.build import load_run
    from zenlearn.workflows.export import export_run

    root = Path(args.out or tempfile.mkdtemp(prefix="onnx-bench-"))
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, {threads} threads, {args.samples} samples, "
          f"median of {args.repeats}")
    for label, over in FAMILIES:
        run = root / label.split()[0]
        train_run(TrainConfig(epochs=1, train_subset=2000, report=False, out=str(run), overwrite=True, **over),
                  verbose=False)
        r = export_run(run, samples=args.samples)
        cfg, spec, trainer = load_run(run)
        splits = load_splits(cfg.data, val_split=cfg.val_split, seed=cfg.seed)
        x, _ = next(iter(BatchLoader(splits.test, args.samples, scale=spec.scale)))
        model = trainer.model.eval()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        sess = ort.InferenceSession(r["path"], opts, providers=["CPUExecutionProvider"])
        xn = x.numpy()

        def torch_run():
            with torch.inference_mode():
                model(x)

        t_pt = _median_seconds(torch_run, args.repeats)
        t_ort = _median_seconds(lambda: sess.run(None, {"input": xn}), args.repeats)
        print(f"{label:<22} max abs diff {r['max_abs_diff']:.1e}  PyTorch {1e3 * t_pt:7.2f} ms  "
              f"onnxruntime {1e3 * t_ort:7.2f} ms  ratio PyTorch/ORT {t_pt / t_ort:5.2f}  ({r['bytes']:,} bytes)")


if __name__ == "__main__":
    main()
