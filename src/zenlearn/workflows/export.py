"""ONNX export of a run's model (dynamic batch size), checked with onnxruntime against PyTorch.

ONNX is zenlearn's bridge to other runtimes and frameworks (onnxruntime, TensorRT, OpenVINO, and the
converters of TensorFlow, Caffe2, MXNet, …). The export uses PyTorch's `torch.export`-based exporter
(`onnxscript`); the `[onnx]` extra installs it with `onnx` and `onnxruntime`.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from zenlearn.errors import TrainingError, UsageError
from zenlearn.io.atomic import write_bytes
from zenlearn.training.build import eval_loader, load_run, reopen_splits

FORMATS = ("onnx",)
INSTALL_HINT = "pip install 'zenlearn[onnx]'"
INPUT_NAME, OUTPUT_NAME = "input", "output"


def _require() -> Any:
    try:
        import onnx  # noqa: F401
        import onnxruntime
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise UsageError(f"ONNX export needs onnx, onnxscript and onnxruntime ({e.name} is missing); "
                         f"install them with {INSTALL_HINT}") from None
    return onnxruntime


def to_onnx(model: torch.nn.Module, example: torch.Tensor, path: str | Path) -> None:
    """Export `model` (eval mode) to ONNX at `path` with a dynamic batch dimension; written atomically.

    Args:
        model: The module to export; it is put in eval mode.
        example: A sample batch (B ≥ 2, so the batch size is not specialised to 1).
        path: Destination `.onnx` file.

    Example:
        >>> from zenlearn.nn.models import MLP
        >>> to_onnx(MLP(784, (64,)), torch.zeros(2, 1, 28, 28), tmp / "mlp.onnx")
        >>> (tmp / "mlp.onnx").stat().st_size > 0
        True
    """
    _require()
    model = model.eval()
    batch = torch.export.Dim("batch", min=1)
    quiet = logging.getLogger("torch.onnx")  # "torchvision is not installed" lines: not actionable here
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation/trace chatter is not actionable either
            program = torch.onnx.export(model, (example,), dynamo=True, input_names=[INPUT_NAME],
                                        output_names=[OUTPUT_NAME], dynamic_shapes=({0: batch},), verbose=False)
            program.save(str(Path(tmp) / "model.onnx"))
            write_bytes(path, (Path(tmp) / "model.onnx").read_bytes())
    finally:
        quiet.setLevel(level)


def check_onnx(path: str | Path, model: torch.nn.Module, x: torch.Tensor) -> float:
    """Max |onnxruntime − PyTorch| over batch `x`, run whole and as a single sample (dynamic batch)."""
    ort = _require()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model = model.eval()
    worst = 0.0
    with torch.inference_mode():
        for batch in (x, x[:1]):
            ref = model(batch).float().numpy()
            got = session.run(None, {INPUT_NAME: batch.numpy()})[0]
            if got.shape != ref.shape:
                raise TrainingError(f"ONNX output shape {got.shape} differs from PyTorch's {ref.shape}")
            worst = max(worst, float(abs(got - ref).max()))
    return worst


def export_run(run_dir: str | Path, fmt: str = "onnx", *, out: str | Path | None = None, samples: int = 256,
               tolerance: float = 1e-4, data_dir: str | None = None) -> dict[str, Any]:
    """Export a run's model and verify it on real test samples; returns what was written and measured.

    Args:
        run_dir: A finished run folder (config.yaml, data.json, model.safetensors).
        fmt: Export format; only "onnx". Defaults to "onnx".
        out: Output file. Defaults to RUN_DIR/model.onnx.
        samples: Test samples compared between onnxruntime and PyTorch. Defaults to 256.
        tolerance: Largest allowed absolute difference of the outputs; above it the export fails and
            nothing is written. Defaults to 1e-4.
        data_dir: Data folder if not the run's. Defaults to the run's.

    Example:
        >>> export_run(run_dir)["max_abs_diff"] < 1e-4
        True
    """
    if fmt not in FORMATS:
        raise UsageError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if samples < 1:
        raise UsageError(f"--samples must be >= 1, got {samples}")
    _require()
    cfg, spec, trainer = load_run(run_dir)
    model = getattr(trainer.model, "module", trainer.model).cpu().eval()
    splits = reopen_splits(cfg, spec, data_dir, run_dir=run_dir)
    x, _ = next(iter(eval_loader(splits, splits.test, samples)))  # (N, *input_shape) real test samples
    x = x.cpu()
    out = Path(out) if out else Path(run_dir) / "model.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "model.onnx"
        example = x[:2] if len(x) >= 2 else x.repeat(2, *[1] * (x.ndim - 1))  # batch 1 would be specialised
        to_onnx(model, example, candidate)
        diff = check_onnx(candidate, model, x)
        if not diff <= tolerance:
            raise TrainingError(f"ONNX export of {run_dir} disagrees with PyTorch: max abs difference {diff:.3g} "
                                f"> tolerance {tolerance:g} on {len(x)} test samples; nothing was written")
        write_bytes(out, candidate.read_bytes())
    import onnxruntime

    return {"path": str(out), "format": fmt, "max_abs_diff": diff, "samples": len(x), "tolerance": tolerance,
            "input": [INPUT_NAME, ["batch", *spec.input_shape]], "output": OUTPUT_NAME,
            "onnxruntime": onnxruntime.__version__, "bytes": out.stat().st_size}
