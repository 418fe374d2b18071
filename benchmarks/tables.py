"""Tables (issue 25): MLP fit speed against scikit-learn's MLPClassifier and skorch, and CSV load time and memory
against pyarrow's own read, each contender in its own process, in one run.

    python benchmarks/tables.py fit --rows 1000000 --epochs 2       # zenlearn / MLPClassifier / skorch
    python benchmarks/tables.py load --rows 1000000                  # zenlearn's table: loader / pyarrow.csv

The table is generated (seeded): `--cols` standard-normal float columns and a binary target that depends on
them non-linearly. Every contender fits the same network (cols → 100 ReLU → 2, Adam at 1e-3, batch `--batch`,
`--epochs` epochs, shuffled) on the same training rows with the same torch / BLAS thread count, and is scored on
the same 10 % of held-out rows. Times are wall seconds of `fit` only (data already in memory); the ratios are
what counts on a shared machine, since the contenders run back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def make_table(rows: int, cols: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (rows, cols) float32 ~ N(0, 1) and y in {0, 1}: the sign of a linear term plus a sine of another."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols), dtype=np.float32)
    w1, w2 = rng.standard_normal(cols), rng.standard_normal(cols)
    score = x @ w1 / np.sqrt(cols) + np.sin(2 * x @ w2 / np.sqrt(cols))
    return x, (score > 0).astype(np.int64)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


# ---------------------------------------------------------------- contenders (one per process)

def fit_worker(name: str, data: Path, epochs: int, batch: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    d = np.load(data)
    x, y = d["x"], d["y"]
    n_test = len(x) // 10
    xt, yt, x, y = x[:n_test], y[:n_test], x[n_test:], y[n_test:]
    if name == "zenlearn":
        from zenlearn.sklearn import NeuralClassifier

        est = NeuralClassifier(hidden=(100,), lr=1e-3, batch_size=batch, epochs=epochs, early_stopping=None,
                               threads=threads)
    elif name == "sklearn":
        from sklearn.neural_network import MLPClassifier

        est = MLPClassifier(hidden_layer_sizes=(100,), learning_rate_init=1e-3, batch_size=batch, max_iter=epochs,
                            alpha=0.0, tol=0.0, n_iter_no_change=epochs + 1, random_state=0)
    else:
        from skorch import NeuralNetClassifier

        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 100), torch.nn.ReLU(), torch.nn.Linear(100, 2))
        est = NeuralNetClassifier(net, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=1e-3,
                                  batch_size=batch, max_epochs=epochs, train_split=None, verbose=0,
                                  iterator_train__shuffle=True)
    t0 = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(x, y)
    seconds = time.perf_counter() - t0
    acc = float((est.predict(xt) == yt).mean())
    return {"contender": name, "fit_seconds": seconds, "test_accuracy": acc, "train_rows": len(x)}


def load_worker(name: str, path: Path) -> dict:
    if name == "pyarrow":
        import pyarrow.csv as pcsv

        base = rss_mb()
        t0 = time.perf_counter()
        table = pcsv.read_csv(path)
        seconds = time.perf_counter() - t0
        rows = table.num_rows
    else:
        from zenlearn.data import load_splits

        base = rss_mb()
        t0 = time.perf_counter()
        s = load_splits(f"table:{path}", val_split=0.1, seed=0)
        seconds = time.perf_counter() - t0
        rows = len(s.train) + len(s.val) + len(s.test)
    return {"contender": name, "load_seconds": seconds, "rows": rows, "rss_before_mb": base, "peak_rss_mb": peak_mb()}


def run(args: list[str], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["fit", "load", "_fit", "_load"])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--cols", type=int, default=50)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--contenders", default="zenlearn,sklearn,skorch")
    p.add_argument("--work", default="/tmp/zenlearn-bench-tables")
    p.add_argument("--name", default="")
    p.add_argument("--path", default="")
    a = p.parse_args()
    if a.what == "_fit":
        print(json.dumps(fit_worker(a.name, Path(a.path), a.epochs, a.batch, a.threads)))
        return
    if a.what == "_load":
        print(json.dumps(load_worker(a.name, Path(a.path))))
        return
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    x, y = make_table(a.rows, a.cols)
    if a.what == "fit":
        data = work / f"table-{a.rows}x{a.cols}.npz"
        if not data.is_file():
            np.savez(data, x=x, y=y)
        results = [run(["_fit", "--name", c, "--path", str(data), "--epochs", str(a.epochs), "--batch", str(a.batch),
                        "--threads", str(a.threads)], a.threads) for c in a.contenders.split(",")]
        zl = next(r for r in results if r["contender"] == "zenlearn")
        print(f"fit: {a.rows:,} rows x {a.cols} columns, {a.epochs} epoch(s), batch {a.batch}, {a.threads} thread(s)")
        for r in results:
            print(f"  {r['contender']:<9} {r['fit_seconds']:8.1f} s   test accuracy {100 * r['test_accuracy']:.2f} %   "
                  f"{r['fit_seconds'] / zl['fit_seconds']:.2f}x zenlearn's time")
    else:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        path = work / f"table-{a.rows}x{a.cols}.csv"
        if not path.is_file():
            names = [f"x{i}" for i in range(a.cols)]
            table = pa.table([pa.array(x[:, i].astype(np.float64)) for i in range(a.cols)] + [pa.array(y)],
                             names=[*names, "y"])
            pcsv.write_csv(table, path)
        results = [run(["_load", "--name", c, "--path", str(path)], a.threads) for c in ("pyarrow", "zenlearn")]
        matrix_mb = a.rows * a.cols * 4 / 2**20
        pa_r = results[0]
        print(f"load: {path.stat().st_size / 2**30:.2f} GiB CSV, {a.rows:,} rows x {a.cols} columns; float32 "
              f"feature matrix {matrix_mb:.0f} MiB")
        for r in results:
            grow = r["peak_rss_mb"] - r["rss_before_mb"]
            print(f"  {r['contender']:<9} {r['load_seconds']:6.2f} s ({r['load_seconds'] / pa_r['load_seconds']:.2f}x "
                  f"pyarrow)   peak RSS {r['peak_rss_mb']:.0f} MiB (+{grow:.0f} MiB over the process before "
                  f"reading = {grow / matrix_mb:.2f}x the matrix; whole process {r['peak_rss_mb'] / matrix_mb:.2f}x)")
    print(json.dumps({"args": vars(a), "results": results}))


if __name__ == "__main__":
    main()
