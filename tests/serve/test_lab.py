"""The Lab's augmentation preview and activation explorer API (serve/labtools.py, serve/augmentlab.py)."""

import hashlib
import io
import time

import numpy as np
import pytest
import torch

from zenlearn.augment.pipeline import Augment
from zenlearn.augment.spec import AUGMENTATIONS
from zenlearn.serve.augmentlab import parse_settings
from zenlearn.serve.security import MAX_BODY

SETTINGS = {"data": "mnist", "preset": "mnist", "rotation_range": "40", "horizontal_flip": "1", "samples": "4",
            "rows": "2", "seed": "7"}


def png_pixels(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def photo_bytes(fmt="PNG", size=(40, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def test_same_settings_give_the_same_png_bytes_and_other_settings_another(client, data_dir):
    a = client.get("/api/lab/augment.png", params=SETTINGS)
    assert a.status_code == 200 and a.headers["content-type"] == "image/png"
    assert float(a.headers["x-zenlearn-ms-per-batch"]) > 0
    assert client.get("/api/lab/augment.png", params=SETTINGS).content == a.content
    j = client.get("/api/lab/augment", params=SETTINGS).json()
    assert j["image"] == "data:image/png;base64," + __import__("base64").b64encode(a.content).decode()
    assert j["batch"] == 64 and j["shape"] == [1, 28, 28] and j["ms_per_batch"] > 0
    assert j["augment"] == {**AUGMENTATIONS.get("mnist"), "rotation_range": 40.0, "horizontal_flip": True}
    other = client.get("/api/lab/augment.png", params={**SETTINGS, "seed": "8"}).content
    assert hashlib.sha256(other).digest() != hashlib.sha256(a.content).digest()
    pixels = png_pixels(a.content)
    assert pixels.shape[0] > 3 * 64 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # 3 rows of digits


def test_open_as_cli_writes_the_same_png(client, tmp_path, data_dir, capsys):
    """The page's command line, run as it is shown, writes the very bytes the page shows."""
    import shlex

    from zenlearn.cli.main import main

    params = {**SETTINGS, "fill_mode": "reflect", "shear_range": "10"}
    argv = shlex.split(client.get("/api/lab/augment", params=params).json()["cli"])
    assert argv[:2] == ["zenlearn", "augment"] and "--out" not in argv
    out = tmp_path / "cli.png"
    assert main([*argv[1:], "--out", str(out)]) == 0
    assert out.read_bytes() == client.get("/api/lab/augment.png", params=params).content
    capsys.readouterr()


def test_grid_is_drawn_by_augment_itself(client, data_dir):
    """No augmentation: the draws equal the originals; the rows hold what Augment returns for the same seed."""
    plain = png_pixels(client.get("/api/lab/augment.png", params={"data": "mnist", "samples": "3", "rows": "1"}).content)
    cell = 28 * 3 + 2  # 28 px upscaled 3x to reach 64, plus the 2 px frame
    assert plain.shape[0] == 2 * cell + 2
    original, draw = plain[2 : cell, -3 * cell :], plain[2 + cell : 2 * cell, -3 * cell :]
    assert np.array_equal(original, draw) and original.max() == 255
    settings = parse_settings({"rotation_range": "90"})
    aug = Augment(**settings["augment"], seed=0)
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(aug(x), Augment(rotation_range=90.0, seed=0)(x))


@pytest.mark.parametrize("params, message", [
    ({"preset": "mnits"}, "preset: unknown 'mnits'; choose one of: none, mnist, cifar, imagenet"),
    ({"fill_mode": "mirror"}, "fill_mode: expected one of constant, nearest, reflect, wrap, got 'mirror'"),
    ({"rotation_range": "400"}, "rotation_range: expected a number in [0, 180], got '400'"),
    ({"zoom_range": "nan"}, "zoom_range: expected a number in [0, 0.9], got 'nan'"),
    ({"samples": "0"}, "samples: expected a whole number in [1, 16], got '0'"),
    ({"horizontal_flip": "maybe"}, "horizontal_flip: expected 1 or 0, got 'maybe'"),
    ({"brightness": "2"}, "unknown setting 'brightness'"),
    ({"data": "mnist1d"}, "data: mnist1d holds sequence samples, not images"),
    ({"data": "cifar99"}, "unknown dataset 'cifar99'"),
    ({"data": "folder:../.."}, "data: '../..' is not a folder under the served root"),
    ({"data": "upload:0123456789abcdef"}, "upload '0123456789abcdef' is not held by this server"),
])
def test_bad_settings_are_400_with_one_line(client, params, message):
    for url in ("/api/lab/augment", "/api/lab/augment.png"):
        r = client.get(url, params=params)
        assert r.status_code == 400 and message in r.json()["error"] and "\n" not in r.json()["error"]


def test_image_folder_under_the_root(client, root):
    from PIL import Image

    for cls in ("red", "blue"):
        (root / "pics" / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(np.full((20, 30, 3), (200, 20 * i, 0) if cls == "red" else (0, 20 * i, 200),
                                    np.uint8)).save(root / "pics" / cls / f"{i}.png")
    params = {"data": "folder:pics", "size": "32", "samples": "4", "rotation_range": "45"}
    r = client.get("/api/lab/augment", params=params).json()
    assert r["shape"] == [3, 32, 32] and r["held"] == 18  # 20 less a validation image per class, as for training
    assert f"--data folder:{root / 'pics'} --image-size 32,32" in r["cli"]


def test_upload_one_image_then_preview_it(client, post):
    r = client.post("/api/lab/upload", content=photo_bytes("JPEG"),
                    headers={"origin": "http://127.0.0.1:8765", "x-zenlearn-token": "test-token",
                             "content-type": "image/jpeg"})
    assert r.status_code == 200 and r.json()["data"].startswith("upload:")
    j = client.get("/api/lab/augment", params={"data": r.json()["data"], "rotation_range": "30", "size": "48"}).json()
    assert j["shape"] == [3, 48, 48] and j["held"] == 1


@pytest.mark.parametrize("body, headers, status, message", [
    (b"GIF89a not really", {}, 400, "the upload is not an image that can be read"),
    (b"", {}, 400, "the upload is empty"),
    (b"x" * (MAX_BODY + 1), {}, 413, "the request body is over 16 MiB"),
    (photo_bytes(), {"x-zenlearn-token": "wrong"}, 403, "missing or wrong token"),
    (photo_bytes(), {"origin": "http://evil.example"}, 403, "cross-origin request refused"),
])
def test_bad_uploads_are_refused_and_nothing_is_kept(client, root, body, headers, status, message):
    before = sorted(p.name for p in root.rglob("*"))
    h = {"origin": "http://127.0.0.1:8765", "x-zenlearn-token": "test-token", **headers}
    r = client.post("/api/lab/upload", content=body, headers=h)
    assert r.status_code == status and message in r.text
    assert sorted(p.name for p in root.rglob("*")) == before


def test_activation_curves_are_autograd_derivatives(client):
    r = client.get("/api/lab/activations", params={"names": "relu,sigmoid,tanh", "lo": "-2", "hi": "2"}).json()
    x = torch.tensor(r["x"])
    sig = torch.tensor(r["curves"][1]["y"])
    assert [c["name"] for c in r["curves"]] == ["relu", "sigmoid", "tanh"] and len(x) == 401
    assert torch.allclose(torch.tensor(r["curves"][1]["dy"]), sig * (1 - sig), atol=1e-6)
    assert torch.allclose(torch.tensor(r["curves"][2]["dy"]), 1 - torch.tanh(x) ** 2, atol=1e-6)
    every = client.get("/api/lab/activations").json()["curves"]
    assert "gelu" in [c["name"] for c in every] and "identity" in [c["name"] for c in every]
    for params, message in (({"names": "swishy"}, "unknown activation 'swishy'"),
                            ({"lo": "3", "hi": "1"}, "lo must be below hi"), ({"lo": "x"}, "lo: expected a number"),
                            ({"colour": "red"}, "unknown setting 'colour'")):
        r = client.get("/api/lab/activations", params=params)
        assert r.status_code == 400 and message in r.json()["error"]


def test_gradient_norms_show_sigmoid_vanishing_and_relu_not(client):
    params = {"activations": "sigmoid,relu", "depth": "6", "width": "32", "steps": "4"}
    r = client.get("/api/lab/gradients", params=params)
    assert r.status_code == 200, r.text
    runs = {run["activation"]: np.array(run["norms"]) for run in r.json()["runs"]}
    assert runs["sigmoid"].shape == (4, 7) and runs["relu"].shape == (4, 7)
    ratio = {a: n[:, -1].mean() / n[:, 0].mean() for a, n in runs.items()}  # last layer's gradient over the first's
    assert ratio["sigmoid"] > 1000 and ratio["relu"] < 1000 and ratio["sigmoid"] > 100 * ratio["relu"]
    assert client.get("/api/lab/gradients", params=params).json() == r.json()  # kept per query


@pytest.mark.parametrize("params, message", [
    ({"activations": "relu,swishy"}, "unknown activation 'swishy'"),
    ({"depth": "40"}, "depth: expected a whole number in [1, 16], got '40'"),
    ({"lr": "0"}, "lr: expected a number in [1e-06, 10], got '0'"),
    ({"data": "cifar10"}, "data: expected one of mnist1d, mnist, fashion-mnist, got 'cifar10'"),
    ({"optimizer": "adamw2"}, "optimizer: unknown 'adamw2'; choose one of:"),
    ({"init": "lecun"}, "init: unknown 'lecun'; choose one of:"),
])
def test_bad_gradient_settings_are_400_before_any_work(client, params, message):
    r = client.get("/api/lab/gradients", params=params)
    assert r.status_code == 400 and message in r.json()["error"]


def test_lab_pages_are_served(client):
    for path in ("/lab/augment", "/lab/activations"):
        r = client.get(path)
        assert r.status_code == 200 and "<script type=\"module\"" in r.text


def test_a_dead_gradient_worker_is_a_message_then_a_fresh_worker(client):
    """A killed worker (out of memory, kill -9): a 503 with one line, and the next request works again."""
    import os
    import signal

    params = {"activations": "relu", "depth": "2", "width": "8", "steps": "1"}
    assert client.get("/api/lab/gradients", params=params).status_code == 200
    lab = next(r.endpoint.__self__ for r in client.app.app.routes if getattr(r, "path", "") == "/api/lab/gradients")
    for pid in list(lab.pool._processes):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    r = client.get("/api/lab/gradients", params={**params, "seed": "1"})
    assert r.status_code == 503 and "the gradient worker process died" in r.json()["error"]
    assert client.get("/api/lab/gradients", params={**params, "seed": "2"}).status_code == 200
