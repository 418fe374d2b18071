"""Augmentation: per-sample parameters, seeds, Keras fill modes and geometry against references."""

import math

import numpy as np
import pytest
import torch

from zenlearn import Augment
from zenlearn.augment.params import affine_matrix
from zenlearn.augment.pipeline import spec_problems
from zenlearn.augment.spec import AUGMENTATIONS, parse_spec
from zenlearn.augment.warp import warp
from zenlearn.errors import UsageError
from zenlearn.training.build import check_config

SURVEY = dict(rotation_range=45, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
              horizontal_flip=True, fill_mode="nearest")


def close(out, expected):
    """grid_sample works in normalized coordinates, so exact shifts come back within float32 rounding."""
    torch.testing.assert_close(out.flatten(), torch.tensor(expected, dtype=out.dtype), atol=1e-5, rtol=0)


def row(*vals):
    return torch.tensor(vals, dtype=torch.float32).view(1, 1, 1, -1)


def shift_matrix(dx, dy=0.0):
    """Output pixel (x, y) reads source (x - dx, y - dy): the content moves by (dx, dy)."""
    return torch.tensor([[[1.0, 0, -dx], [0, 1, -dy], [0, 0, 1]]])


# ---------------------------------------------------------------- fill modes, by hand

@pytest.mark.parametrize("mode, expected", [
    ("constant", [9, 9, 1, 2, 3, 4]),   # k k | a b c d
    ("nearest", [1, 1, 1, 2, 3, 4]),    # a a | a b c d
    ("reflect", [2, 1, 1, 2, 3, 4]),    # b a | a b c d  (half-sample symmetric)
    ("wrap", [5, 6, 1, 2, 3, 4]),       # e f | a b c d  (periodic)
])
def test_fill_modes_on_an_exact_shift_right(mode, expected):
    x = row(1, 2, 3, 4, 5, 6)
    close(warp(x, shift_matrix(2), mode, cval=9), expected)


@pytest.mark.parametrize("mode, expected", [
    ("constant", [4, 5, 6, 9, 9, 9]),
    ("nearest", [4, 5, 6, 6, 6, 6]),
    ("reflect", [4, 5, 6, 6, 5, 4]),
    ("wrap", [4, 5, 6, 1, 2, 3]),
])
def test_fill_modes_on_an_exact_shift_left(mode, expected):
    close(warp(row(1, 2, 3, 4, 5, 6), shift_matrix(-3), mode, cval=9), expected)


def test_reflect_and_wrap_beyond_one_period():
    x = row(1, 2, 3)
    # reflect: ... 3 2 1 | 1 2 3 | 3 2 1 ...; a shift of 5 reads source x - 5 = -5, -4, -3
    close(warp(x, shift_matrix(5), "reflect"), [2, 3, 3])
    close(warp(x, shift_matrix(5), "wrap"), [2, 3, 1])


def test_half_pixel_shift_interpolates_like_keras():
    x = row(1, 2, 3, 4)
    # bilinear half-pixel shift right: constant → cval outside (SciPy "constant": no blending with cval)
    close(warp(x, shift_matrix(0.5), "constant", cval=9), [9, 1.5, 2.5, 3.5])
    close(warp(x, shift_matrix(0.5), "nearest"), [1, 1.5, 2.5, 3.5])
    close(warp(x, shift_matrix(0.5), "wrap"), [2.5, 1.5, 2.5, 3.5])
    close(warp(x, shift_matrix(-0.5), "reflect"), [1.5, 2.5, 3.5, 4])


def test_vertical_shift_by_k_pixels():
    x = torch.arange(20.0).view(1, 1, 5, 4)
    out = warp(x, shift_matrix(0, 2), "constant", cval=-1)
    torch.testing.assert_close(out[0, 0, 2:], x[0, 0, :3], atol=1e-5, rtol=0)
    assert (out[0, 0, :2] == -1).all()


