"""Training speed on CPU: zenlearn vs Keras 3 vs the idiomatic PyTorch loop, side by side in one run.

For each workload every framework trains the survey's model on the same arrays, one epoch at a time,
alternating frameworks (the order rotates each round) so that machine noise hits all of them alike.
Throughput is samples / median epoch time; the final metric is taken after the last epoch. Each round
starts by measuring the machine's own peak in the zenlearn worker (torch.mm 2048², best of 5, fp32 and
bf16, on zenlearn's threads), and every contender's rate is also given as GFLOP/s (FLOPs per sample
counted by `torch.utils.flop_counter` on one forward + backward of the model) and as a share of the
highest peak of the run in its precision (bf16 for zenlearn-bf16, fp32 for the others). Then the
whole-process wall time of `zenlearn train … --epochs 1` vs the Keras script, and the fast MNIST recipe
(`examples/mnist-fast.yaml`, 3 seeds) against Keras' 5-epoch survey recipe measured above.

Usage (install the peers first: `pip install -e '.[bench]'`):

    ZENLEARN_DATA=../shared/datasets python benchmarks/train_speed.py            # everything
    python benchmarks/train_speed.py --workloads cnn,mlp --epochs 2                # a quick look
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import contenders  # noqa: E402

MODEL = {"cnn": "seed-cnn", "mlp": "mlp", "lstm": "lstm"}


class Worker:
    """One contender in its own process; `call("epoch")` returns that epoch's wall seconds."""

    def __init__(self, kind: str, workload: str, data_file: str, options: dict) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=contenders.serve, args=(child, kind, workload, data_file, options),
                                daemon=True)
        self.proc.start()
        self._answer()

    def _answer(self):
        status, value = self.conn.recv()
        if status != "ok":
            raise SystemExit(f"contender failed: {value}")
        return value

    def call(self, cmd: str):
        self.conn.send(cmd)
        return self._answer()

    def close(self) -> None:
        self.conn.send("stop")
        self.proc.join(timeout=30)


def export_arrays(workload: str, args: argparse.Namespace, folder: Path) -> tuple[Path, dict, int, str]:
    """zenlearn's split of the workload's data as the float arrays a Keras / torch-loop user holds."""
    import torch  # noqa: F401  (the parent only prepares data; it trains nothing)

    from zenlearn.data import load_splits

    data = "mnist" if workload in ("cnn", "mlp") else args.seq_data
    splits = load_splits(data, root=args.data_dir, val_split=0.1, seed=0, train_subset=args.subset)
    arrays = {}
    for key, part in (("", splits.train), ("t", splits.test)):
        x = part.x.float().mul(splits.spec.scale).numpy()
        if splits.spec.kind == "image":
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # (N, C, H, W) -> (N, H, W, C), as Keras wants
        arrays["x" + key], arrays["y" + key] = x, part.y.numpy()
    path = folder / f"{workload}.npz"
    np.savez(path, **arrays)
    options = {"data": data, "model": MODEL[workload], "batch_size": 64, "lr": 1e-3, "device": "cpu",
               "val_split": 0.1, "seed": 0, "train_subset": args.subset, "data_dir": args.data_dir,
               "threads": args.threads}
    if workload == "lstm":
        options.update(args.lstm_options)
        if args.lstm_threads is not None:
            options["threads"] = args.lstm_threads
    metric = "test accuracy" if splits.spec.task == "classification" else "test MSE"
    return path, options, len(splits.train), metric, flops_per_sample(options, splits)


