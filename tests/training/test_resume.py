"""Resume after a kill is exact; checkpoints survive crashes; signals checkpoint; disk-full and NaN fail cleanly."""

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from zenlearn import TrainConfig, Trainer, train_run
from zenlearn.cli.main import main
from zenlearn.errors import UsageError
from zenlearn.io.atomic import atomic_open, clean_temp_files, write_bytes
from zenlearn.io.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from zenlearn.nn.models import MLP
from zenlearn.training.resume import StopSignals, resume_config

KILLRUN = Path(__file__).with_name("killrun.py")
TINY = ["--model", "mlp", "--hidden", "32", "--epochs", "3", "--train-subset", "600", "--batch-size", "50",
        "--checkpoint-every", "5", "--early-stopping", "5", "--no-report", "--quiet"]  # 12 steps per epoch, 36 in all


def zenlearn(*args, point=None):
    cmd = [sys.executable, str(KILLRUN), point, *args] if point else [sys.executable, "-m", "zenlearn", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow
def test_kill_at_seven_points_then_resume_is_bit_identical(tmp_path, data_dir):
    """A real `zenlearn train` killed (SIGKILL, SIGTERM) at 7 points, resumed each time, ends byte-identical."""
    base = zenlearn("train", *TINY, "--out", str(tmp_path / "base"))
    assert base.returncode == 0, base.stderr
    run = tmp_path / "killed"
    r = zenlearn("train", *TINY, "--out", str(run), point="step:3")  # mid-epoch 1, before any checkpoint
    assert r.returncode == -signal.SIGKILL and not (run / "checkpoint.pt").exists()
    points = [("step:8", -signal.SIGKILL),          # mid-epoch 1, 3 steps after the step-5 checkpoint
              ("epoch_saved:1", -signal.SIGKILL),   # between epochs 1 and 2, checkpoint written
              ("sigterm:17", 128 + signal.SIGTERM),  # mid-epoch 2: graceful stop writes a checkpoint
              ("epoch_unsaved:2", -signal.SIGKILL),  # between epochs 2 and 3, before the checkpoint
              ("in_save:3", -signal.SIGKILL),       # mid-epoch 3, halfway through writing the step-30 checkpoint
              ("after_fit", -signal.SIGKILL)]       # training done, model.safetensors not yet written
    for point, code in points:
        r = zenlearn("train", "--resume", str(run), "--quiet", point=point)
        assert r.returncode == code, (point, r.stderr)
        assert "Traceback" not in r.stderr
        load_checkpoint(run / "checkpoint.pt")  # always a loadable checkpoint on disk
    r = zenlearn("train", "--resume", str(run), "--quiet")
    assert r.returncode == 0, r.stderr
    assert (run / "model.safetensors").read_bytes() == (tmp_path / "base" / "model.safetensors").read_bytes()
    strip = lambda p: [",".join(line.split(",")[:5]) for line in p.read_text().splitlines()]  # drop timings
    assert strip(run / "metrics.csv") == strip(tmp_path / "base" / "metrics.csv")
    assert not list(run.glob(".*.tmp"))  # the half-written checkpoint was cleaned up


def test_sigterm_message_and_exit_code(tmp_path, data_dir):
    r = zenlearn("train", *TINY, "--epochs", "1", "--out", str(tmp_path / "r"), point="sigterm:4")
    assert r.returncode == 143
    assert r.stderr.strip() == (f"zenlearn: interrupted by SIGTERM at epoch 1, step 4; checkpoint saved — continue "
                                f"with `zenlearn train --resume {tmp_path / 'r'}`")
    assert load_checkpoint(tmp_path / "r" / "checkpoint.pt")["global_step"] == 4


def _fit(model_seed, epochs, *, stop_after=None, state=None, augment=None):
    """Train an MLP with dropout (and an optional random augmentation); optionally stop after a step."""
    g = torch.Generator().manual_seed(42)
    x, y = torch.randn(96, 1, 4, 4, generator=g), torch.randint(0, 3, (96,), generator=g)
    torch.manual_seed(model_seed)
    model = MLP(16, (32,), 3, dropout=0.5)
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), 1e-2), device="cpu", augment=augment)

    class Stop(Exception):
        pass

    class Snap:
        def on_train_begin(self, logs): ...
        def on_epoch_begin(self, epoch, logs): ...
        def on_epoch_end(self, epoch, logs): ...
        def on_train_end(self, logs): ...

        def on_batch_end(self, step, logs):
            if stop_after is not None and trainer.global_step == stop_after:
                snaps.append({**trainer.state_dict(), "rng": rng_state()})
                raise Stop

    snaps: list = []
    trainer.callbacks.append(Snap())
    if state is not None:
        trainer.load_state_dict(state)
        set_rng_state(state["rng"])
    try:
        trainer.fit((x, y), epochs=epochs, batch_size=10, seed=3, verbose=False)
    except Stop:
        return trainer, snaps[0]
    return trainer, None


class NoiseAugment:
    """A stand-in augmentation with its own generator (like zenlearn.Augment)."""

    def __init__(self):
        self.generator = torch.Generator().manual_seed(7)

    def __call__(self, x):
        return x + 0.1 * torch.randn(x.shape, generator=self.generator)


