"""Files crafted to run code when loaded are refused, and the code never runs; writers stay atomic."""

import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from zenlearn.cli.main import main
from zenlearn.errors import UsageError
from zenlearn.io.checkpoint import load_checkpoint, load_weights
from zenlearn.io.safe_pickle import load_pickle
from zenlearn.nn.models import MLP


class MakesMarker:
    """Unpickling this runs `os.system("touch MARKER")` — unless the loader refuses it first."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_the_payload_really_runs_code_with_plain_pickle(tmp_path):
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(MakesMarker(marker)))  # the control: an unrestricted load runs it
    assert marker.exists()


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker, path = tmp_path / "marker", tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps({"x": np.zeros(3), "y": MakesMarker(marker)}))
    with pytest.raises(UsageError, match=r"refused to load: the pickle asks for global (posix|os)\.system, which "
                                         r"could run code"):
        load_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("zipfile", [True, False], ids=["zip", "legacy"])
def test_malicious_checkpoint_is_refused_and_runs_nothing(tmp_path, zipfile):
    marker, path = tmp_path / "marker", tmp_path / "checkpoint.pt"
    torch.save({"model": MakesMarker(marker)}, path, _use_new_zipfile_serialization=zipfile)
    with pytest.raises(UsageError, match=r"refused to load: .*GLOBAL (posix|os)\.system.* nothing in it was run"):
        load_checkpoint(path)
    assert not marker.exists()


def test_malicious_checkpoint_through_the_cli_is_exit_2(tmp_path, capsys):
    run, marker = tmp_path / "run", tmp_path / "marker"
    run.mkdir()
    (run / "config.yaml").write_text("model: mlp\nepochs: 1\n")
    torch.save({"model": MakesMarker(marker)}, run / "checkpoint.pt")
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "refused to load" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists() and sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.yaml"]


def test_weights_are_safetensors_only(tmp_path):
    marker, path = tmp_path / "marker", tmp_path / "model.safetensors"
    torch.save({"w": MakesMarker(marker)}, path)  # a pickle disguised as safetensors
    with pytest.raises(UsageError, match="not a valid safetensors file"):
        load_weights(MLP(4, (2,), 2), path)
    assert not marker.exists()


def test_published_mnist1d_pickle_loads_with_numpy_only(data_dir):
    d = load_pickle(data_dir / "mnist1d" / "mnist1d_data.pkl")
    assert d["x"].shape == (4000, 40) and d["y_test"].shape == (1000,)


@pytest.mark.parametrize("blob", [b"", b"\x80\x04", b"not a pickle", pickle.dumps(np.arange(4))[:-5]],
                         ids=["empty", "header-only", "text", "truncated"])
def test_corrupt_pickles_are_usage_errors(tmp_path, blob):
    (tmp_path / "p.pkl").write_bytes(blob)
    with pytest.raises(UsageError, match="p.pkl: "):
        load_pickle(tmp_path / "p.pkl")


# Every file zenlearn writes goes through zenlearn.atomic (temp file in the same folder, fsync, rename).
DIRECT_WRITE = re.compile(r"\.write_text\(|\.write_bytes\(|open\([^)]*['\"][wax]b?\+?['\"]|np\.save\(|"
                          r"torch\.save\((?!ckpt, buf)|savefig\((?!buf)")
ALLOWED = {
    "io/atomic.py": "the atomic writer itself",
    "data/idx.py": "downloads go to a .part file renamed only after the MD5 matches",
    "workflows/launch.py": "output.log is the launched process's stdout, a stream it appends to as it runs",
    "data/cache.py": "a cache build writes inside `with atomic_path(...)`, whose temp file the decoding workers fill by name",
}


def test_no_module_writes_files_without_zenlearn_atomic():
    root = Path(__file__).resolve().parents[2] / "src" / "zenlearn"
    offenders = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ALLOWED:
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if DIRECT_WRITE.search(code) and not re.search(r"write_with\(|atomic_open\(", code):
                offenders.append(f"{rel}:{i}: {line.strip()}")
    assert not offenders, ("write files with zenlearn.atomic (write_text / write_bytes / write_with / atomic_open) "
                           "so a crash never leaves a half-written file:\n" + "\n".join(offenders))
