"""The report of one training run: what was trained on what, how it went, where it fails, and on what machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from zenlearn.config import TrainConfig, load_yaml
from zenlearn.data import DataSpec, to_float
from zenlearn.errors import UsageError
from zenlearn.io.rundir import CONFIG, DATA, METRICS, RunDir, read_csv, read_json
from zenlearn.io.summary import RunSummary
from zenlearn.nn.build import param_table
from zenlearn.nn.tasks import confusion_matrix, find_metric, first_metric, get_task, metric_names
from zenlearn.report.html import esc, fmt, img, kv_table, section, table
from zenlearn.report.plots import run as plots
from zenlearn.training.build import build_model, eval_loader, load_run, reopen_splits

WORST = 24  # samples in the worst-classified grid
PAIRS = 10  # rows of the most-confused-pairs table


def run_sections(folder: Path, *, trainer: Any = None, splits: Any = None, data_dir: str | None = None,
                 data: str | None = None, outputs: tuple[torch.Tensor, torch.Tensor] | None = None,
                 notes: list[str] | None = None, **_: Any) -> tuple[str, list[str]]:
    """Title and sections of a run report; reloads the model and test set unless `trainer`/`splits` are given
    (from `data`, `--data` syntax, if the dataset moved). Why test predictions are missing goes to `notes`."""
    cfg = yaml.safe_load((folder / CONFIG).read_text()) or {}
    summary = RunDir(folder).read_summary()  # None: the run did not finish
    spec = read_json(folder / DATA) if (folder / DATA).is_file() else {}
    rows = read_csv(folder / METRICS) if (folder / METRICS).is_file() else []
    pred = _predictions(folder, trainer, splits, data_dir, outputs, data)
    if "error" in pred and notes is not None:
        notes.append(f"no test predictions in the report: {pred['error']}")
    title = f"{cfg.get('model', '?')} on {cfg.get('data', '?')} — {folder.name}"
    out = [section("Summary", _lead(cfg, summary, spec, rows), _final_metrics(summary, rows), sid="summary")]
    if summary is not None and summary.forecast:
        out.append(section("Forecast on the test span", _forecast(summary.forecast), sid="forecast"))
    out.append(section("Training curves", _curves(rows, spec.get("task", "classification")), sid="curves"))
    out.append(_errors_section(pred, spec, summary.class_weight if summary is not None else None))
    out.append(section("Dataset", _dataset(spec, summary, pred), sid="dataset"))
    out.append(section("Model", _model(folder, cfg, spec, summary, trainer), sid="model"))
    out.append(section("Training time and throughput", _timing(summary, rows), sid="timing"))
    out.append(section("Configuration", f"<p class=muted>{CONFIG} — rerun with "
                       f"<code>zenlearn train --config {esc(folder / CONFIG)}</code></p>", kv_table(cfg),
                       sid="config"))
    env = dict(summary.environment) if summary is not None else {}
    if summary is not None:
        env.update({k: v for k, v in (("device", summary.device), ("precision", summary.precision),
                                      ("world_size", summary.world_size)) if v is not None})
    out.append(section("Environment", kv_table(env) if env else "<p class=muted>not recorded</p>", sid="environment"))
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    out.append(section("Files", "<p>" + ", ".join(f"<code>{esc(f)}</code>" for f in files) + "</p>", sid="files"))
    return title, out


def _forecast(f: dict[str, Any]) -> str:
    """The model beside the naive and seasonal-naive baselines: MAE (the column's units) and MASE."""
    names = (("model", "this model"), ("naive", "naive (the last known value)"),
             ("seasonal_naive", f"seasonal naive (the value {f.get('season')} steps back)"))
    columns = list(f["model"])  # the metric names, from nn.tasks.forecast_summary
    rows = [[label, *(f[key][c] for c in columns)] for key, label in names if key in f]
    labels = [m.label if (m := find_metric(c)) else c for c in columns]
    return (f"<p>{f.get('test_points')} forecasts, one per point of the test span. MASE divides the MAE by the "
            f"training span's in-sample seasonal-naive MAE ({fmt(f.get('scale'))}); below 1 beats that.</p>"
            + table(rows, ["forecast", *labels]))


# ---------------------------------------------------------------- predictions on the test set

def _predictions(folder: Path, trainer: Any, splits: Any, data_dir: str | None,
                 outputs: tuple[torch.Tensor, torch.Tensor] | None, data: str | None = None) -> dict[str, Any]:
    """Test-set outputs of the final model, or {"error": why} when the model or data cannot be loaded.

    `outputs` (the final evaluation's (outputs, targets), from the run that just finished) are used as they
    are; otherwise the model runs over the test set once."""
    try:
        if trainer is None:
            cfg, trainer_spec, trainer = load_run(folder)
        else:
            cfg = TrainConfig.from_dict(load_yaml(folder / CONFIG))
            trainer_spec = splits.spec if splits is not None else load_run(folder)[1]
        if splits is None:
            splits = reopen_splits(cfg, trainer_spec, data_dir, data=data, run_dir=folder)
    except UsageError as e:
        return {"error": str(e)}
    spec = splits.spec
    if outputs is not None:
        logits, y = outputs
    else:
        logits, y = trainer.evaluate(eval_loader(splits, splits.test, 1000), return_outputs=True)[1:]
    # image folders stream: the few images the report shows are decoded on demand
    x_raw = splits.images(splits.test)
    train_y = torch.as_tensor(splits.labels(splits.train)).cpu()
    return {"logits": logits, "y": y, "x_raw": x_raw, "scale": spec.scale, "spec": spec, "train_y": train_y}


# ---------------------------------------------------------------- sections

def _lead(cfg: dict, summary: RunSummary | None, spec: dict, rows: list[dict]) -> str:
    data = summary.data if summary is not None else {}
    test = (summary.test if summary is not None else None) or {}
    epochs = summary.epochs if summary is not None and summary.epochs is not None else len(rows)
    bits = [f"<b>{esc(cfg.get('model'))}</b> trained on <b>{esc(cfg.get('data'))}</b>"]
    if data:
        bits.append(f"({fmt(data.get('train'))} training samples, {fmt(data.get('val'))} validation, "
                    f"{fmt(data.get('test'))} test)")
    bits.append(f"for {fmt(epochs)} epoch{'s' if epochs != 1 else ''} with {esc(cfg.get('optimizer'))} "
                f"(lr {fmt(cfg.get('lr'))}, batch {fmt(cfg.get('batch_size'))})")
    text = " ".join(bits) + "."
    metric = find_metric(first_metric(test) or "")
    if metric is not None:
        value = f"{100 * test[metric.name]:.2f}%" if metric.percent else fmt(test[metric.name])
        label = metric.label if metric.label.isupper() else metric.label.lower()  # "MAE", "accuracy"
        text += f" Test {label} <b>{value}</b> (loss {fmt(test.get('loss'))})"
    if summary is not None and summary.train_seconds is not None:
        text += (f" after {summary.train_seconds:.1f} s of training "
                 f"({fmt(float(summary.samples_per_second or 0), 3)} samples/s) on {esc(summary.device or '?')}")
    text += "." if summary is not None else " The run did not finish (no summary.json); the curves show the epochs it completed."
    return f'<p class="lead">{text}</p>'


def _final_metrics(summary: RunSummary | None, rows: list[dict]) -> str:
    summary = summary or RunSummary()
    last = rows[-1] if rows else {}
    names = [k for k in ("loss", *metric_names()) if k in last or k in (summary.test or {})]
    body = []
    if last:
        body.append(["train (last epoch, running average)", *[last.get(k) for k in names]])
    for split in ("val", "test"):
        if getattr(summary, split):
            body.append([split + " (final model)", *[getattr(summary, split).get(k) for k in names]])
    if not body:
        return ""
    out = "<h3>Final metrics</h3>" + table(body, ["split", *names])
    base = summary.baseline_mse
    if base is not None:  # regression: the score of always predicting the training mean, as in summary.json
        out += (f"<p>test mse {fmt(summary.mse)} against baseline_mse {fmt(base)} (always predicting the "
                f"training mean)</p>")
    return out


def _curves(rows: list[dict], task: str) -> str:
    if not rows:
        return "<p class=muted>no epochs recorded (metrics.csv missing or empty)</p>"
    ep = [r["epoch"] for r in rows]
    metric = get_task(task).metric

    def col(k: str) -> list:
        return [r.get(k) for r in rows]

    figs = [img(plots.curves(ep, {"train": col("loss"), "validation": col("val_loss")}, "Loss", "loss"), "loss curve"),
            img(plots.curves(ep, {"train": col(metric), "validation": col(f"val_{metric}")}, metric.capitalize(),
                             metric), f"{metric} curve")]
    if any(r.get("lr") is not None for r in rows):
        figs.append(img(plots.curves(ep, {"learning rate": col("lr")}, "Learning rate (epoch start)", "lr",
                                     log=True), "learning-rate curve"))
    cols = [c for c in rows[0] if c != "train_seconds"]
    return f'<div class="figs">{"".join(figs)}</div><h3>Per epoch (metrics.csv)</h3>' + table(
        [[r.get(c) for c in cols] for r in rows], cols)


def _errors_section(pred: dict, spec_d: dict, weights: dict[str, float] | None = None) -> str:
    if "error" in pred:
        return section("Errors on the test set", f"<p class=bad>test predictions unavailable: {esc(pred['error'])}</p>"
                       "<p class=muted>rebuild with <code>zenlearn report RUN_DIR --data-dir DIR</code> (or "
                       "<code>--data SPEC</code> if the dataset moved) once the model and data are reachable</p>",
                       sid="errors")
    spec = pred["spec"]
    logits, y = pred["logits"], pred["y"]
    if not get_task(spec.task).categorical:
        err = (logits - y).abs().reshape(len(y), -1).mean(1)  # (N,) mean abs error per sample
        worst = err.argsort(descending=True)[:WORST]
        titles = [f"MAE {float(err[i]):.3g}" for i in worst]
        t_np, p_np = y.float().cpu().numpy(), logits.float().cpu().numpy()
        task = get_task(spec.task)
        scores = task.finish_stats(task.batch_stats(logits.float(), y.float(), task.loss(logits.float(), y.float())))
        note = ", ".join(f"{m.label} {fmt(scores[m.name])}" for m in task.metrics)  # MAE, RMSE, R² from the Task
        parts = [f"<h3>Predicted vs true, every test output ({esc(note)})</h3>",
                 img(plots.pred_vs_target(t_np, p_np, note=note), "predicted vs true")]
        if spec.per_step and t_np.ndim >= 2 and t_np.shape[1] > 1:
            idx = worst.cpu().numpy()
            parts += ["<h3>Largest-error test sequences: target (solid) and prediction (dashed) per step</h3>",
                      img(plots.sequence_fits(t_np[idx], p_np[idx], titles), "worst test fits")]
        parts += ["<h3>Largest-error test samples (inputs)</h3>", _grid(pred, worst, titles)]
        return section("Errors on the test set", *parts, sid="errors")

    k = spec.num_outputs
    classes = list(spec.classes) or [str(i) for i in range(k)]
    probs = logits.softmax(-1)
    preds = probs.argmax(-1)
    cm = confusion_matrix(preds, y, k).numpy()
    acc = float((preds == y).float().mean())
    parts = [f"<h3>Confusion matrix (test set, accuracy {100 * acc:.2f}%; rows: true class, columns: predicted)</h3>"
             f'<div class="figs">{img(plots.confusion(cm, classes), "confusion matrix")}<div>{_pairs(cm, classes)}'
             f"{_per_class(cm, classes, weights)}</div></div>"]
    wrong = (preds != y).nonzero().flatten()
    order = confident_mistakes(probs, y)[:WORST]
    if len(order):
        titles = [f"{classes[int(y[i])]}→{classes[int(preds[i])]} ({float(probs[i, preds[i]]):.2f})" for i in order]
        parts.append(f"<h3>Worst-classified test samples ({len(wrong):,} of {len(y):,} wrong; most confident "
                     "mistakes first; caption: true→predicted (probability))</h3>")
        parts.append(_grid(pred, order, titles))
    else:
        parts.append("<p class=good>every test sample is classified correctly</p>")
    return section("Errors on the test set", *parts, sid="errors")


def confident_mistakes(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Indices of the misclassified samples, the most confident mistake first: sorted by the probability the
    model gave its (wrong) predicted class.

    Example:
        >>> probs = torch.tensor([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])
        >>> confident_mistakes(probs, torch.tensor([0, 0, 0, 1])).tolist()
        [2, 1]
    """
    preds = probs.argmax(-1)  # (N,)
    wrong = (preds != y).nonzero().flatten()
    return wrong[probs[wrong, preds[wrong]].argsort(descending=True, stable=True)]


def _grid(pred: dict, idx: Any, titles: list[str]) -> str:

    x = to_float(pred["x_raw"][idx.to(pred["x_raw"].device)], pred["scale"]).cpu().numpy()
    kind = pred["spec"].kind
    if kind == "image" and x.ndim == 4 and x.max() > 1.0:
        x = (x - x.min()) / max(float(x.max() - x.min()), 1e-9)
    return img(plots.sample_grid(x, titles, kind), "worst test samples")


def _pairs(cm: np.ndarray, classes: list[str]) -> str:
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(off, axis=None)[::-1][:PAIRS]
    rows = []
    for f in flat:
        i, j = divmod(int(f), len(cm))
        if off[i, j] == 0:
            break
        rows.append([classes[i], classes[j], int(off[i, j]), f"{100 * off[i, j] / max(cm[i].sum(), 1):.1f}%"])
    if not rows:
        return "<h3>Most-confused pairs</h3><p class=good>no confusions</p>"
    return "<h3>Most-confused pairs</h3>" + table(rows, ["true", "predicted as", "count", "% of true class"])


def _per_class(cm: np.ndarray, classes: list[str], weights: dict[str, float] | None = None) -> str:
    support = cm.sum(1)
    recall = np.diag(cm) / np.maximum(support, 1)
    precision = np.diag(cm) / np.maximum(cm.sum(0), 1)
    rows = [[c, int(s), float(r), float(p)] for c, s, r, p in zip(classes, support, recall, precision)]
    head = ["class", "samples", "recall (accuracy)", "precision"]
    if weights:  # --class-weight: each class's weight in the training loss
        rows = [row + [float(weights.get(c, 1.0))] for row, c in zip(rows, classes)]
        head.append("loss weight")
    return "<h3>Per class (test)</h3>" + table(rows, head)


def _dataset(spec: dict, summary: RunSummary | None, pred: dict) -> str:
    data = summary.data if summary is not None else {}
    facts = {"name": spec.get("name"), "task": spec.get("task"), "kind": spec.get("kind"),
             "sample shape": "×".join(map(str, spec.get("input_shape", []))), "outputs": spec.get("num_outputs"),
             "train / val / test samples": " / ".join(fmt(data.get(k)) for k in ("train", "val", "test")) if data else None}
    out = kv_table({k: v for k, v in facts.items() if v is not None})
    classes = spec.get("classes") or []
    if classes and "error" not in pred and get_task(spec.get("task", "classification")).categorical:
        k = len(classes)
        tr = np.bincount(pred["train_y"].numpy(), minlength=k)
        te = np.bincount(pred["y"].numpy(), minlength=k)
        out += "<h3>Samples per class</h3>" + table([[c, int(a), int(b)] for c, a, b in zip(classes, tr, te)],
                                                      ["class", "train", "test"])
    elif classes:
        out += "<p>classes: " + esc(", ".join(classes)) + "</p>"
    return out


def _model(folder: Path, cfg: dict, spec_d: dict, summary: RunSummary | None, trainer: Any) -> str:
    model = None
    if trainer is not None:
        model = getattr(trainer.model, "module", trainer.model)
    elif spec_d:
        try:
            spec = DataSpec.from_dict(spec_d)
            model = build_model(TrainConfig.from_dict(cfg), spec)
        except (UsageError, TypeError, KeyError) as e:
            return f"<p class=bad>model could not be rebuilt: {esc(e)}</p>"
    if model is None:
        return "<p class=muted>no data.json: the model cannot be rebuilt</p>"
    rows = param_table(model)
    total = sum(n for *_, n in rows)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    shapes = {name: "×".join(map(str, p.shape)) for name, p in model.named_parameters()}
    body = [[name or "(root)", kind, ", ".join(f"{pn.rsplit('.', 1)[-1]} {s}" for pn, s in shapes.items()
                                            if pn.rsplit(".", 1)[0] == name), n, f"{100 * n / max(total, 1):.1f}%"]
            for name, kind, n in rows]
    return (f"<p><b>{esc(cfg.get('model'))}</b>: {total:,} parameters ({trainable:,} trainable), "
            f"{total * 4 / 1e6:.2f} MB as float32.</p>"
            + table(body, ["layer", "type", "weights", "parameters", "share"])
            + f"<details><summary>PyTorch module</summary><pre>{esc(model)}</pre></details>")


def _timing(summary: RunSummary | None, rows: list[dict]) -> str:
    if summary is None:
        return "<p class=muted>no summary.json (unfinished run)</p>"
    per_epoch = summary.train_seconds / summary.epochs if summary.epochs and summary.train_seconds is not None else None
    facts = {"epochs": summary.epochs, "training time (s)": summary.train_seconds,
             "wall time incl. validation (s)": summary.wall_seconds,
             "throughput (training samples/s)": summary.samples_per_second,
             "seconds per epoch": per_epoch, "device": summary.device, "precision": summary.precision,
             "processes (data parallel)": summary.world_size}
    return kv_table({k: v for k, v in facts.items() if v is not None})

