"""The survey's CNN recipe as a Keras 3 user writes it: MNIST, batch 64, Adam, 10 % validation, test at the end.

`train_speed.py` times this whole process (imports included) against `zenlearn train`.

    python benchmarks/keras_survey.py --epochs 5 [--data-dir ../shared/datasets]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contenders  # noqa: E402  (sets TensorFlow's log level before TensorFlow is imported)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--data-dir", default=os.environ.get("ZENLEARN_DATA", "../shared/datasets"))
    args = p.parse_args(argv)
    import keras

    x, y, xt, yt = contenders.load_mnist_numpy(Path(args.data_dir))
    keras.utils.set_random_seed(0)
    model = contenders.keras_model("cnn")
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=args.epochs, validation_split=0.1, verbose=0)
    fit_seconds = time.perf_counter() - t0
    loss, acc = model.evaluate(xt, yt, batch_size=1000, verbose=0)
    print(f"test accuracy {acc:.4f}  test loss {loss:.4f}  ({fit_seconds:.1f}s fit, "
          f"{time.perf_counter() - t0:.1f}s fit + evaluate)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
