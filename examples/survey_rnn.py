"""The survey's RNN example in zenlearn: an LSTM of 100 units unrolled over n_steps = 5 steps of n_inputs = 2
features, a dense layer applied at every step (one output each), trained with MSE and Adam.

The survey's code used `tf.contrib.rnn` and placeholders; here the model is a plain `nn.Module`
(`zenlearn.nn.models.RNN`) trained by zenlearn's `Trainer` on the `sine` task (predict a sine wave's next
value at every step; see `zenlearn list datasets`). `zenlearn train --data sine --model lstm
--hidden-size 100` does the same from the shell.

    python examples/survey_rnn.py                       # MSE ~100x below the predict-the-mean baseline
    python examples/survey_rnn.py --epochs 2 --train-subset 2000
"""

import argparse

import torch

from zenlearn import Trainer
from zenlearn.data.sine import N_INPUTS, N_STEPS, N_TEST, N_TRAIN, make_sine
from zenlearn.nn.models import RNN
from zenlearn.nn.tasks import mean_baseline_mse

p = argparse.ArgumentParser(description="The survey's LSTM on the sine task.")
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--train-subset", type=int, default=N_TRAIN, help="train on the first N sequences only")
args = p.parse_args()

torch.manual_seed(0)
train, test = make_sine(args.train_subset, seed=0), make_sine(N_TEST, seed=1)  # x (N, 5, 2), y (N, 5, 1)
model = RNN(N_INPUTS, hidden_size=100, num_outputs=1, cell="lstm", head="step")  # (B, 5, 2) -> (B, 5, 1)
trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=3e-3), task="regression", device="auto")
trainer.fit((train.x, train.y), epochs=args.epochs, batch_size=64)
mse = trainer.evaluate((test.x, test.y))["loss"]
baseline = mean_baseline_mse(train.y, test.y)
print(f"{N_STEPS} steps x {N_INPUTS} inputs: test mse {mse:.5f}  baseline mse {baseline:.5f}  "
      f"({baseline / mse:.0f}x lower)")