def test_warp_matches_scipy_affine_transform():
    nd = pytest.importorskip("scipy.ndimage")
    gen = np.random.default_rng(0)
    x = torch.rand(2, 2, 7, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    swap = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]])  # SciPy works in (row, col)
    for mode, scipy_mode in (("constant", "constant"), ("nearest", "nearest"), ("reflect", "reflect"),
                             ("wrap", "grid-wrap")):
        for order in (0, 1):
            th, s = gen.uniform(-1, 1), gen.uniform(0.7, 1.4)
            m = np.array([[s * math.cos(th), -s * math.sin(th), gen.uniform(-12, 12)],
                          [s * math.sin(th), s * math.cos(th), gen.uniform(-12, 12)], [0, 0, 1]])
            out = warp(x, torch.tensor(m).expand(2, 3, 3), mode, cval=0.7, order=order).numpy()
            mr = swap @ m @ swap
            ref = np.stack([[nd.affine_transform(ch.numpy(), mr[:2, :2], mr[:2, 2], order=order, mode=scipy_mode,
                                                 cval=0.7) for ch in img] for img in x])
            np.testing.assert_allclose(out, ref, atol=1e-9, err_msg=f"{mode} order {order}")


# ---------------------------------------------------------------- geometry against torch / Keras

def test_rotation_by_90_degrees_equals_rot90():
    x = torch.rand(3, 2, 6, 6)
    aug = Augment(rotation_range=90)
    out = aug.apply_random(x, {"rotation": torch.full((3,), 90.0)})
    torch.testing.assert_close(out, torch.rot90(x, 1, (2, 3)), atol=1e-5, rtol=0)  # counter-clockwise
    out = aug.apply_random(x, {"rotation": torch.full((3,), -90.0)})
    torch.testing.assert_close(out, torch.rot90(x, -1, (2, 3)), atol=1e-5, rtol=0)


def test_flips_equal_torch_flip_and_are_drawn_per_sample():
    x = torch.rand(1, 3, 5, 7).expand(64, 3, 5, 7).contiguous()
    out = Augment(horizontal_flip=True, seed=1)(x)
    flipped = torch.flip(x, (3,))
    is_flip = [torch.allclose(o, f, atol=1e-5) for o, f in zip(out, flipped)]
    is_same = [torch.allclose(o, i, atol=1e-5) for o, i in zip(out, x)]
    assert all(a or b for a, b in zip(is_flip, is_same))
    assert 10 < sum(is_flip) < 54  # about half, independently per sample
    both = Augment(vertical_flip=True).apply_random(x[:2], {"flip_v": torch.ones(2)})
    torch.testing.assert_close(both, torch.flip(x[:2], (2,)), atol=1e-5, rtol=0)


def keras_matrix(theta, tx, ty, shear, zx, zy, h, w):
    """Keras' apply_affine_transform matrix (x = column, y = row), as Keras builds it, for reference."""
    t, s = np.deg2rad(theta), np.deg2rad(shear)
    rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    sh = np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    zoom = np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    ox, oy = w / 2 - 0.5, h / 2 - 0.5
    off, reset = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]]), np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]])
    return off @ rot @ shift @ sh @ zoom @ reset


def test_matrix_matches_keras_composition_with_flips_after():
    p = {"rotation": torch.tensor([23.0]), "shift_x": torch.tensor([-1.5]), "shift_y": torch.tensor([0.75]),
         "shear": torch.tensor([17.0]), "zoom_x": torch.tensor([0.8]), "zoom_y": torch.tensor([1.2]),
         "flip_h": torch.tensor([1.0]), "flip_v": torch.tensor([1.0])}
    ref = keras_matrix(23, 1.5, -0.75, 17, 0.8, 1.2, 8, 8)
    ref = ref @ np.array([[-1, 0, 7], [0, -1, 7], [0, 0, 1]])  # Keras flips the warped image
    np.testing.assert_allclose(affine_matrix(p, 1, 8, 8, torch.device("cpu"))[0].numpy(), ref, atol=1e-5)


