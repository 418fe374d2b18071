"""The survey's CNN example in zenlearn: Conv(32, 3x3, relu) → MaxPool(2) → Conv(64, 3x3, relu) → MaxPool(2)
→ Dense(64, relu) → Dense(10, softmax) on MNIST scaled to [0, 1]; Adam, batch 64, 5 epochs, 10 % held out.

`seed-cnn` is that exact architecture; `zenlearn train --model seed-cnn` is the same run from the shell.

    python examples/survey_cnn.py                       # about 99 % test accuracy
    python examples/survey_cnn.py --epochs 1 --train-subset 2000 --out /tmp/cnn
"""

import argparse

from zenlearn import TrainConfig, train_run

p = argparse.ArgumentParser(description="The survey's CNN on MNIST.")
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--train-subset", type=int, default=None, help="train on the first N samples only")
p.add_argument("--out", default="runs/survey-cnn")
args = p.parse_args()

config = TrainConfig(data="mnist", model="seed-cnn", optimizer="adam", lr=1e-3, batch_size=64, val_split=0.1,
                     epochs=args.epochs, train_subset=args.train_subset, out=args.out, overwrite=True)
summary = train_run(config)
print(f"test accuracy {summary['test']['accuracy']:.4f}  run folder {summary['out']}")
