import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zenlearn.workflows.distill as distill_run_mod
from zenlearn.cli.main import main
from zenlearn.config import DistillConfig, TrainConfig
from zenlearn.data import ArrayData, BatchLoader
from zenlearn.distill.methods import DISTILL_METHODS, KD, Hint, TeacherLogits, hint_loss, kd_loss, parse_sweep
from zenlearn.errors import UsageError
from zenlearn.training.trainer import Trainer
from zenlearn.workflows.distill import distill_run
from zenlearn.workflows.train import train_run

# ---------------------------------------------------------------- the losses against hand computations

def _softmax(z, t):
    e = [math.exp(v / t) for v in z]
    return [v / sum(e) for v in e]


def test_kd_loss_matches_a_hand_computation():
    s = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
    t = [[2.0, 1.0, 0.0], [1.0, 0.0, 2.5]]
    y = [1, 2]
    T, alpha = 3.0, 0.7
    kl = ce = 0.0
    for si, ti, yi in zip(s, t, y):
        ps, pt = _softmax(si, T), _softmax(ti, T)
        kl += sum(q * (math.log(q) - math.log(p)) for p, q in zip(ps, pt))
        ce += -math.log(_softmax(si, 1.0)[yi])
    expected = alpha * T * T * kl / 2 + (1 - alpha) * ce / 2
    got = kd_loss(torch.tensor(s), torch.tensor(t), torch.tensor(y), temperature=T, alpha=alpha)
    assert float(got) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("T", [1.0, 4.0, 20.0])
def test_kd_loss_at_alpha_0_is_cross_entropy_and_at_alpha_1_is_zero_for_equal_logits(T):
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(8, 10, generator=g), torch.randn(8, 10, generator=g)
    y = torch.randint(0, 10, (8,), generator=g)
    assert torch.equal(kd_loss(s, t, y, temperature=T, alpha=0.0), F.cross_entropy(s, y))
    assert float(kd_loss(s, s, y, temperature=T, alpha=1.0)) == pytest.approx(0.0, abs=1e-6)


def test_hint_loss_is_mean_squared_error():
    a, b = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.0, 2.0], [1.0, 4.0]])
    assert float(hint_loss(a, b)) == pytest.approx((1 + 0 + 4 + 0) / 4)


# ---------------------------------------------------------------- methods inside the ordinary Trainer

def _pair():
    torch.manual_seed(0)
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
    student = nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    return teacher, student


@pytest.mark.parametrize("method", ["kd", "hint"])
def test_gradients_flow_only_to_the_student(method):
    teacher, student = _pair()
    before = [p.detach().clone() for p in teacher.parameters()]
    loss_fn = DISTILL_METHODS.get(method)(teacher, student, DistillConfig(teacher="t", method=method),
                                          input_shape=(6,))
    params = list(student.parameters()) + loss_fn.parameters()
    trainer = Trainer(student, torch.optim.SGD(params, lr=0.5), device="cpu", loss_fn=loss_fn)
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    trainer.model.train()
    trainer.train_step(x, y)
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, teacher.parameters()))
    assert not teacher.training  # frozen in eval mode: dropout off
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    if method == "hint":
        assert loss_fn.regressor.weight.grad is not None and loss_fn.regressor.weight.shape == (16, 4)
        loss_fn.close()


def test_kd_teacher_logits_come_from_the_cache_only_for_unaugmented_batches():
    teacher, student = _pair()
    data = ArrayData(torch.randint(0, 256, (50, 6), dtype=torch.uint8), torch.randint(0, 3, (50,)))
    loader = BatchLoader(data, 16, scale=1 / 255, shuffle=True, seed=3)
    kd = KD(teacher, student, DistillConfig(teacher="t"), loader=loader)
    assert kd.cache.shape == (50, 3)
    for x, _ in loader:
        with torch.no_grad():
            direct = teacher(x)
        assert torch.allclose(kd.teacher_logits(x), direct, atol=1e-6)  # cache hit
        shifted = x + 0.1  # an "augmented" batch is a new tensor: the teacher runs on it
        with torch.no_grad():
            assert torch.allclose(kd.teacher_logits(shifted), teacher(shifted), atol=1e-6)


def test_kd_logit_cache_is_shared_only_for_the_same_teacher_and_samples():
    teacher, student = _pair()
    data = ArrayData(torch.randint(0, 256, (40, 6), dtype=torch.uint8), torch.randint(0, 3, (40,)))
    loader = BatchLoader(data, 16, scale=1 / 255)
    shared = TeacherLogits(teacher)  # owned by one distillation run, passed to each candidate's loss
    a = KD(teacher, student, DistillConfig(teacher="t"), loader=loader, logits=shared)
    b = KD(teacher, student, DistillConfig(teacher="t", temperature=8), loader=loader, logits=shared)
    assert b.cache is a.cache  # the next sweep candidate reuses the teacher pass
    assert KD(teacher, student, DistillConfig(teacher="t"), loader=loader).cache is not a.cache  # no global cache
    other_data = ArrayData(data.x.clone(), data.y)
    assert shared.over(BatchLoader(other_data, 16, scale=1 / 255)) is not a.cache  # other samples: a new pass
    other, _ = _pair()
    with torch.no_grad():
        other[1].weight.add_(1.0)
    c = KD(other, student, DistillConfig(teacher="t"), loader=loader)
    assert c.cache is not a.cache and not torch.allclose(c.cache, a.cache)


