"""Knowledge distillation: the KD and hint losses, and the methods by name (`DISTILL_METHODS`).

A method is a training `loss_fn(outputs, targets, inputs)` for the ordinary `Trainer`: it runs the frozen
teacher (eval mode, no gradients) on the same — possibly augmented — inputs the student sees. The
`zenlearn distill` command (scratch vs distilled student, the T × alpha sweep) is `workflows/distill.py`.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zenlearn.config import DistillConfig
from zenlearn.config.fields import split_option, split_values
from zenlearn.data import BatchLoader
from zenlearn.errors import UsageError
from zenlearn.registry import Registry

SWEEPABLE = ("temperature", "alpha")


class TeacherLogits:
    """The teacher's logits over whole training sets, computed once per (samples, scale) and shared by every
    KD loss built with it (each candidate of a T × alpha sweep trains on the same samples).

    Its owner (one `zenlearn distill` run) creates it and passes it to `bind`; nothing is kept once it goes.

    Args:
        teacher: The frozen teacher.

    Example:
        >>> cache = TeacherLogits(nn.Linear(4, 3))
        >>> from zenlearn.data import ArrayData
        >>> cache.over(BatchLoader(ArrayData(torch.randn(10, 4), torch.zeros(10, dtype=torch.long)), 4)).shape
        torch.Size([10, 3])
    """

    def __init__(self, teacher: nn.Module) -> None:
        self.teacher = teacher
        self._seen: list[tuple[Any, float, Tensor]] = []  # (weak ref to the samples tensor, scale, logits)

    @torch.no_grad()
    def over(self, loader: BatchLoader) -> Tensor:
        """(N, K) logits of every sample of `loader`'s data, in its order (not the shuffled batch order)."""
        data = loader.data
        for ref, scale, logits in self._seen:
            if ref() is data.x and scale == loader.scale:
                return logits
        dev = next(self.teacher.parameters()).device
        self.teacher.eval()
        logits = torch.cat([self.teacher(x.to(dev)).float() for x, _ in BatchLoader(data, 1000, scale=loader.scale)])
        self._seen = [s for s in self._seen if s[0]() is not None] + [(weakref.ref(data.x), loader.scale, logits)]
        return logits


# ---------------------------------------------------------------- pure losses

def kd_loss(student_logits: Tensor, teacher_logits: Tensor, targets: Tensor, temperature: float = 4.0,
            alpha: float = 0.9) -> Tensor:
    """Hinton, Vinyals & Dean (2015): soft-target KL at temperature T (scaled by T²) mixed with hard-label CE.

    `alpha · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − alpha) · CE(s, y)`, the KL averaged over the
    batch. The T² keeps the soft term's gradients the same size as T changes.

    Args:
        student_logits: (B, K) student outputs.
        teacher_logits: (B, K) teacher outputs (no gradient is needed or taken through them).
        targets: (B,) integer labels.
        temperature: Softmax temperature T > 0. Defaults to 4.0.
        alpha: Weight of the soft term in [0, 1]; 0 is plain cross-entropy. Defaults to 0.9.

    Example:
        >>> s, t = torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]])
        >>> float(kd_loss(s, t, torch.tensor([0]), alpha=0.0)) == float(F.cross_entropy(s, torch.tensor([0])))
        True
    """
    log_p_s = F.log_softmax(student_logits.float() / temperature, dim=-1)  # (B, K)
    log_p_t = F.log_softmax(teacher_logits.float().detach() / temperature, dim=-1)  # (B, K)
    soft = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student_logits.float(), targets)
    return alpha * temperature**2 * soft + (1 - alpha) * hard


def hint_loss(student_features: Tensor, teacher_features: Tensor) -> Tensor:
    """FitNets (Romero et al. 2015) hint loss: mean squared error between (regressed) student and teacher features.

    Args:
        student_features: (B, D) student features, already mapped to the teacher's width.
        teacher_features: (B, D) teacher features (treated as constants).

    Example:
        >>> float(hint_loss(torch.ones(2, 3), torch.zeros(2, 3)))
        1.0
    """
    return F.mse_loss(student_features.float(), teacher_features.float().detach())


# ---------------------------------------------------------------- config

def parse_sweep(tokens: Sequence[str] | None) -> dict[str, tuple[float, ...]]:
    """`["temperature=1,2,4", "alpha=0.5,0.9"]` → `{"temperature": (1.0, 2.0, 4.0), "alpha": (0.5, 0.9)}`.

    Example:
        >>> parse_sweep(["alpha=0.5,0.9"])
        {'alpha': (0.5, 0.9)}
    """
    grid: dict[str, tuple[float, ...]] = {}
    for tok in tokens or ():
        form = f"KEY=V1,V2,… with KEY one of {', '.join(SWEEPABLE)}; e.g. --sweep temperature=1,2,4,8,20 alpha=0.5,0.9"
        key, values = split_option(tok, "--sweep", form)
        if key not in SWEEPABLE:
            raise UsageError(f"--sweep expects {form}, got {tok!r}")
        try:
            vals = tuple(float(v) for v in split_values(values) if v)
        except ValueError:
            raise UsageError(f"--sweep {key}: expected comma-separated numbers, got {values!r}") from None
        if not vals or key in grid:
            raise UsageError(f"--sweep {key}: give each key once with at least one value, got {tok!r}")
        if len(set(vals)) != len(vals):  # as --vary refuses them: a repeat would silently run one cell less
            raise UsageError(f"--sweep {key}: a value is listed twice ({values.strip()})")
        grid[key] = vals
    return grid


