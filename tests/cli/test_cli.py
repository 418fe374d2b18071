import os
import subprocess
import sys

import pytest

from zenlearn.cli.main import main


def run_cli(*args, cwd=None):
    env = {**os.environ}
    return subprocess.run([sys.executable, "-m", "zenlearn", *args], capture_output=True, text=True, env=env, cwd=cwd)


@pytest.mark.parametrize("args,needle", [
    (["train", "--epochs", "abc"], "option 'epochs' (--epochs) expects integer, got 'abc'"),
    (["train", "--model", "transformer"], "unknown model 'transformer'; choose one of: seed-cnn"),
    (["train", "--lr", "-1"], "lr must be > 0"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--device", "tpu"], "device must be one of auto, cpu, cuda"),
    (["train", "--config", "/nonexistent.yaml"], "not found"),
    (["evaluate", "/nonexistent-run"], "is not a folder"),
    (["list", "widgets"], "unknown kind 'widgets'"),
    (["nosuchcommand"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, needle):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_subprocess_error_has_no_traceback():
    r = run_cli("train", "--batch-size", "0")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "batch_size must be >= 1" in r.stderr


def test_help_does_not_import_torch():
    code = "import sys; from zenlearn.cli import main\ntry: main(['train', '--help'])\nexcept SystemExit: pass\n" \
           "assert 'torch' not in sys.modules, 'torch imported for --help'"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "--batch-size" in r.stdout and "Training batch size" in r.stdout


def test_out_folder_with_files_is_refused(tmp_path, capsys, data_dir):
    (tmp_path / "keep.txt").write_text("precious")
    code = main(["train", "--model", "mlp", "--out", str(tmp_path), "--epochs", "1"])
    assert code == 2 and "already holds files; pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "precious"


def test_cli_train_evaluate_predict_list(tmp_path, data_dir):
    import numpy as np
    from PIL import Image

    out = tmp_path / "run"
    r = run_cli("train", "--model", "mlp", "--hidden", "64", "--epochs", "1", "--train-subset", "3000",
                "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout
    r = run_cli("evaluate", str(out))
    assert r.returncode == 0 and "test accuracy" in r.stdout
    # a PNG and a .npy batch from the real test set
    from zenlearn.data import load_splits
    s = load_splits("mnist", val_split=0.0)
    img = s.test.x[0, 0].numpy()
    Image.fromarray(img).resize((56, 56)).save(tmp_path / "digit.png")  # any size is resized
    np.save(tmp_path / "batch.npy", s.test.x[:3, 0].numpy())
    r = run_cli("predict", str(out), str(tmp_path / "digit.png"), str(tmp_path / "batch.npy"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 4 and lines[0].split("\t")[1] == str(int(s.test.y[0]))
    r = run_cli("predict", str(out), str(tmp_path / "missing.png"))
    assert r.returncode == 2 and "not found" in r.stderr
    r = run_cli("list", "models")
    assert r.returncode == 0 and "seed-cnn" in r.stdout


def test_fp16_on_cpu_is_a_clear_error(capsys, data_dir, tmp_path):
    code = main(["train", "--model", "mlp", "--precision", "16", "--device", "cpu", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "precision 16" in err and "needs a CUDA device" in err
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_reproduce_help_names_every_experiment(capsys):
    """`--only`'s help lists the suite's experiments (it is written out: --help imports no workflow)."""
    from zenlearn.workflows.suite import SUITE
    assert main(["reproduce", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    missing = [name for name in SUITE.names() if name not in text]
    assert not missing, f"zenlearn reproduce --help does not name {missing}"