def test_hint_layer_names_are_checked():
    teacher, student = _pair()
    with pytest.raises(UsageError, match=r"hint: the student has no module 'nope'; choose one of: 0, 1, 2, 3"):
        Hint(teacher, student, DistillConfig(teacher="t", method="hint", hint_layer="nope"), input_shape=(6,))
    h = Hint(teacher, student, DistillConfig(teacher="t", method="hint", hint_layer="2:3"), input_shape=(6,))
    assert h.regressor.weight.shape == (16, 4)


def test_parse_sweep_and_its_errors():
    assert parse_sweep(["temperature=1,2,4,8,20", "alpha=0.5,0.9"]) == {
        "temperature": (1.0, 2.0, 4.0, 8.0, 20.0), "alpha": (0.5, 0.9)}
    with pytest.raises(UsageError, match="--sweep expects KEY=V1,V2,… with KEY one of temperature, alpha; .* got 'lr=1'"):
        parse_sweep(["lr=1"])
    with pytest.raises(UsageError, match=r"--sweep alpha: a value is listed twice \(0.5,0.5\)"):
        parse_sweep(["alpha=0.5,0.5"])  # as --vary: a repeat is refused, not silently dropped
    with pytest.raises(UsageError, match="expected comma-separated numbers, got 'a,b'"):
        parse_sweep(["alpha=a,b"])


# ---------------------------------------------------------------- end to end on real MNIST (tiny)

def _student(tmp_path, name, **kw):
    base = dict(data="mnist", model="mlp", hidden=(16,), epochs=1, train_subset=1500, batch_size=64,
                eval_batch_size=10000, out=str(tmp_path / name))
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("distill") / "teacher"
    train_run(TrainConfig(data="mnist", model="mlp", hidden=(64,), epochs=2, train_subset=3000, out=str(out)),
              verbose=False)
    return out


class TestSplitGuard(ArrayData):
    """Test data that fails if read before the sweep table exists, and counts its reads."""

    __test__ = False

    def __init__(self, data, sweep_csv):
        self._data, self._sweep_csv, self.batches = data, sweep_csv, 0

    def _check(self):
        if not self._sweep_csv.exists():
            raise AssertionError("the test split was read during the sweep")

    @property
    def x(self):
        self._check()
        return self._data.x

    @property
    def y(self):
        self._check()
        self.batches += 1  # the loader reads y once per batch
        return self._data.y

    def __len__(self):
        return len(self._data)


def test_sweep_never_reads_the_test_split_and_tests_each_model_once(tmp_path, teacher_dir, monkeypatch):
    out = tmp_path / "sweep"
    guards = []
    real = distill_run_mod.open_splits

    def guarded(*args, **kw):
        s = real(*args, **kw)
        guards.append(TestSplitGuard(s.test, out / "sweep.csv"))
        s.test = guards[-1]
        return s

    monkeypatch.setattr(distill_run_mod, "open_splits", guarded)
    sweep = parse_sweep(["temperature=2,8", "alpha=0.5,0.9"])
    s = distill_run(_student(tmp_path, "sweep"), DistillConfig(teacher=str(teacher_dir)), sweep=sweep, verbose=False)
    assert guards[0].batches == 3  # teacher, scratch, distilled: one test pass each (one batch of 10000)
    sel = s["selection"]
    assert sel["split"] == "val" and len(sel["val_accuracy"]) == 2 and len(sel["val_accuracy"][0]) == 2
    best = max((v, i, j) for i, r in enumerate(sel["val_accuracy"]) for j, v in enumerate(r))
    assert (sel["temperature"][best[1]], sel["alpha"][best[2]]) == (s["student_distilled"]["temperature"],
                                                                    s["student_distilled"]["alpha"])
    assert s["student_distilled"]["val"]["accuracy"] == pytest.approx(best[0])
    for f in ("sweep.csv", "sweep.json", "sweep.png", "summary.json", "distill.yaml", "report.html"):
        assert (out / f).is_file(), f
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert len((out / "sweep.csv").read_text().splitlines()) == 3


