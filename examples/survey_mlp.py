"""The survey's MLP example in zenlearn: MNIST, 784-256-256-10 with relu, softmax cross-entropy, Adam, batch 64.

The survey's TensorFlow 1 code (placeholders, a session loop) no longer runs; this is the same network and
training, as a config handed to `train_run`, which writes a run folder (config, metrics, weights, summary).

    python examples/survey_mlp.py                       # 5 epochs on all of MNIST, about 98 %
    python examples/survey_mlp.py --epochs 1 --train-subset 2000 --out /tmp/mlp
"""

import argparse

from zenlearn import TrainConfig, train_run

p = argparse.ArgumentParser(description="The survey's MLP on MNIST.")
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--train-subset", type=int, default=None, help="train on the first N samples only")
p.add_argument("--out", default="runs/survey-mlp")
args = p.parse_args()

config = TrainConfig(data="mnist", model="mlp", hidden=(256, 256), activation="relu", optimizer="adam", lr=1e-3,
                     batch_size=64, epochs=args.epochs, train_subset=args.train_subset, out=args.out, overwrite=True)
summary = train_run(config)
print(f"test accuracy {summary['test']['accuracy']:.4f}  run folder {summary['out']}")
