"""uint8 batches through `Augment`: the OpenCV warp (`zenlearn.augment.opencv`) against `zenlearn.warp` on the
same pixels as floats, the fallback without OpenCV, threads, forked processes, and the loader's uint8 batches."""

import multiprocessing as mp

import cv2
import numpy as np
import pytest
import torch

import zenlearn.augment.opencv as cvmod
from zenlearn import Augment
from zenlearn.augment.opencv import WarpPool, can_warp, opencv, warp_pixels
from zenlearn.augment.params import affine_matrix
from zenlearn.augment.warp import warp
from zenlearn.errors import UsageError

SURVEY = dict(rotation_range=45, width_shift_range=0.2, height_shift_range=0.2, shear_range=10, zoom_range=0.3,
              horizontal_flip=True)
EXACT = int(cv2.__version__.split(".")[0]) >= 5  # OpenCV 4 quantizes source coordinates to 1/32 pixel


def noise(c: int, b: int = 6, h: int = 40, w: int = 56, seed: int = 0) -> torch.Tensor:
    """Random uint8 pixels, the hardest case for any interpolation error (channels-first in memory)."""
    return torch.randint(0, 256, (b, c, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def matrices(x: torch.Tensor) -> torch.Tensor:
    b, _, h, w = x.shape
    return affine_matrix(Augment(**SURVEY, seed=1).sample_params(x.shape), b, h, w, x.device)


@pytest.mark.parametrize("fill_mode", ["nearest", "reflect", "wrap"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_bilinear_warp_equals_the_float_warp_up_to_rounding(fill_mode, channels):
    x = noise(channels)
    m = matrices(x)
    ours = warp_pixels(x, m, fill_mode, order=1)
    reference = warp(x.float() / 255, m, fill_mode, order=1)
    assert ours.dtype == torch.float32 and ours.shape == x.shape
    assert ours.is_contiguous(memory_format=torch.channels_last)
    levels = (ours - reference).abs() * 255
    if EXACT:  # measured: max 0.5 levels (the 8-bit rounding), mean 0.25
        assert levels.max() <= 0.5 + 1e-3 and levels.mean() < 0.3
    else:  # measured with OpenCV 4.11: max 6.3 levels, mean 0.87 on noise
        assert levels.max() <= 8 and levels.mean() < 1.5


@pytest.mark.parametrize("fill_mode", ["nearest", "reflect", "wrap"])
def test_nearest_neighbour_warp_matches_except_at_rounding_ties(fill_mode):
    x = noise(3)
    m = matrices(x)
    ours, reference = warp_pixels(x, m, fill_mode, order=0), warp(x.float() / 255, m, fill_mode, order=0)
    assert ((ours - reference).abs() > 1e-6).float().mean() < 0.005


def test_channels_last_input_is_read_without_a_copy_and_gives_the_same_result():
    x = noise(3)
    m = matrices(x)
    torch.testing.assert_close(warp_pixels(x.contiguous(memory_format=torch.channels_last), m), warp_pixels(x, m))


def test_augment_takes_uint8_pixels_like_their_floats_with_intensity_ops_too():
    x = noise(3, b=8, h=48, w=48)
    kw = dict(SURVEY, brightness_range=(0.7, 1.3), channel_shift_range=20, noise_std=0.02, cutout=8)
    ours, reference = Augment(**kw, seed=3)(x), Augment(**kw, seed=3)(x.float() / 255)
    assert ours.dtype == torch.float32
    assert ((ours - reference).abs() * 255).max() <= (1.0 if EXACT else 8.0)  # brightness scales the rounding
    single = Augment(**kw, seed=3)(x[0])  # one (C, H, W) image
    assert single.shape == (3, 48, 48) and single.dtype == torch.float32


def test_without_opencv_uint8_batches_take_the_float_path(monkeypatch):
    monkeypatch.setattr(cvmod, "opencv", lambda: None)
    x = noise(3)
    assert not can_warp(x, "nearest", 1)
    torch.testing.assert_close(Augment(**SURVEY, seed=0)(x), Augment(**SURVEY, seed=0)(x.float() / 255))
    with pytest.raises(ValueError, match="needs OpenCV"):
        warp_pixels(x, matrices(x))


def test_constant_fill_is_left_to_the_float_warp():
    x = noise(3)
    assert not can_warp(x, "constant", 1)
    kw = dict(SURVEY, fill_mode="constant", cval=0.5)
    torch.testing.assert_close(Augment(**kw, seed=0)(x), Augment(**kw, seed=0)(x.float() / 255))


def test_other_integer_types_are_refused_with_the_fix():
    with pytest.raises(UsageError, match=r"uint8 pixels, got torch.int64.*x.float\(\) / 255"):
        Augment(**SURVEY)(torch.zeros(2, 3, 8, 8, dtype=torch.int64))


def test_one_thread_and_two_threads_give_the_same_pixels():
    x = noise(3, b=9)
    m = matrices(x)
    before = torch.get_num_threads()
    try:
        pool = WarpPool()
        torch.set_num_threads(1)
        one = warp_pixels(x, m, pool=pool)
        torch.set_num_threads(2)
        two = warp_pixels(x, m, pool=pool)
        alone = warp_pixels(x[:1], m[:1], pool=pool)  # fewer images than threads
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(one, two, rtol=0, atol=0)
    torch.testing.assert_close(alone, one[:1], rtol=0, atol=0)


def _warp_in_child(q, x: torch.Tensor, m: torch.Tensor, pool) -> None:
    q.put(float(warp_pixels(x, m, pool=pool).numpy().sum()))  # channels-last input, NumPy sum: no parallel torch op, which GNU OpenMP
    # cannot run in a child forked after the parent used its threads (why DataLoader workers use 1 thread)


def test_a_forked_child_warps_after_the_parent_started_its_thread_pool():
    x = noise(3).contiguous(memory_format=torch.channels_last)
    m = matrices(x)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # makes the parent start its pool of warping threads
    pool = WarpPool()
    try:
        expected = float(warp_pixels(x, m, pool=pool).numpy().sum())
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        child = ctx.Process(target=_warp_in_child, args=(q, x, m, pool))  # the child inherits the started pool
        child.start()
        got = q.get(timeout=60)  # a pool inherited with dead threads would hang here
        child.join(timeout=60)
    except Exception:
        child.kill()
        raise
    finally:
        torch.set_num_threads(before)
    assert child.exitcode == 0 and got == pytest.approx(expected)


def test_folder_loader_hands_out_the_same_pixels_as_uint8(tmp_path):
    from PIL import Image

    from zenlearn.data.folder import load_folder

    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    for cache in ("off", "memory"):
        s = load_folder(str(tmp_path), image_size=(24, 32), val_split=0.2, cache=cache,
                        cache_folder=tmp_path.parent / f"cache-{tmp_path.name}", workers=0)
        floats = [x for x, _ in s.loader(s.train, 4)]
        pixels = [x for x, _ in s.loader(s.train, 4, uint8=True)]
        for f, p in zip(floats, pixels):
            assert p.dtype == torch.uint8 and p.is_contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(p.float() / 255, f)


def test_the_pool_belongs_to_its_augment_and_nothing_process_wide_changes():
    """Each Augment warps with its own threads; OpenCV's own thread count is the same after a warp as before."""
    import pickle

    from zenlearn import Augment

    cv2 = opencv()
    cv2.setNumThreads(3)
    a, b = Augment(rotation_range=20, seed=1), Augment(rotation_range=20, seed=1)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        x = noise(3, b=4)
        torch.testing.assert_close(a(x), b(x))
        assert a.warp_pool.get() is not b.warp_pool.get() and a.warp_pool.get() is not None
        assert cv2.getNumThreads() == 3
        assert pickle.loads(pickle.dumps(a)).warp_pool.get() is not a.warp_pool.get()  # travels empty
    finally:
        torch.set_num_threads(before)
        cv2.setNumThreads(-1)