@pytest.mark.parametrize("stop_after", [3, 10, 14])  # mid-epoch 1, after the last batch of epoch 1, mid-epoch 2
def test_in_process_resume_with_dropout_and_augmentation_is_exact(stop_after):
    full, _ = _fit(0, 3, augment=NoiseAugment())
    _, snap = _fit(0, 3, stop_after=stop_after, augment=NoiseAugment())
    torch.manual_seed(123)  # the resumed process's RNGs start elsewhere; the checkpoint restores them
    resumed, _ = _fit(1, 3, state=snap, augment=NoiseAugment())
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert [e["loss"] for e in full.history.epochs] == [e["loss"] for e in resumed.history.epochs]


def test_crash_in_the_middle_of_a_checkpoint_write_keeps_the_previous_one(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.arange(4.0)})

    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        with atomic_open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
            raise Crash
    assert load_checkpoint(path)["epoch"] == 1
    assert not list(tmp_path.glob(".*.tmp"))
    # a hard kill leaves the temp file behind; it never replaces the checkpoint, and is cleaned on resume
    (tmp_path / ".checkpoint.pt.abc123.tmp").write_bytes(b"partial")
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in clean_temp_files(tmp_path)] == [".checkpoint.pt.abc123.tmp"]


def test_disk_full_during_training_is_exit_1_one_line_and_keeps_files(tmp_path, monkeypatch, capsys, data_dir):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_fsync = os.fsync

    def full_for_checkpoints(fd):  # the disk fills up when the next checkpoint is written
        if ".checkpoint.pt." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_for_checkpoints)
    code = main(["train", "--resume", str(out), "--epochs", "2", "--quiet"])
    monkeypatch.setattr(os, "fsync", real_fsync)
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"no space left on the device while writing {out / 'checkpoint.pt'}; free some disk space" in err
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    live = ("config.yaml", "state.json", "events.jsonl")  # the resumed run started, and says how it ended
    assert after.keys() >= before.keys() and all(after[k] == v for k, v in before.items() if k not in live)
    assert json.loads(after["state.json"])["state"] == "failed"
    assert not list(out.glob(".*.tmp"))


def test_permission_error_on_write_is_a_usage_error(tmp_path, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", denied)
    with pytest.raises(UsageError, match="cannot write .* choose a folder you can write to"):
        write_bytes(tmp_path / "x.bin", b"1")


def test_nan_loss_stops_with_exit_1_and_keeps_the_last_good_checkpoint(tmp_path, capsys, data_dir):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out)]) == 0
    good = load_checkpoint(out / "checkpoint.pt")
    # resume with a poisoned optimizer: the learning rate in the restored state becomes huge
    ckpt = dict(good)
    ckpt["optimizer"]["param_groups"][0]["lr"] = 1e38
    save_checkpoint(out / "checkpoint.pt", ckpt)
    code = main(["train", "--resume", str(out), "--epochs", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "loss became NaN/Inf in epoch 2" in err and len(err.strip().splitlines()) == 1
    kept = load_checkpoint(out / "checkpoint.pt")
    assert kept["global_step"] == good["global_step"]  # no checkpoint with NaN weights was written
    assert all(torch.isfinite(v).all() for v in kept["model"].values())


def test_stop_signals_first_sets_a_flag_second_interrupts():
    with StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.signum == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_resume_keeps_the_run_definition_and_its_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model: mlp\nlr: 0.01\nepochs: 2\nout: /somewhere/else\n")
    cfg = resume_config(run, {"epochs": "4", "lr": 0.01})
    assert cfg.epochs == 4 and cfg.out == str(run)  # a config cannot redirect the writes
    with pytest.raises(UsageError, match=r"--lr 0.1 differs from the run's 0.01; --resume continues"):
        resume_config(run, {"lr": "0.1"})
    with pytest.raises(UsageError, match="--out .* differs from --resume"):
        resume_config(run, {"out": str(tmp_path / "other")})


def test_resume_without_a_checkpoint_starts_afresh_and_matches(tmp_path, data_dir):
    a = train_run(TrainConfig(model="mlp", hidden=(16,), epochs=1, train_subset=300, report=False,
                              out=str(tmp_path / "a")), verbose=False)
    run = tmp_path / "b"
    run.mkdir()
    (run / "config.yaml").write_text((tmp_path / "a" / "config.yaml").read_text())
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert (run / "model.safetensors").read_bytes() == (tmp_path / "a" / "model.safetensors").read_bytes()
    assert a["epochs"] == 1


def test_deterministic_flag_is_scoped_to_the_run(tmp_path, data_dir):
    tiny = dict(model="mlp", hidden=(16,), epochs=1, train_subset=300, report=False)
    s1 = train_run(TrainConfig(**tiny, deterministic=True, out=str(tmp_path / "d")), verbose=False)
    s2 = train_run(TrainConfig(**tiny, out=str(tmp_path / "n")), verbose=False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert (tmp_path / "d" / "model.safetensors").read_bytes() == (tmp_path / "n" / "model.safetensors").read_bytes()
    assert s1["test"] == s2["test"]


def test_files_are_written_with_normal_permissions(tmp_path):
    write_bytes(tmp_path / "f", b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o666 & ~umask
