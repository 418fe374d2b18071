"""Training speed with batches bucketed by length (`--bucket`) vs padded to the longest series of the dataset.

JapaneseVowels holds variable-length series (7 to 29 steps of 12 features; aeon pads them with NaN to 29): a
plain batch is as long as the dataset's longest series, a bucketed batch holds series of similar length and is
cut to its own longest one. Each model trains in its own process, padded and bucketed in turns (`--rounds`
rounds, each contender once per round, so a load change on a shared machine hits both), through the one
`Trainer` at the paper's batch size; throughput is training series / median epoch time over the epochs after
the first of every process. It also prints the padded steps each way (from the data alone).

Usage:

    python benchmarks/series_bucket_speed.py
    python benchmarks/series_bucket_speed.py --models fcn lstm --epochs 6 --rounds 2 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys


def epochs_of(dataset: str, model_name: str, epochs: int, threads: int, bucket: bool, batch: int) -> dict:
    """One contender: per-epoch training seconds of `model_name` with or without bucketing."""
    import torch

    torch.set_num_threads(threads)
    from zenlearn.data import load_splits
    from zenlearn.nn.build import create_model
    from zenlearn.training.trainer import Trainer

    s = load_splits(f"ucr:{dataset}", val_split=0.0, normalize="none")
    torch.manual_seed(0)
    model = create_model(model_name, s.spec)
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=1e-3), device="cpu")
    loader = s.loader(s.train, batch, shuffle=True, seed=0, bucket=bucket)
    hist = trainer.fit(loader, epochs=epochs, verbose=False)
    steps = sum(x.shape[0] * x.shape[1] for x, _ in loader)  # series steps computed per epoch, padding included
    return {"n": len(s.train), "seconds": [e["train_seconds"] for e in hist.epochs], "steps": steps}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="JapaneseVowels", help="a variable-length dataset bundled in aeon's wheel")
    p.add_argument("--models", nargs="+", default=["fcn", "lstm"], help="models to time (default: fcn lstm)")
    p.add_argument("--epochs", type=int, default=4, help="epochs per process; the first is not timed")
    p.add_argument("--rounds", type=int, default=2, help="processes per contender, taken in turns")
    p.add_argument("--batch-size", type=int, default=16, help="training batch (default: 16, the paper's)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads of each contender")
    p.add_argument("--contender", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.contender:
        model, how = a.contender.split(":")
        print(json.dumps(epochs_of(a.dataset, model, a.epochs, a.threads, how == "bucketed", a.batch_size)))
        return
    for model in a.models:
        seconds: dict[str, list[float]] = {"padded": [], "bucketed": []}
        info: dict[str, dict] = {}
        for _ in range(a.rounds):
            for how in seconds:
                cmd = [sys.executable, __file__, "--contender", f"{model}:{how}", "--dataset", a.dataset,
                       "--epochs", str(a.epochs), "--threads", str(a.threads), "--batch-size", str(a.batch_size)]
                out = subprocess.run(cmd, capture_output=True, text=True,
                                     env={**os.environ, "OMP_NUM_THREADS": str(a.threads)})
                if out.returncode:
                    raise SystemExit(f"{model} {how} failed:\n{out.stderr[-2000:]}")
                info[how] = json.loads(out.stdout.strip().splitlines()[-1])
                seconds[how] += info[how]["seconds"][1:]
        rate = {how: info[how]["n"] / statistics.median(s) for how, s in seconds.items()}
        for how in seconds:
            print(f"{model:6s} {how:8s} {rate[how]:8.1f} series/s  (median epoch {statistics.median(seconds[how]):.3f} s "
                  f"over {len(seconds[how])} epochs; {info[how]['steps']} padded steps per epoch)", flush=True)
        print(f"{model:6s} ratio bucketed / padded: {rate['bucketed'] / rate['padded']:.2f}x  (steps computed: "
              f"{info['bucketed']['steps'] / info['padded']['steps']:.2f}x; {a.dataset}, batch {a.batch_size}, "
              f"{a.threads} thread(s))", flush=True)


if __name__ == "__main__":
    main()
