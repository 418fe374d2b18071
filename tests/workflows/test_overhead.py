"""Issue 17: where a run's time goes (summary.json `timings`), the report reusing the final evaluation, and
`--resume` completing a run that was killed after training but before its last files."""

from __future__ import annotations

import json

import zenlearn.workflows.train as train_mod
from zenlearn.cli.main import main
from zenlearn.config import TrainConfig
from zenlearn.workflows.train import train_run

PARTS = {"import", "data", "build", "fit", "evaluate", "report", "write"}


def small(tmp_path, **kw):
    return TrainConfig(**{"data": "mnist1d", "model": "mlp", "hidden": (16,), "epochs": 1, "train_subset": 300,
                          "threads": 1, "out": str(tmp_path / "run"), **kw})


def test_summary_has_timings_and_the_end_line_names_the_largest_overhead(tmp_path, capsys, monkeypatch):
    import time
    import types

    real, skipped = train_mod.write_report, [0.0]
    clock = types.SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if not n.startswith("_")})
    clock.perf_counter = lambda: time.perf_counter() + skipped[0]  # the run's clock, which the report moves on

    def slow_report(*a, **k):  # a report that takes 10 minutes on the run's clock: the end-of-run line must name it
        skipped[0] += 600.0
        return real(*a, **k)

    monkeypatch.setattr(train_mod, "time", clock)
    monkeypatch.setattr(train_mod, "write_report", slow_report)
    assert main(["train", "--data", "mnist1d", "--model", "logreg", "--epochs", "1", "--train-subset", "300",
                 "--quiet", "--out", str(tmp_path / "run")]) == 0
    line = capsys.readouterr().out
    t = json.loads((tmp_path / "run" / "summary.json").read_text())["timings"]
    assert set(t) == PARTS and all(v >= 0 for v in t.values()), t
    assert t["report"] >= 600 and "most time outside training: report" in line


def test_report_calls_the_model_on_the_test_set_zero_times(tmp_path, monkeypatch):
    real, calls = train_mod.write_report, []

    def counting(folder, *, trainer, **k):
        hook = trainer.model.register_forward_hook(lambda *a: calls.append(1))
        try:
            return real(folder, trainer=trainer, **k)
        finally:
            hook.remove()

    monkeypatch.setattr(train_mod, "write_report", counting)
    train_run(small(tmp_path), verbose=False)
    html = (tmp_path / "run" / "report.html").read_text()
    assert calls == [] and "Confusion matrix" in html and "Worst-classified" in html


def test_resume_completes_a_run_killed_before_its_report(tmp_path, capsys):
    cfg = small(tmp_path)
    summary = train_run(cfg, verbose=False)
    report = tmp_path / "run" / "report.html"
    report.unlink()  # as if killed after summary.json was written, before report.html
    assert main(["train", "--resume", str(tmp_path / "run")]) == 0
    assert report.is_file() and "training had finished" in capsys.readouterr().out
    again = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert again["test"] == summary["test"] and again["timings"]["report"] > 0
    assert main(["train", "--resume", str(tmp_path / "run")]) == 2  # complete now: nothing to resume
    assert "nothing to resume" in capsys.readouterr().err
