"""The comparison runner: files and rows, failures, resume, bad --vary input; and the LR finder."""

import csv
import json

import pytest

from zenlearn.cli.main import main
from zenlearn.config import TrainConfig
from zenlearn.errors import TrainingError, UsageError
from zenlearn.workflows.compare import parse_vary, run_compare

SMALL = ["--data", "mnist", "--model", "mlp", "--hidden", "16", "--epochs", "2", "--train-subset", "300",
         "--eval-batch-size", "2000"]


def small_cfg(**kw):
    base = dict(data="mnist", model="mlp", hidden=(16,), epochs=1, train_subset=300, eval_batch_size=2000)
    return TrainConfig(**{**base, **kw})


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_two_variants_two_seeds_write_every_file(tmp_path, data_dir, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", *SMALL, "--vary", "optimizer=sgd,adam", "--seeds", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    rows = read(out / "results.csv")
    assert len(rows) == 4 and [r["optimizer"] for r in rows] == ["sgd", "sgd", "adam", "adam"]
    assert [r["seed"] for r in rows] == ["0", "1", "0", "1"] and {r["status"] for r in rows} == {"ok"}
    for col in ("variant", "test_accuracy", "test_loss", "val_accuracy", "val_loss", "train_seconds", "run_dir"):
        assert col in rows[0]
    for r in rows:
        assert (out / r["run_dir"] / "summary.json").is_file() and (out / r["run_dir"] / "metrics.csv").is_file()
        assert 0 <= float(r["test_accuracy"]) <= 1 and float(r["train_seconds"]) > 0
    summary = read(out / "summary.csv")
    assert [s["variant"] for s in summary] == ["optimizer=sgd", "optimizer=adam"]
    assert [s["best"] for s in summary].count("True") == 1
    for s in summary:  # mean ± std of the two seeds, recomputed here
        accs = [float(r["test_accuracy"]) for r in rows if r["variant"] == s["variant"]]
        assert float(s["test_accuracy_mean"]) == pytest.approx(sum(accs) / 2)
        assert float(s["test_accuracy_std"]) == pytest.approx(abs(accs[0] - accs[1]) / 2 ** 0.5)
    for png in ("val_curves.png", "final_metric.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((out / "compare.json").read_text())
    assert manifest["vary"] == {"optimizer": ["sgd", "adam"]} and manifest["seeds"] == [0, 1]
    assert manifest["metric"] == "val_accuracy" and manifest["best"] in ("optimizer=sgd", "optimizer=adam")
    assert [len(v["runs"]) for v in manifest["variants"]] == [2, 2]
    assert "±" in printed and "* best: highest mean val accuracy" in printed
    best_line = next(line for line in printed.splitlines() if line.startswith("*  optimizer="))
    assert manifest["best"] in best_line


def test_failed_runs_are_reported_and_others_complete_then_resume(tmp_path, data_dir, monkeypatch):
    import zenlearn.workflows.compare as compare_mod

    real = compare_mod.train_run

    def flaky(cfg, **kw):
        if cfg.lr == 0.5:
            raise TrainingError("loss became NaN/Inf in epoch 1; lower --lr")
        return real(cfg, **kw)

    monkeypatch.setattr(compare_mod, "train_run", flaky)
    out = tmp_path / "cmp"
    res = run_compare(small_cfg(optimizer="sgd"), {"lr": ["0.05", "0.5"]}, seeds=1, out=out, verbose=False)
    assert [r["status"] for r in res.rows] == ["ok", "failed"]
    assert res.rows[1]["error"] == "loss became NaN/Inf in epoch 1; lower --lr"
    assert res.best == "lr=0.05" and "failed: lr=0.5: loss became NaN/Inf" in res.table
    assert read(out / "summary.csv")[1]["ok"] == "0"

    with pytest.raises(UsageError, match="already holds files; pass --resume"):
        run_compare(small_cfg(optimizer="sgd"), {"lr": ["0.05", "0.5"]}, out=out, verbose=False)
    calls = []
    monkeypatch.setattr(compare_mod, "train_run", lambda cfg, **kw: calls.append(cfg.lr) or real(cfg, **kw))
    again = run_compare(small_cfg(optimizer="sgd"), {"lr": ["0.05", "0.5"]}, out=out, resume=True, verbose=False)
    assert calls == [0.5]  # the finished run is skipped, the failed one is retried
    assert [r["status"] for r in again.rows] == ["resumed", "ok"]
    assert again.rows[0]["test_accuracy"] == res.rows[0]["test_accuracy"]
    with pytest.raises(UsageError, match="holds a run with other settings \\(epochs\\)"):
        run_compare(small_cfg(optimizer="sgd", epochs=2), {"lr": ["0.05"]}, out=out, resume=True, verbose=False)


@pytest.mark.parametrize("vary,needle", [
    (["optimizer"], "--vary expects KEY=V1,V2,… (like optimizer=sgd,adam), got 'optimizer'"),
    (["optimiser=sgd"], "--vary optimiser: unknown option; valid keys: data,"),
    (["seed=1,2"], "--vary seed: cannot be varied (use --seeds N)"),
    (["lr=0.1,0.1"], "--vary lr: a value is listed twice"),
    (["epochs=1,two"], "option 'epochs' (--epochs) expects integer, got 'two'"),
])
def test_bad_vary_is_one_line(vary, needle, capsys, tmp_path):
    args = ["compare", *SMALL, "--out", str(tmp_path / "c")]
    for v in vary:
        args += ["--vary", v]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


def test_invalid_combination_is_refused_before_any_run(tmp_path, capsys):
    code = main(["compare", *SMALL, "--momentum", "0.5", "--vary", "optimizer=momentum,adam", "--out", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and "invalid variant(s): optimizer=adam: optimizer 'adam' does not take --momentum" in err
    assert not (tmp_path / "c").exists()


def test_parse_vary_types_and_tuples():
    assert parse_vary(["hidden=16;8,8", "--batch-size=32,64"]) == {"hidden": [(16,), (8, 8)], "batch_size": [32, 64]}
    assert parse_vary(["schedule=constant,cosine"])["schedule"] == ["constant", "cosine"]