def test_cli_distill_end_to_end(tmp_path, teacher_dir, capsys):
    out = tmp_path / "kd"
    code = main(["distill", "--teacher", str(teacher_dir), "--student", "mlp", "--hidden", "16", "--epochs", "1",
                 "--train-subset", "1500", "--temperature", "4", "--alpha", "0.9", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "student_distilled" in printed and "compression" in printed
    s = json.loads((out / "summary.json").read_text())
    for name in ("teacher", "student_scratch", "student_distilled"):
        r = s[name]
        assert {"params", "test", "val", "inference_ms_per_sample"} <= set(r)
        assert r["test"]["samples"] == 10000 and r["test"]["errors"] == round((1 - r["test"]["accuracy"]) * 10000)
    assert s["teacher"]["params"] == 784 * 64 + 64 + 64 * 10 + 10
    assert s["student_scratch"]["params"] == s["student_distilled"]["params"] == 784 * 16 + 16 + 16 * 10 + 10
    assert s["compression_ratio"] == pytest.approx(s["teacher"]["params"] / s["student_distilled"]["params"])
    assert s["splits"]["val"] == 6000 and s["splits"]["test"] == 10000 and s["selection"] is None
    assert s["student_distilled"]["temperature"] == 4.0 and s["teacher"]["test"]["accuracy"] > 0.85
    # same seed, same settings: the two students start from the same weights
    from safetensors.torch import load_file
    assert (out / "scratch" / "model.safetensors").is_file() and (out / "distilled" / "metrics.csv").is_file()
    scratch, distilled = load_file(out / "scratch" / "model.safetensors"), load_file(out / "distilled" / "model.safetensors")
    assert not torch.equal(scratch["net.1.weight"], distilled["net.1.weight"])


def test_alpha_0_distillation_reproduces_the_scratch_student(tmp_path, teacher_dir):
    s = distill_run(_student(tmp_path, "a0"), DistillConfig(teacher=str(teacher_dir), alpha=0.0), verbose=False)
    assert s["student_distilled"]["test"] == s["student_scratch"]["test"]
    assert s["test_error_gap"] == 0


def test_hint_method_end_to_end(tmp_path, teacher_dir):
    s = distill_run(_student(tmp_path, "hint"), DistillConfig(teacher=str(teacher_dir), method="hint", alpha=0.5),
                    verbose=False)
    assert s["student_distilled"]["method"] == "hint" and s["student_distilled"]["test"]["accuracy"] > 0.3  # chance: 0.1


@pytest.mark.parametrize("args,needle", [
    (["--data", "fashion-mnist"], "the student's data must match the teacher's (data: teacher 'mnist', "
                                  "student 'fashion-mnist')"),
    (["--val-split", "0.2"], "val_split: teacher 0.1, student 0.2"),
    (["--method", "dark"], "unknown distillation method 'dark'; choose one of: kd, hint"),
    (["--alpha", "1.5"], "alpha must be in [0, 1], got 1.5"),
    (["--sweep", "beta=1"], "--sweep expects KEY=V1,V2,… with KEY one of temperature, alpha"),
])
def test_distill_bad_input_is_one_line_and_exit_2(tmp_path, teacher_dir, capsys, args, needle):
    code = main(["distill", "--teacher", str(teacher_dir), "--student", "mlp", "--out", str(tmp_path / "x"), *args])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()  # nothing written before the input is known to be good


def test_distill_needs_a_teacher_run_folder(tmp_path, capsys):
    code = main(["distill", "--teacher", str(tmp_path / "none"), "--student", "mlp"])
    assert code == 2 and "is not a folder; pass a run folder made by `zenlearn train`" in capsys.readouterr().err
    code = main(["distill", "--student", "mlp"])
    assert code == 2 and "the following arguments are required: --teacher" in capsys.readouterr().err


def test_sweep_over_two_workers_matches_the_sequential_sweep(tmp_path, teacher_dir, capsys):
    """--workers 2 spreads the T x alpha students over two processes (the tune engine); every cell's validation
    result, the choice and the test figures equal the sequential sweep's at the same threads per run."""
    sweep = {"temperature": (2.0, 8.0), "alpha": (0.5, 0.9)}
    student = _student(tmp_path, "seq").replace(threads=1)
    seq = distill_run(student, DistillConfig(teacher=str(teacher_dir)), sweep=sweep, verbose=False)
    par = distill_run(student.replace(out=str(tmp_path / "par")), DistillConfig(teacher=str(teacher_dir)), sweep=sweep,
                      verbose=False, workers=2)
    assert par["selection"]["val_accuracy"] == seq["selection"]["val_accuracy"]
    assert par["selection"]["chosen"] == seq["selection"]["chosen"]
    assert par["student_distilled"]["test"] == seq["student_distilled"]["test"]
    assert (tmp_path / "par" / "cells.db").is_file()  # the engine's own storage, in the output folder
    code = main(["distill", "--teacher", str(teacher_dir), "--student", "mlp", "--workers", "2",
                 "--out", str(tmp_path / "nosweep")])
    assert code == 2 and "--workers/--storage share a --sweep's students" in capsys.readouterr().err