# ---------------------------------------------------------------- methods

def freeze(teacher: nn.Module) -> nn.Module:
    """Put `teacher` in eval mode with gradients off (dropout and batch-norm statistics fixed)."""
    return teacher.eval().requires_grad_(False)


class KD:
    """Hinton KD as a `Trainer` loss: `kd_loss(student(x), teacher(x), y, T, alpha)`.

    When the training loader yields the very tensor the loss receives (no augmentation in between), the
    teacher's logits come from `TeacherLogits`, computed once over the training set, instead of a forward
    per batch: the loader's `last_batch` (indices, inputs) says which samples the batch holds.

    Args:
        teacher: Trained model; frozen here.
        student: The model being trained (unused by kd; part of the method signature).
        cfg: Temperature and alpha.
        loader: The training loader; a `BatchLoader` (in-memory arrays) gets the cache, a streaming loader
            (image folders) a teacher forward per batch. Defaults to None (no cache).
        device: Where the teacher runs. Defaults to "cpu".
        input_shape: Unused (the methods share one signature). Defaults to None.
        logits: The shared teacher-logit cache. Defaults to one of its own.

    Example:
        >>> loss_fn = KD(nn.Linear(4, 3), nn.Linear(4, 3), DistillConfig(temperature=2))
        >>> loss_fn(torch.zeros(5, 3), torch.zeros(5, dtype=torch.long), torch.randn(5, 4)).ndim
        0
    """

    def __init__(self, teacher: nn.Module, student: nn.Module, cfg: DistillConfig, *,
                 loader: BatchLoader | None = None, device: torch.device | str = "cpu",
                 input_shape: Sequence[int] | None = None, logits: TeacherLogits | None = None) -> None:
        self.teacher = freeze(teacher).to(device)
        self.temperature, self.alpha = cfg.temperature, cfg.alpha
        self.loader = loader if isinstance(loader, BatchLoader) else None  # image folders stream: no cache
        self.cache = None
        if self.loader is not None and cfg.alpha > 0:
            self.cache = (logits or TeacherLogits(self.teacher)).over(self.loader)  # (N, K)

    def teacher_logits(self, inputs: Tensor) -> Tensor:
        """The frozen teacher's logits for `inputs` (B, K), from the cache when they are the loader's batch."""
        last = self.loader.last_batch if self.loader is not None else None
        if self.cache is not None and last is not None and last[1] is inputs:
            return self.cache[last[0]]
        self.teacher.eval()
        with torch.no_grad():
            return self.teacher(inputs).float()

    def __call__(self, outputs: Tensor, targets: Tensor, inputs: Tensor) -> Tensor:
        if self.alpha == 0:
            return F.cross_entropy(outputs.float(), targets)
        return kd_loss(outputs, self.teacher_logits(inputs), targets, self.temperature, self.alpha)

    def parameters(self) -> list[Tensor]:
        return []


class FeatureTap:
    """Keeps the latest output of module `name` of `model` (or, for None, the input of its last `nn.Linear`)."""

    def __init__(self, model: nn.Module, name: str | None, role: str) -> None:
        modules = dict(model.named_modules())
        if name is None:
            linears = [m for m in modules.values() if isinstance(m, nn.Linear)]
            if not linears:
                raise UsageError(f"hint: the {role} has no nn.Linear layer to take features from; pass "
                                 f"--hint-layer STUDENT[:TEACHER] with module names")
            self.handle = linears[-1].register_forward_pre_hook(self._keep_input)
        else:
            if name not in modules or name == "":
                raise UsageError(f"hint: the {role} has no module {name!r}; choose one of: "
                                 f"{', '.join(n for n in modules if n)}")
            self.handle = modules[name].register_forward_hook(self._keep_output)
        self.value: Tensor | None = None

    def remove(self) -> None:
        self.handle.remove()

    def _keep_input(self, module: nn.Module, args: tuple[Tensor, ...]) -> None:
        self.value = args[0].flatten(1)  # (B, D)

    def _keep_output(self, module: nn.Module, args: Any, out: Tensor) -> None:
        self.value = out.flatten(1)  # (B, D)