def test_padded_crop_is_an_integer_shift_and_resized_crop_of_full_image_is_identity():
    x = torch.rand(4, 1, 6, 6)
    aug = Augment(crop_padding=2, fill_mode="constant")
    out = aug.apply_random(x, {"crop_x": torch.tensor([1.0, 0, 0, -2]), "crop_y": torch.zeros(4)})
    torch.testing.assert_close(out[0, ..., :5], x[0, ..., 1:], atol=1e-5, rtol=0)
    assert (out[0, ..., 5] == 0).all()
    torch.testing.assert_close(out[1], x[1], atol=1e-5, rtol=0)
    full = torch.tensor([[0.0, 0, 6, 6]]).expand(4, 4)
    torch.testing.assert_close(Augment(resized_crop=True).apply_random(x, {"crop_box": full}), x)
    # a crop of the left half, resized back: columns sample at 0.25, 0.75, ... of the half
    left = Augment(resized_crop=True).apply_random(x, {"crop_box": torch.tensor([[0.0, 0, 3, 6]]).expand(4, 4)})
    torch.testing.assert_close(left[..., 1], (0.75 * x[..., 0] + 0.25 * x[..., 1]), atol=1e-6, rtol=0)


def test_resized_crop_boxes_stay_inside_with_area_and_ratio_in_range():
    aug = Augment(resized_crop=True, seed=0)
    box = aug.sample_params((500, 3, 32, 40))["crop_box"]
    x0, y0, cw, ch = box.unbind(1)
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x0 + cw <= 40 + 1e-4).all() and (y0 + ch <= 32 + 1e-4).all()
    area = cw * ch / (32 * 40)
    assert area.min() >= 0.08 - 1e-4 and area.max() <= 1 + 1e-4 and area.std() > 0.1


# ---------------------------------------------------------------- randomness

def test_each_sample_gets_its_own_parameters():
    x = torch.rand(1, 1, 28, 28).expand(16, 1, 28, 28).contiguous()
    aug = Augment(**SURVEY, seed=0)
    params = aug.sample_params(x.shape)
    for k in ("rotation", "shift_x", "shift_y", "shear", "zoom_x", "zoom_y"):
        assert params[k].unique().numel() == 16, k
    out = aug(x)
    assert not torch.allclose(out[0], out[1])


def test_seed_reproduces_a_batch_and_the_stream_moves_on():
    x = torch.rand(8, 3, 16, 16)
    full = dict(SURVEY, brightness_range=(0.8, 1.2), noise_std=0.05, random_erasing=0.5, crop_padding=2,
                channel_shift_range=10, rescale=1 / 255, cutout=4)
    a, b = Augment(**full, seed=7), Augment(**full, seed=7)
    first = a(x * 255)
    assert torch.equal(first, b(x * 255))
    assert not torch.equal(first, a(x * 255))  # next batch, new draws
    a.reset()
    assert torch.equal(first, a(x * 255))
    assert not torch.equal(first, Augment(**full, seed=8)(x * 255))


def test_state_dict_round_trip_continues_the_stream():
    x = torch.rand(4, 1, 8, 8)
    a = Augment(rotation_range=30, seed=3)
    a(x)
    state = a.state_dict()
    nxt = a(x)
    b = Augment(rotation_range=30, seed=99)
    b.load_state_dict(state)
    assert torch.equal(b(x), nxt)


def test_zero_ranges_return_the_input_unchanged():
    x = torch.rand(5, 3, 9, 7)
    aug = Augment(rotation_range=0, width_shift_range=0.0, height_shift_range=0, shear_range=0, zoom_range=0.0,
                  channel_shift_range=0, horizontal_flip=False, brightness_range=(1, 1), seed=0)
    assert torch.equal(aug(x), x)
    assert torch.equal(Augment()(x), x)


def test_one_sampling_pass_per_batch(monkeypatch):
    import torch.nn.functional as F

    calls = []
    real = F.grid_sample
    monkeypatch.setattr(F, "grid_sample", lambda *a, **k: calls.append(1) or real(*a, **k))
    Augment(**SURVEY, crop_padding=2, vertical_flip=True, seed=0)(torch.rand(32, 1, 28, 28))
    assert len(calls) == 1


# ---------------------------------------------------------------- intensity and normalization

