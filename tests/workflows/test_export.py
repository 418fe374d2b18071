"""`zenlearn export`: ONNX with a dynamic batch for every model family, checked with onnxruntime."""

import numpy as np
import pytest

from zenlearn.cli.main import main
from zenlearn.workflows.export import export_run

pytest.importorskip("onnxruntime", reason="pip install -e '.[test]' installs onnx, onnxscript, onnxruntime")


def _tiny_run(tmp_path, model: str, data: str = "mnist", **extra) -> str:
    from zenlearn import TrainConfig, train_run

    out = tmp_path / model
    train_run(TrainConfig(data=data, model=model, epochs=1, train_subset=512, report=False, out=str(out), **extra),
              verbose=False)
    return str(out)


def _check_with_onnxruntime(path: str, run_dir: str, batch: int) -> float:
    import onnxruntime as ort
    import torch

    from zenlearn.data import BatchLoader, load_splits
    from zenlearn.training.build import load_run

    cfg, spec, trainer = load_run(run_dir)
    splits = load_splits(cfg.data, val_split=cfg.val_split, seed=cfg.seed)
    x, _ = next(iter(BatchLoader(splits.test, batch, scale=spec.scale)))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert isinstance(inp.shape[0], str)  # the batch dimension is symbolic
    got = session.run(None, {inp.name: x.numpy()})[0]
    with torch.inference_mode():
        ref = trainer.model.eval()(x).numpy()
    return float(np.abs(got - ref).max())


def test_export_mlp_cli(mlp_run, capsys):
    assert main(["export", str(mlp_run), "--format", "onnx", "--samples", "100"]) == 0
    out = capsys.readouterr().out
    assert "model.onnx" in out and "max abs diff" in out and "100 test samples" in out
    assert (mlp_run / "model.onnx").is_file()
    assert _check_with_onnxruntime(str(mlp_run / "model.onnx"), str(mlp_run), 37) <= 1e-4


@pytest.mark.slow
def test_export_cnn(tmp_path):
    run = _tiny_run(tmp_path, "seed-cnn")
    r = export_run(run, out=tmp_path / "cnn.onnx", samples=64)
    assert r["max_abs_diff"] <= 1e-4 and r["samples"] == 64
    assert _check_with_onnxruntime(str(tmp_path / "cnn.onnx"), run, 5) <= 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("model,data,extra", [
    ("gru", "mnist1d", {"hidden_size": 16, "num_layers": 2}),
    ("lstm", "sine", {"hidden_size": 16}),
    ("rnn", "mnist1d", {"hidden_size": 16, "bidirectional": True}),
])
def test_export_recurrent(tmp_path, model, data, extra):
    run = _tiny_run(tmp_path, model, data, **extra)
    r = export_run(run, out=tmp_path / f"{model}.onnx", samples=64)
    assert r["max_abs_diff"] <= 1e-4
    assert _check_with_onnxruntime(str(tmp_path / f"{model}.onnx"), run, 3) <= 1e-4


def test_export_over_tolerance_writes_nothing(mlp_run, tmp_path, capsys):
    dest = tmp_path / "strict.onnx"
    code = main(["export", str(mlp_run), "--out", str(dest), "--tolerance", "0", "--samples", "50"])
    err = capsys.readouterr().err
    assert code == 1 and "disagrees with PyTorch" in err and "nothing was written" in err
    assert not dest.exists()


@pytest.mark.parametrize("args,needle", [
    (["export", "/nonexistent"], "is not a folder"),
    (["export", "RUN", "--format", "tflite"], "invalid choice: 'tflite'"),
    (["export", "RUN", "--samples", "0"], "--samples must be >= 1"),
])
def test_export_bad_input(args, needle, mlp_run, capsys):
    args = [str(mlp_run) if a == "RUN" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
