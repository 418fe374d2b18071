"""Batched, per-sample, device-side augmentation with Keras `ImageDataGenerator` names and units.

`Augment(**kwargs)(x)` augments a float batch (B, C, H, W) on whatever device it lives on. Every sample
gets its own random parameters, drawn from the pipeline's own `torch.Generator` (so a seed gives the same
augmented batch twice). All geometry — flips, rotation, shifts, shear, zoom, padded random crop, random
resized crop — is composed into one affine matrix per sample and sampled in one pass (`zenlearn.augment.warp`).

Differences from Keras (all else follows `keras.preprocessing.image.ImageDataGenerator`):
- Batches are channels-first tensors; `preprocessing_function` gets the whole (B, C, H, W) batch.
- uint8 batches (0–255, as image loaders store pixels) are taken too and come out as floats in [0, 1]; their
  warp runs on the 8-bit pixels with OpenCV when installed (`zenlearn[opencv]`), about 2× faster on CPU.
- `rescale` runs first, so everything after it works in rescaled units; `channel_shift_range` stays in
  Keras' raw units (it is multiplied by `rescale`).
- `width_shift_range` shifts along the width and `height_shift_range` along the height, centred on the
  image centre; Keras 3's legacy generator swaps the two axes (visible on non-square images only).
- `fill_mode="wrap"` is periodic (a b c d | a b c d), as Keras documents; SciPy ≥ 1.6, which Keras calls,
  now implements "wrap" with period W - 1.
- `brightness_range` multiplies pixel values by the factor and clips to `value_range` (Keras goes through
  an 8-bit PIL image, which also rounds and, for [0, 1] data, breaks).
- `zca_whitening` is not supported; `validation_split` belongs to the data (`--val-split`).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from zenlearn.augment.opencv import WarpPool, can_warp, warp_pixels
from zenlearn.augment.params import affine_matrix, erase_mask, sample_params
from zenlearn.augment.spec import parse_spec
from zenlearn.augment.warp import FILL_MODES, warp
from zenlearn.errors import UsageError

Range = float | tuple[float, float]
SHIFT_HELP = "a float (< 1: fraction of the size, else pixels), an int n (integer pixels in (-n, n)) or a list"


class Augment:
    """A random augmentation pipeline; calling it on a batch returns the augmented batch.

    Args:
        rotation_range: Degrees; rotation drawn from [-r, r], positive is counter-clockwise. Defaults to 0.
        width_shift_range: Horizontal shift: float < 1 is a fraction of the width, ≥ 1 pixels, drawn
            uniformly in [-r, r]; int n gives integer pixels in (-n, n); a list is sampled from (Keras).
            Defaults to 0.
        height_shift_range: Vertical shift, same forms. Defaults to 0.
        shear_range: Shear angle in degrees (Keras units: 0.2 is a very small shear). Defaults to 0.
        zoom_range: float z → [1 - z, 1 + z], or (lo, hi); x and y factors drawn independently. As in Keras a
            factor > 1 zooms *out* (samples a larger area). Defaults to 0.
        zoom_x_range: Override of `zoom_range` for the horizontal factor only. Defaults to None.
        zoom_y_range: Override of `zoom_range` for the vertical factor only. Defaults to None.
        horizontal_flip: Flip left-right with probability 0.5. Defaults to False.
        vertical_flip: Flip top-bottom with probability 0.5. Defaults to False.
        crop_padding: Random crop with this much padding (pixels): a random integer shift in [-p, p] on
            each axis, padded with `fill_mode`. Defaults to 0.
        resized_crop: ImageNet-style random resized crop (area fraction `resized_crop_scale`, aspect ratio
            `resized_crop_ratio`), resized back to the input size. Defaults to False.
        resized_crop_scale: Area fraction range of the crop. Defaults to (0.08, 1.0).
        resized_crop_ratio: Aspect-ratio (w/h) range of the crop, sampled log-uniformly. Defaults to (3/4, 4/3).
        fill_mode: "constant", "nearest", "reflect" or "wrap" for points outside the image. Defaults to "nearest".
        cval: Fill value for "constant". Defaults to 0.
        interpolation_order: 1 (bilinear) or 0 (nearest neighbour). Defaults to 1.
        brightness_range: (lo, hi) multiplicative brightness factor. Defaults to None.
        contrast_range: (lo, hi) contrast factor: mean + f * (x - mean) per image. Defaults to None.
        channel_shift_range: One random offset per image in [-r, r] (raw pixel units), added to all
            channels and clipped to the image's own range (Keras). Defaults to 0.
        noise_std: Standard deviation of added Gaussian noise. Defaults to 0.
        cutout: Side of a square erased at a random centre (pixels, or a fraction of the shorter side if
            < 1); DeVries & Taylor's cutout. Defaults to 0 (off).
        random_erasing: Probability of erasing a random rectangle (Zhong et al.; area `erasing_scale`,
            aspect `erasing_ratio`). Defaults to 0 (off).
        erasing_scale: Area fraction range of a random-erasing rectangle. Defaults to (0.02, 0.33).
        erasing_ratio: Aspect-ratio range of a random-erasing rectangle. Defaults to (0.3, 3.3).
        erasing_value: Value written by cutout and random erasing. Defaults to 0.
        value_range: (lo, hi) that brightness, contrast and noise results are clipped to; None: no clip.
            Defaults to (0, 1), the range zenlearn's loaders give.
        rescale: Multiply inputs by this first (e.g. 1/255). Defaults to None.
        preprocessing_function: Function of the whole batch, run after the random ops. Defaults to None.
        samplewise_center: Subtract each sample's mean. Defaults to False.
        samplewise_std_normalization: Divide each sample by its std. Defaults to False.
        featurewise_center: Subtract the per-channel mean found by `fit`. Defaults to False.
        featurewise_std_normalization: Divide by the per-channel std found by `fit`. Defaults to False.
        mean: Per-channel mean to subtract (last step). Defaults to None.
        std: Per-channel std to divide by (last step). Defaults to None.
        seed: Seed of the pipeline's generator; None draws one from torch's global RNG. Defaults to None.
        zca_whitening: Must be False (not supported). Defaults to False.
        data_format: "channels_first" (or None); batches are (B, C, H, W). Defaults to None.
        validation_split: Must be 0; split the data instead. Defaults to 0.
        dtype: Output dtype; None keeps the input's. Defaults to None.

    Example:
        >>> aug = Augment(rotation_range=45, width_shift_range=0.2, horizontal_flip=True, seed=0)
        >>> aug(torch.rand(8, 3, 32, 32)).shape
        torch.Size([8, 3, 32, 32])
    """

    def __init__(self, *, rotation_range: float = 0.0, width_shift_range: Any = 0.0,
                 height_shift_range: Any = 0.0, shear_range: float = 0.0, zoom_range: Range = 0.0,
                 zoom_x_range: Range | None = None, zoom_y_range: Range | None = None,
                 horizontal_flip: bool = False, vertical_flip: bool = False, crop_padding: int = 0,
                 resized_crop: bool = False, resized_crop_scale: tuple[float, float] = (0.08, 1.0),
                 resized_crop_ratio: tuple[float, float] = (3 / 4, 4 / 3), fill_mode: str = "nearest",
                 cval: float = 0.0, interpolation_order: int = 1,
                 brightness_range: tuple[float, float] | None = None,
                 contrast_range: tuple[float, float] | None = None, channel_shift_range: float = 0.0,
                 noise_std: float = 0.0, cutout: float = 0.0, random_erasing: float = 0.0,
                 erasing_scale: tuple[float, float] = (0.02, 0.33), erasing_ratio: tuple[float, float] = (0.3, 3.3),
                 erasing_value: float = 0.0, value_range: tuple[float, float] | None = (0.0, 1.0),
                 rescale: float | None = None, preprocessing_function: Callable[[Tensor], Tensor] | None = None,
                 samplewise_center: bool = False, samplewise_std_normalization: bool = False,
                 featurewise_center: bool = False, featurewise_std_normalization: bool = False,
                 mean: Sequence[float] | float | None = None, std: Sequence[float] | float | None = None,
                 seed: int | None = None, zca_whitening: bool = False, data_format: str | None = None,
                 validation_split: float = 0.0, dtype: torch.dtype | str | None = None) -> None:
        p: list[str] = []
        if fill_mode not in FILL_MODES:
            p.append(f"fill_mode must be one of {', '.join(FILL_MODES)}, got {fill_mode!r}")
        if interpolation_order not in (0, 1):
            p.append(f"interpolation_order must be 0 or 1, got {interpolation_order!r}")
        if zca_whitening:
            p.append("zca_whitening is not supported; use featurewise_center/featurewise_std_normalization")
        if data_format not in (None, "channels_first"):
            p.append(f"data_format must be 'channels_first' (batches are (B, C, H, W)), got {data_format!r}")
        if validation_split:
            p.append("validation_split belongs to the data: use --val-split (TrainConfig.val_split)")
        for name, v in (("rotation_range", rotation_range), ("shear_range", shear_range),
                        ("channel_shift_range", channel_shift_range), ("noise_std", noise_std),
                        ("cutout", cutout), ("crop_padding", crop_padding)):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                p.append(f"{name} must be a number >= 0, got {v!r}")
        if not 0 <= random_erasing <= 1:
            p.append(f"random_erasing is a probability in [0, 1], got {random_erasing!r}")
        self.shift = {"x": _shift_choices(width_shift_range, "width_shift_range", p),
                      "y": _shift_choices(height_shift_range, "height_shift_range", p)}
        zoom = _pair(zoom_range, "zoom_range", p, around_one=True)
        self.zoom = {"x": _pair(zoom_x_range, "zoom_x_range", p, around_one=True) if zoom_x_range is not None else zoom,
                     "y": _pair(zoom_y_range, "zoom_y_range", p, around_one=True) if zoom_y_range is not None else zoom}
        pairs = {name: _pair(v, name, p) if v is not None else None for name, v in (
            ("brightness_range", brightness_range), ("contrast_range", contrast_range),
            ("resized_crop_scale", resized_crop_scale), ("resized_crop_ratio", resized_crop_ratio),
            ("erasing_scale", erasing_scale), ("erasing_ratio", erasing_ratio), ("value_range", value_range))}
        if p:
            raise UsageError("invalid augmentation: " + "; ".join(p))
        self.rotation_range, self.shear_range = float(rotation_range), float(shear_range)
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        self.crop_padding, self.resized_crop = int(crop_padding), bool(resized_crop)
        self.crop_scale, self.crop_ratio = pairs["resized_crop_scale"], pairs["resized_crop_ratio"]
        self.fill_mode, self.cval, self.order = fill_mode, float(cval), int(interpolation_order)
        self.brightness, self.contrast = pairs["brightness_range"], pairs["contrast_range"]
        self.channel_shift = float(channel_shift_range) * (rescale if rescale else 1.0)
        self.noise_std, self.cutout, self.random_erasing = float(noise_std), float(cutout), float(random_erasing)
        self.erasing_scale, self.erasing_ratio = pairs["erasing_scale"], pairs["erasing_ratio"]
        self.erasing_value, self.value_range = float(erasing_value), pairs["value_range"]
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.warp_pool = WarpPool()  # this Augment's own warping threads (OpenCV path), nothing process-wide
        self.samplewise_center = samplewise_center or samplewise_std_normalization
        self.samplewise_std = samplewise_std_normalization
        self.featurewise_center = featurewise_center or featurewise_std_normalization
        self.featurewise_std = featurewise_std_normalization
        self.feature_mean: Tensor | None = None
        self.feature_std: Tensor | None = None
        self.mean = None if mean is None else torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
        self.std = None if std is None else torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
        self.dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        self.seed = int(torch.randint(0, 2**62, (1,)).item()) if seed is None else int(seed)
        self._gen: torch.Generator | None = None

    # ---------------------------------------------------------------- state
    @property
    def has_geometry(self) -> bool:
        return bool(self.rotation_range or self.shear_range or self.horizontal_flip or self.vertical_flip
                    or self.crop_padding or self.resized_crop or self.shift["x"] or self.shift["y"]
                    or self.zoom["x"] != (1.0, 1.0) or self.zoom["y"] != (1.0, 1.0))

    def generator(self, device: torch.device) -> torch.Generator:
        """The pipeline's generator on `device` (created, seeded with `seed`, on first use)."""
        if self._gen is None or self._gen.device != device:
            self._gen = torch.Generator(device=device).manual_seed(self.seed)
        return self._gen

    def reset(self, seed: int | None = None) -> None:
        """Restart the random stream (from `seed`, if given): the next batches repeat exactly."""
        self.seed = self.seed if seed is None else int(seed)
        self._gen = None

    def state_dict(self) -> dict[str, Any]:
        """Seed and generator state (for checkpoints)."""
        return {"seed": self.seed, "generator": None if self._gen is None else self._gen.get_state(),
                "device": None if self._gen is None else str(self._gen.device)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seed, self._gen = int(state["seed"]), None
        if state.get("generator") is not None:
            self.generator(torch.device(state["device"])).set_state(state["generator"])

    def fit(self, x: Tensor) -> "Augment":
        """Per-channel mean and std of `x` (N, C, H, W) for featurewise centring / normalization (Keras)."""
        pixels = x.dtype == torch.uint8
        x = self._scaled(x.float() / 255 if pixels else x.float(), pixels)  # the units __call__ standardizes
        self.feature_mean = x.mean((0, 2, 3)).reshape(-1, 1, 1)
        self.feature_std = x.std((0, 2, 3)).reshape(-1, 1, 1)
        return self

    # ---------------------------------------------------------------- apply
    def __call__(self, x: Tensor) -> Tensor:
        """Augment a float batch (B, C, H, W) or image (C, H, W); or uint8 pixels (0–255), which come out as
        floats in [0, 1]: `aug(x)` then equals `aug(x.float() / 255)` up to the 8-bit rounding of the warped
        pixels, and the warp runs on the 8-bit pixels with OpenCV where it can (`zenlearn.augment.opencv`:
        CPU, fill mode nearest/reflect/wrap), about 2× faster than warping floats."""
        single = x.ndim == 3
        if single:
            x = x.unsqueeze(0)
        if x.ndim != 4 or not (x.is_floating_point() or x.dtype == torch.uint8):
            raise UsageError(f"Augment expects a floating-point batch (B, C, H, W) or image (C, H, W), or uint8 "
                             f"pixels, got {x.dtype} of shape {tuple(x.shape)}; convert with x.float() / 255")
        params = self.sample_params(x.shape, x.device)
        pixels = x.dtype == torch.uint8
        if pixels:
            x, params = self.from_pixels(x, params)  # pixels / 255
        x = self._scaled(x, pixels)
        x = self.standardize(self.apply_random(x, params))
        if self.dtype is not None:
            x = x.to(self.dtype)
        return x[0] if single else x

    def _scaled(self, x: Tensor, pixels: bool) -> Tensor:
        """Apply `rescale` once. uint8 pixels arrive already divided by 255 (`from_pixels`), so there `rescale`
        replaces that division (rescale=1/255 gives [0, 1], not [0, 1/255]); floats are multiplied by it."""
        if not self.rescale:
            return x
        return x * (self.rescale * 255.0) if pixels else x * self.rescale

    def sample_params(self, shape: Sequence[int], device: torch.device | str = "cpu") -> dict[str, Tensor]:
        """Independent random parameters for each of the B samples of a (B, C, H, W) batch (Keras'
        `get_random_transform`, batched). Only configured operations get parameters."""
        return sample_params(self, tuple(shape), self.generator(torch.device(device)))

    def from_pixels(self, x: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """uint8 pixels (B, C, H, W) → float32 in [0, 1], warped already when OpenCV can do it on the 8-bit
        pixels (then the geometry is dropped from the returned `params`)."""
        b, c, h, w = x.shape
        if any(k in params for k in GEOMETRY_KEYS) and can_warp(x, self.fill_mode, self.order):
            x = warp_pixels(x, affine_matrix(params, b, h, w, x.device), self.fill_mode, self.order, self.warp_pool)
            return x, {k: v for k, v in params.items() if k not in GEOMETRY_KEYS}
        return x.to(torch.float32).mul_(1 / 255), params

    def apply_random(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        """Apply sampled (or hand-made) `params` to the batch `x`: one warp, then the intensity ops."""
        b, c, h, w = x.shape
        if any(k in params for k in GEOMETRY_KEYS):
            x = warp(x, affine_matrix(params, b, h, w, x.device), self.fill_mode, self.cval, self.order)
        lo_hi = self.value_range
        if "channel_shift" in params:
            lo, hi = x.amin((1, 2, 3), keepdim=True), x.amax((1, 2, 3), keepdim=True)
            x = torch.minimum(torch.maximum(x + params["channel_shift"].view(b, 1, 1, 1), lo), hi)
        if "brightness" in params:
            x = _clip(x * params["brightness"].view(b, 1, 1, 1), lo_hi)
        if "contrast" in params:
            m = x.mean((1, 2, 3), keepdim=True)
            x = _clip(m + params["contrast"].view(b, 1, 1, 1) * (x - m), lo_hi)
        if "noise" in params:
            x = _clip(x + params["noise"], lo_hi)
        for key in ("cutout", "erasing"):
            if key in params:
                x = x.masked_fill(erase_mask(params[key], h, w), self.erasing_value)  # box (B, 4) → (B, 1, H, W)
        if self.preprocessing_function is not None:
            x = self.preprocessing_function(x)
        return x

    def standardize(self, x: Tensor) -> Tensor:
        """The deterministic normalization steps (samplewise, featurewise, mean/std), as Keras' `standardize`
        minus `rescale` (which `__call__` applies first). Apply it to evaluation data too."""
        if self.samplewise_center:
            x = x - x.mean((1, 2, 3), keepdim=True)
        if self.samplewise_std:
            x = x / (x.std((1, 2, 3), keepdim=True) + 1e-6)
        if self.featurewise_center or self.featurewise_std:
            if self.feature_mean is None:
                raise UsageError("featurewise_center/featurewise_std_normalization need statistics: call "
                                 "Augment.fit(training_images) first")
            x = x - self.feature_mean.to(x.device)
            if self.featurewise_std:
                x = x / (self.feature_std.to(x.device) + 1e-6)  # type: ignore[union-attr]
        if self.mean is not None:
            x = x - self.mean.to(x.device)
        if self.std is not None:
            x = x / self.std.to(x.device)
        return x

    def __repr__(self) -> str:
        return f"Augment({describe(self)})"

    @classmethod
    def from_spec(cls, spec: str, seed: int | None = None) -> "Augment":
        """Build from a spec string: a preset name, "key=value,…" pairs, or "preset,key=value,…".

        Example:
            >>> Augment.from_spec("mnist,rotation_range=5", seed=0).rotation_range
            5.0
        """
        kwargs = parse_spec(spec, option_names())
        return cls(**{**kwargs, "seed": kwargs.get("seed", seed)})


GEOMETRY_KEYS = ("rotation", "shift_x", "shift_y", "shear", "zoom_x", "zoom_y", "flip_h", "flip_v",
                 "crop_x", "crop_y", "crop_box")


def _clip(x: Tensor, lo_hi: tuple[float, float] | None) -> Tensor:
    return x if lo_hi is None else x.clamp(lo_hi[0], lo_hi[1])


def _pair(v: Any, name: str, p: list[str], around_one: bool = False) -> tuple[float, float]:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and around_one:
        return (1.0 - float(v), 1.0 + float(v))
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(a, (int, float)) for a in v) \
            and v[0] <= v[1]:
        return (float(v[0]), float(v[1]))
    form = "a number z (for [1 - z, 1 + z]) or " if around_one else ""
    p.append(f"{name} must be {form}a pair (lo, hi) with lo <= hi, got {v!r}")
    return (1.0, 1.0)


def _shift_choices(v: Any, name: str, p: list[str]) -> tuple[str, Any] | None:
    """Keras' three forms of a shift range → ("uniform", r) or ("choice", values), plus the unit."""
    if isinstance(v, bool) or not isinstance(v, (int, float, list, tuple)):
        p.append(f"{name} must be {SHIFT_HELP}, got {v!r}")
        return None
    if isinstance(v, (list, tuple)):
        if not v or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in v):
            p.append(f"{name} must be {SHIFT_HELP}, got {v!r}")
            return None
        return ("choice", [float(a) for a in v]) if any(v) else None
    if v < 0:
        p.append(f"{name} must be >= 0, got {v!r}")
        return None
    if not v:
        return None
    if isinstance(v, int):
        return ("choice", [float(a) for a in range(v)])
    return ("uniform", float(v))


def option_names() -> list[str]:
    """Keyword names `Augment` accepts (what a spec string may set)."""
    return [n for n in inspect.signature(Augment.__init__).parameters if n != "self"]


NORMALIZING = ("rescale", "mean", "std", "samplewise_center", "samplewise_std_normalization", "featurewise_center",
               "featurewise_std_normalization")


def spec_problems(spec: str | None) -> list[str]:
    """Problems with an `--augment` spec for training (empty when fine); used by config validation.

    Example:
        >>> spec_problems("rotation_range=45"), spec_problems("off")
        ([], [])
    """
    if spec is None or not spec.strip() or spec.strip().lower() in ("none", "off"):
        return []
    try:
        kwargs = parse_spec(spec, option_names())
        Augment(**{**kwargs, "seed": 0})
    except UsageError as e:
        return [str(e)]
    train_only = [k for k in kwargs if k in NORMALIZING and kwargs[k]]
    if train_only:
        return [f"--augment: {', '.join(train_only)} would normalize training batches only (test data would differ); "
                f"zenlearn's loaders already scale pixels to [0, 1] — drop them from --augment"]
    return []


def describe(aug: Augment) -> str:
    """Short text of an `Augment`'s active settings (for repr and logs)."""
    defaults = Augment(seed=0)
    out = []
    for name in ("rotation_range", "shear_range", "horizontal_flip", "vertical_flip", "crop_padding",
                 "resized_crop", "fill_mode", "brightness", "contrast", "channel_shift", "noise_std", "cutout",
                 "random_erasing", "shift", "zoom"):
        v = getattr(aug, name)
        if v != getattr(defaults, name):
            out.append(f"{name}={v}")
    return ", ".join(out + [f"seed={aug.seed}"])