def test_intensity_ops_follow_their_definitions():
    x = torch.full((2, 3, 4, 4), 0.5)
    aug = Augment(brightness_range=(0.5, 1.5))
    out = aug.apply_random(x, {"brightness": torch.tensor([0.5, 4.0])})
    assert torch.allclose(out[0], torch.tensor(0.25)) and torch.allclose(out[1], torch.tensor(1.0))  # clipped
    y = torch.linspace(0, 1, 48).view(1, 3, 4, 4)
    out = Augment(contrast_range=(0, 2)).apply_random(y, {"contrast": torch.tensor([0.0])})
    torch.testing.assert_close(out, torch.full_like(y, 0.5))
    # Keras' channel shift: one offset for all channels, clipped to the image's own range
    out = Augment(channel_shift_range=1).apply_random(y, {"channel_shift": torch.tensor([0.25])})
    torch.testing.assert_close(out, (y + 0.25).clamp(0, 1))
    cut = Augment(cutout=2).apply_random(torch.ones(1, 1, 4, 4), {"cutout": torch.tensor([[1.0, 1, 3, 3]])})
    assert cut.sum() == 12 and (cut[0, 0, 1:3, 1:3] == 0).all()


def test_channel_shift_range_is_in_raw_units_when_rescaling():
    aug = Augment(channel_shift_range=51, rescale=1 / 255)
    assert aug.channel_shift == pytest.approx(0.2)