class Hint:
    """FitNets hint training as a `Trainer` loss: `(1 − alpha) · CE + alpha · hint_loss(r(h_s), h_t)`.

    `h_s`, `h_t` are the student's and teacher's features at the chosen layers; `r` is a linear regressor
    from the student's width to the teacher's, trained with the student and discarded afterwards.

    Args:
        teacher: Trained model; frozen here.
        student: The model being trained; a forward hook reads its features.
        cfg: alpha and hint_layer ("STUDENT[:TEACHER]" module names; default: penultimate features).
        loader: Unused (teacher features are not cached). Defaults to None.
        device: Where the teacher and the regressor live. Defaults to "cpu".
        input_shape: Shape of one sample, to size the regressor. Defaults to the loader's samples, else
            the first linear layer's input.

    Example:
        >>> s = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        >>> t = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
        >>> hint = Hint(t, s, DistillConfig(method="hint"))
        >>> x = torch.randn(5, 4)
        >>> hint(s(x), torch.zeros(5, dtype=torch.long), x).ndim
        0
    """

    def __init__(self, teacher: nn.Module, student: nn.Module, cfg: DistillConfig, *,
                 loader: BatchLoader | None = None, device: torch.device | str = "cpu",
                 input_shape: Sequence[int] | None = None) -> None:
        self.teacher = freeze(teacher).to(device)
        self.alpha = cfg.alpha
        s_name, _, t_name = (cfg.hint_layer or "").partition(":")
        self.s_tap = FeatureTap(student, s_name or None, "student")
        self.t_tap = FeatureTap(self.teacher, (t_name or s_name) or None, "teacher")
        if input_shape is None:
            input_shape = tuple(loader.data.x.shape[1:]) if loader is not None else _first_linear_input(student)
        widths = [_width(m, tap, input_shape) for m, tap in ((student, self.s_tap), (self.teacher, self.t_tap))]
        self.regressor = nn.Linear(*widths).to(device)

    def __call__(self, outputs: Tensor, targets: Tensor, inputs: Tensor) -> Tensor:
        hs = self.s_tap.value  # (B, Ds) captured during the student's forward on `inputs`
        self.teacher.eval()
        with torch.no_grad():
            self.teacher(inputs)
        ht = self.t_tap.value  # (B, Dt)
        assert hs is not None and ht is not None and hs.shape[0] == outputs.shape[0]
        hard = F.cross_entropy(outputs.float(), targets)
        return (1 - self.alpha) * hard + self.alpha * hint_loss(self.regressor(hs.float()), ht)

    def parameters(self) -> list[Tensor]:
        return list(self.regressor.parameters())

    def close(self) -> None:
        """Remove the feature hooks from both models."""
        self.s_tap.remove()
        self.t_tap.remove()


@torch.no_grad()
def _width(model: nn.Module, tap: FeatureTap, input_shape: Sequence[int]) -> int:
    p = next(model.parameters())
    was = model.training
    model.eval()
    model(torch.zeros(2, *input_shape, device=p.device, dtype=p.dtype))
    model.train(was)
    assert tap.value is not None
    return tap.value.shape[1]


def _first_linear_input(model: nn.Module) -> tuple[int, ...]:
    first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    if first is None:
        raise UsageError("hint: pass input_shape (the shape of one sample) for a model that does not start linear")
    return (first.in_features,)


def check_distill_config(cfg: DistillConfig) -> DistillConfig:
    """Check `cfg`'s teacher, ranges and method name (against `DISTILL_METHODS`); raise one `UsageError`."""
    return cfg.validate(DISTILL_METHODS.names())


def bind(method: str | type, teacher: nn.Module, cfg: DistillConfig,
         logits: TeacherLogits | None = None) -> Callable[..., Any]:
    """A `train_run(loss=…)` factory: method `method` built around the student that `train_run` creates.

    Args:
        method: A name in `DISTILL_METHODS` (or a method class).
        teacher: The trained teacher model.
        cfg: Distillation options.
        logits: A teacher-logit cache shared by every loss this factory (and others given it) builds.
            Defaults to None (a cache per loss).

    Example:
        >>> factory = bind("kd", nn.Linear(4, 3), DistillConfig(temperature=20))
        >>> loss_fn = factory(nn.Linear(4, 3), None, "cpu")  # what train_run calls with its student
        >>> type(loss_fn).__name__, loss_fn.temperature
        ('KD', 20)
    """
    cls = DISTILL_METHODS.get(method)
    extra = {"logits": logits} if cls is KD and logits is not None else {}
    return lambda student, loader, device: cls(teacher, student, cfg, loader=loader, device=device, **extra)


DISTILL_METHODS: Registry[type] = Registry("distillation method")
DISTILL_METHODS.add("kd", KD, "Hinton et al. 2015: alpha·T²·KL(teacher_T ‖ student_T) + (1−alpha)·CE",
                    aliases=("hinton",))
DISTILL_METHODS.add("hint", Hint, "FitNets (Romero et al. 2015): (1−alpha)·CE + alpha·MSE(regressor(h_s), h_t)",
                    aliases=("fitnets",))