def flops_per_sample(options: dict, splits, batch: int = 64) -> float:
    """FLOPs of one training sample: one forward + loss + backward of a batch of the workload's model, counted."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from zenlearn import TrainConfig
    from zenlearn.training.build import build_model

    torch.manual_seed(0)
    model = build_model(TrainConfig.from_dict(options), splits.spec)
    x = splits.train.x[:batch].float().mul(splits.spec.scale)
    y = splits.train.y[:batch]
    # oneDNN's fused RNN kernels are opaque to the counter; with oneDNN off an LSTM runs as counted matmuls
    with torch.backends.mkldnn.flags(enabled=False), FlopCounterMode(display=False) as counter:
        out = model(x)
        if splits.spec.task == "classification":
            loss = torch.nn.functional.cross_entropy(out, y)
        else:
            loss = torch.nn.functional.mse_loss(out, y.float().reshape(out.shape))
        loss.backward()
    return counter.get_total_flops() / len(x)


def throughput_workload(workload: str, args: argparse.Namespace) -> dict:
    """Alternate epochs of every contender on `workload`; samples/s (median epoch) and the final metric."""
    with tempfile.TemporaryDirectory() as tmp:
        data_file, options, n_train, metric, flops = export_arrays(workload, args, Path(tmp))
        specs = {"keras": ("keras", {}), "torch-loop": ("torch-loop", {}), "zenlearn": ("zenlearn", options)}
        specs["zenlearn-bf16"] = ("zenlearn", {**options, "precision": "bf16"})
        workers = {name: Worker(kind, workload, str(data_file), opts) for name, (kind, opts) in specs.items()}
    names = list(workers)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    peaks: list[dict[str, float]] = []
    try:
        for r in range(args.epochs):
            peaks.append(workers["zenlearn"].call("peak"))
            order = names[r % len(names):] + names[: r % len(names)]
            for n in order:
                seconds[n].append(workers[n].call("epoch"))
            print(f"  {workload} epoch {r + 1}: " + "  ".join(f"{n} {seconds[n][-1]:.2f}s" for n in names), flush=True)
        peak = {p: max(x[p] for x in peaks) for p in ("fp32", "bf16")}
        result = {"samples": n_train, "epochs": args.epochs, "metric_name": metric, "contenders": {},
                  "flops_per_sample": flops, "peaks": peaks, "peak": peak}
        for n in names:
            sps = n_train / statistics.median(seconds[n])
            gflops = sps * flops / 1e9
            result["contenders"][n] = {"samples_per_s": sps, "gflops": gflops,
                                       "share_of_peak": gflops / peak["bf16" if n.endswith("bf16") else "fp32"],
                                       "epoch_seconds": seconds[n], "total_seconds": sum(seconds[n]),
                                       "metric": workers[n].call("metric")}
    finally:
        for w in workers.values():
            w.close()
    return result


def cli_workload(args: argparse.Namespace) -> dict:
    """Whole-process wall time: `zenlearn train … --epochs 1` vs the Keras script, alternating."""
    env = {**os.environ, "ZENLEARN_DATA": str(args.data_dir or os.environ.get("ZENLEARN_DATA", ""))}
    zl = [sys.executable, "-m", "zenlearn", "train", "--data", "mnist", "--model", "seed-cnn", "--epochs", "1",
          "--batch-size", "64", "--val-split", "0.1", "--no-report", "--quiet", "--overwrite"]
    if args.threads is not None:
        zl += ["--threads", str(args.threads)]
    ks = [sys.executable, str(HERE / "keras_survey.py"), "--epochs", "1"]
    times: dict[str, list[float]] = {"keras": [], "zenlearn": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for name in (("keras", "zenlearn") if r % 2 == 0 else ("zenlearn", "keras")):
                cmd = ks if name == "keras" else zl + ["--out", str(Path(tmp) / "run")]
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
                times[name].append(time.perf_counter() - t0)
                if proc.returncode != 0:
                    raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
            print(f"  cli round {r + 1}: keras {times['keras'][-1]:.2f}s  zenlearn {times['zenlearn'][-1]:.2f}s",
                  flush=True)
    help_t = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "zenlearn", "--help"], env=env, capture_output=True, check=True)
        help_t.append(time.perf_counter() - t0)
    return {"seconds": times, "median": {k: statistics.median(v) for k, v in times.items()},
            "help_seconds": statistics.median(help_t)}


def fast_workload(args: argparse.Namespace) -> dict:
    """Whole processes: `zenlearn train --config examples/mnist-fast.yaml` (3 seeds) vs Keras' 5-epoch recipe."""
    env = {**os.environ, "ZENLEARN_DATA": str(args.data_dir or os.environ.get("ZENLEARN_DATA", ""))}
    keras_cmd = [sys.executable, str(HERE / "keras_survey.py"), "--epochs", "5"]
    runs, keras = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.fast_seeds):
            if seed < args.keras_repeats:  # alternate: Keras, fast seed 0, Keras, fast seed 1, ...
                t0 = time.perf_counter()
                proc = subprocess.run(keras_cmd, env=env, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise SystemExit(f"{' '.join(keras_cmd)} failed:\n{proc.stderr[-2000:]}")
                out_line = proc.stdout.strip().splitlines()[-1]
                keras.append({"seconds": time.perf_counter() - t0, "output": out_line,
                              "fit_seconds": float(out_line.split("(")[1].split("s fit")[0])})
                print(f"  keras 5 epochs: {keras[-1]['seconds']:.1f}s  {keras[-1]['output']}", flush=True)
            out = Path(tmp) / f"s{seed}"
            cmd = [sys.executable, "-m", "zenlearn", "train", "--config", str(ROOT / "examples" / "mnist-fast.yaml"),
                   "--seed", str(seed), "--out", str(out), "--quiet"]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
            summary = json.loads((out / "summary.json").read_text())
            runs.append({"seed": seed, "seconds": seconds, "test_accuracy": summary["test"]["accuracy"],
                         "train_seconds": summary["train_seconds"], "fit_seconds": summary["wall_seconds"]})
            print(f"  fast recipe seed {seed}: {runs[-1]['test_accuracy']:.4f} in {seconds:.1f}s "
                  f"({summary['wall_seconds']:.1f}s fit)", flush=True)
    return {"runs": runs, "mean_accuracy": statistics.mean(r["test_accuracy"] for r in runs),
            "mean_seconds": statistics.mean(r["seconds"] for r in runs),
            "mean_fit_seconds": statistics.mean(r["fit_seconds"] for r in runs), "keras": keras,
            "keras_seconds": statistics.median(k["seconds"] for k in keras),
            "keras_fit_seconds": statistics.median(k["fit_seconds"] for k in keras)}


def report(results: dict, args: argparse.Namespace) -> None:
    import torch

    print("\n## Results (" + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()) + f", torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, zenlearn --threads "
          f"{'default' if args.threads is None else args.threads})\n")
    print("command: python benchmarks/train_speed.py " + " ".join(sys.argv[1:]) + "\n")
    for w in contenders.WORKLOADS:
        if w not in results:
            continue
        r = results[w]
        c = r["contenders"]
        print(f"### {w}: {r['samples']} samples/epoch, batch 64, Adam, {r['epochs']} epochs (median epoch)\n")
        lo = {p: min(x[p] for x in r["peaks"]) for p in ("fp32", "bf16")}
        print(f"{r['flops_per_sample'] / 1e6:.3f} MFLOP per training sample (counted); peak this run: fp32 "
              f"{lo['fp32']:.0f}-{r['peak']['fp32']:.0f}, bf16 {lo['bf16']:.0f}-{r['peak']['bf16']:.0f} GFLOP/s "
              f"(torch.mm 2048², best of 5, per round; shares use the highest)\n")
        print(f"| contender | samples/s | GFLOP/s | share of peak | vs keras | vs torch-loop | "
              f"{r['metric_name']} after {r['epochs']} epochs |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, v in c.items():
            sps = v["samples_per_s"]
            print(f"| {n} | {sps:,.0f} | {v['gflops']:.1f} | {v['share_of_peak']:.1%} "
                  f"({'bf16' if n.endswith('bf16') else 'fp32'}) | {sps / c['keras']['samples_per_s']:.2f}x | "
                  f"{sps / c['torch-loop']['samples_per_s']:.2f}x | {v['metric']:.4f} |")
        print()
    if "cli" in results:
        m = results["cli"]["median"]
        print(f"### whole process, survey CNN, 1 epoch (median of {args.repeats})\n")
        print(f"keras script {m['keras']:.2f}s, zenlearn train {m['zenlearn']:.2f}s: "
              f"{m['keras'] / m['zenlearn']:.2f}x; `zenlearn --help` {results['cli']['help_seconds']:.2f}s\n")
    if "fast" in results:
        f = results["fast"]
        print(f"### fast recipe, whole process (examples/mnist-fast.yaml, {len(f['runs'])} seeds)\n")
        print(f"zenlearn fast recipe: mean test accuracy {f['mean_accuracy']:.4f} "
              f"(seeds: {', '.join(format(r['test_accuracy'], '.4f') for r in f['runs'])})\n")
        print("| | zenlearn fast recipe (1 epoch) | Keras survey recipe (5 epochs) | ratio |")
        print("| --- | ---: | ---: | ---: |")
        print(f"| training (fit, incl. per-epoch validation) | {f['mean_fit_seconds']:.1f}s | "
              f"{f['keras_fit_seconds']:.1f}s | 1/{f['keras_fit_seconds'] / f['mean_fit_seconds']:.1f} |")
        print(f"| whole process (imports, data, fit, test, run folder) | {f['mean_seconds']:.1f}s | "
              f"{f['keras_seconds']:.1f}s | 1/{f['keras_seconds'] / f['mean_seconds']:.1f} |")
        print(f"\nKeras: {f['keras'][0]['output']}\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="cnn,mlp,lstm,cli,fast", help="comma separated: cnn,mlp,lstm,cli,fast")
    p.add_argument("--epochs", type=int, default=5, help="alternated epochs per contender (median taken)")
    p.add_argument("--repeats", type=int, default=3, help="alternated process runs for the cli workload")
    p.add_argument("--fast-seeds", type=int, default=3, help="seeds of the fast recipe")
    p.add_argument("--keras-repeats", type=int, default=1, help="runs of Keras' 5-epoch recipe (median)")
    p.add_argument("--data-dir", default=None, help="dataset folder; default $ZENLEARN_DATA")
    p.add_argument("--subset", type=int, default=None, help="train on this many samples only (quick checks)")
    p.add_argument("--seq-data", default="sine", help="dataset of the LSTM workload")
    p.add_argument("--threads", type=int, default=-1,
                   help="zenlearn's --threads (-1: torch's default, one per core, as the peers; 0: one per idle core "
                        "by the 1-minute load average, which on a VM whose load never drops below 1 means one "
                        "thread) [default: -1]")
    p.add_argument("--lstm-threads", type=int, default=None,
                   help="zenlearn's --threads for the LSTM workload only (default: --threads); a 100-unit LSTM at "
                        "batch 64 runs faster on one thread than on two")
    p.add_argument("--json", default=None, help="also write the raw results here")
    args = p.parse_args(argv)
    args.threads = None if args.threads < 0 else args.threads
    args.lstm_options = {"hidden_size": 100, "head": "step"}
    results = {}
    for w in args.workloads.split(","):
        print(f"[{w}]", flush=True)
        if w in contenders.WORKLOADS:
            results[w] = throughput_workload(w, args)
        elif w == "cli":
            results[w] = cli_workload(args)
        elif w == "fast":
            results[w] = fast_workload(args)
        else:
            p.error(f"unknown workload {w!r}; choose from cnn,mlp,lstm,cli,fast")
    report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