def test_standardization_steps():
    x = torch.rand(10, 3, 4, 4) * 255
    aug = Augment(rescale=1 / 255, featurewise_center=True, featurewise_std_normalization=True).fit(x)
    out = aug(x)
    torch.testing.assert_close(out.mean((0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std((0, 2, 3)), torch.ones(3), atol=1e-3, rtol=0)
    s = Augment(samplewise_std_normalization=True)(x / 255)
    torch.testing.assert_close(s.mean((1, 2, 3)), torch.zeros(10), atol=1e-5, rtol=0)
    n = Augment(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))(torch.full((1, 3, 2, 2), 0.75))
    torch.testing.assert_close(n, torch.ones(1, 3, 2, 2))
    with pytest.raises(UsageError, match="call Augment.fit"):
        Augment(featurewise_center=True)(x)


def test_preprocessing_function_and_dtype():
    out = Augment(preprocessing_function=lambda b: b * 2, dtype="float16")(torch.ones(2, 1, 3, 3))
    assert out.dtype == torch.float16 and (out == 2).all()


def test_single_image_and_bad_inputs():
    assert Augment(horizontal_flip=True, seed=0)(torch.rand(3, 8, 8)).shape == (3, 8, 8)
    with pytest.raises(UsageError, match="floating-point batch"):
        Augment()(torch.zeros(2, 1, 4, 4, dtype=torch.int32))  # uint8 pixels are taken (tests/augment/test_opencv.py)
    with pytest.raises(UsageError, match="floating-point batch"):
        Augment()(torch.zeros(4, 4))
    with pytest.raises(UsageError, match="fill_mode must be one of constant, nearest, reflect, wrap"):
        Augment(fill_mode="mirror")
    with pytest.raises(UsageError, match="zca_whitening is not supported"):
        Augment(zca_whitening=True)
    with pytest.raises(UsageError, match="zoom_range must be"):
        Augment(zoom_range=(1.2, 0.8))


def test_keras_shift_forms():
    aug = Augment(width_shift_range=3, height_shift_range=[2.0, 5.0], seed=0)
    p = aug.sample_params((400, 1, 10, 10))
    assert set(p["shift_x"].tolist()) <= {-2.0, -1.0, 0.0, 1.0, 2.0} and len(set(p["shift_x"].tolist())) == 5
    assert set(p["shift_y"].tolist()) == {-5.0, -2.0, 2.0, 5.0}
    frac = Augment(width_shift_range=0.2, seed=0).sample_params((400, 1, 10, 50))["shift_x"]
    assert frac.abs().max() <= 10 and frac.abs().max() > 9  # 0.2 of the width


# ---------------------------------------------------------------- presets and spec strings

def test_spec_strings_and_presets():
    assert parse_spec("rotation_range=45,zoom_range=0.2,horizontal_flip=true") == {
        "rotation_range": 45, "zoom_range": 0.2, "horizontal_flip": True}
    assert parse_spec("brightness_range=(0.8, 1.2),fill_mode=reflect") == {
        "brightness_range": (0.8, 1.2), "fill_mode": "reflect"}
    assert parse_spec("mnist,rotation_range=5")["rotation_range"] == 5
    assert parse_spec("cifar") == AUGMENTATIONS.get("cifar")
    for name in AUGMENTATIONS.names():
        out = Augment.from_spec(name, seed=0)(torch.rand(4, 3, 32, 32))
        assert out.shape == (4, 3, 32, 32) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("spec, needle", [
    ("rotation=45", "unknown option 'rotation'; valid options: rotation_range"),
    ("cifarr", "'cifarr' is neither a preset (mnist, cifar, imagenet"),
    ("fill_mode=mirror", "fill_mode must be one of constant, nearest, reflect, wrap, got 'mirror'"),
    ("rescale=0.5", "rescale would normalize training batches only"),
    ("preprocessing_function=print", "unknown option 'preprocessing_function'"),
])
def test_spec_problems_are_clear(spec, needle):
    problems = spec_problems(spec)
    assert len(problems) == 1 and needle in problems[0]


# ---------------------------------------------------------------- training

def test_training_applies_augment_to_training_batches_only(tmp_path, data_dir, monkeypatch):
    from zenlearn.config import TrainConfig
    from zenlearn.workflows.train import evaluate_run, train_run

    seen = []
    real_call = Augment.__call__
    monkeypatch.setattr(Augment, "__call__", lambda self, x: seen.append(x.shape) or real_call(self, x))
    cfg = TrainConfig(data="mnist", model="mlp", hidden=(32,), epochs=1, train_subset=500, batch_size=100,
                      augment="mnist,rotation_range=15", out=str(tmp_path / "run"))
    summary = train_run(cfg, verbose=False)
    assert seen == [(100, 1, 28, 28)] * 5  # training batches only, not validation or test
    assert "augment: mnist,rotation_range=15" in (tmp_path / "run" / "config.yaml").read_text()
    assert evaluate_run(tmp_path / "run")["accuracy"] == pytest.approx(summary["test"]["accuracy"])


def test_bad_augment_spec_is_a_config_error():
    from zenlearn.config import TrainConfig

    with pytest.raises(UsageError, match="unknown option 'rotate'"):
        check_config(TrainConfig(augment="rotate=5"))


def test_cli_augment_writes_a_grid_png(tmp_path, data_dir, capsys):
    from PIL import Image

    from zenlearn.cli.main import main

    out = tmp_path / "grid.png"
    assert main(["augment", "--data", "mnist", "--augment", "mnist", "--out", str(out), "--samples", "5",
                 "--rows", "3"]) == 0
    im = Image.open(out)
    w, h = im.size  # 28 px cells upscaled x3: originals + 3 rows, a column of row labels on the left
    assert h == 4 * (84 + 2) + 2 and 5 * (84 + 2) + 2 < w < 5 * (84 + 2) + 2 + 200
    assert main(["augment", "--augment", "rotation=3", "--out", str(tmp_path / "x.png")]) == 2
    assert "unknown option 'rotation'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_rescale_applies_once_to_uint8_pixels():
    """rescale=1/255 on uint8 pixels gives [0, 1] (the pixel conversion is not applied on top of it), equal to
    the same Augment on the raw pixel values as floats; featurewise statistics are fitted in those units."""
    pixels = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    aug = Augment(rescale=1 / 255)
    out = aug(pixels)
    assert float(out.max()) > 0.5 and float(out.max()) <= 1.0
    torch.testing.assert_close(out, aug(pixels.float()))
    half = Augment(rescale=0.5)
    torch.testing.assert_close(half(pixels), pixels.float() * 0.5)
    fitted = Augment(rescale=1 / 255, featurewise_center=True).fit(pixels)
    torch.testing.assert_close(fitted.feature_mean, (pixels.float() / 255).mean((0, 2, 3)).reshape(-1, 1, 1))
    plain = Augment().fit(pixels)  # no rescale: uint8 pixels are read as [0, 1], in fit as in __call__
    torch.testing.assert_close(plain.feature_mean, (pixels.float() / 255).mean((0, 2, 3)).reshape(-1, 1, 1))
