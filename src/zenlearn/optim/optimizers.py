"""Optimizers by name (`OPTIMIZERS`): thin entries over `torch.optim` classes, never re-implemented.

Each entry names a `torch.optim` class, a one-line description, the keyword arguments zenlearn fixes
(`nesterov=True`), zenlearn's defaults where they differ from torch's (SGD's learning rate), and the
renames from zenlearn's option names to the class's (`rho` is RMSprop's `alpha`). The options an
optimizer takes are read from its class signature, so an option it does not take is an error, never
silently dropped. Weight decay goes to weights only: biases and normalization parameters get none.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Iterable

import torch
from torch import nn

from zenlearn.errors import UsageError
from zenlearn.optim.eager import eager
from zenlearn.registry import Registry

OPTION_FIELDS = ("momentum", "weight_decay", "betas", "eps", "rho")
"""`TrainConfig` fields that are optimizer options (None / unset means "the optimizer's default")."""

OPTIMIZERS: Registry[type[torch.optim.Optimizer]] = Registry("optimizer")


@dataclass(frozen=True)
class OptimInfo:
    """What a registered optimizer takes (timm's `OptimInfo` style).

    Attributes:
        defaults: zenlearn's default `lr` and option values (torch's unless overridden).
        takes: The zenlearn options (`OPTION_FIELDS`) its class accepts.
        fixed: Keyword arguments zenlearn always passes (`nesterov=True`).
        renames: zenlearn option name → the class's keyword (`rho` → RMSprop's `alpha`).
    """

    defaults: dict[str, Any]
    takes: tuple[str, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    renames: dict[str, str] = field(default_factory=dict)

    def listing(self) -> dict[str, Any]:
        return self.defaults


def _add(name: str, cls: type[torch.optim.Optimizer], description: str, *, fixed: dict[str, Any] | None = None,
         overrides: dict[str, Any] | None = None, renames: dict[str, str] | None = None) -> None:
    fixed, overrides, renames = fixed or {}, overrides or {}, renames or {}
    sig = inspect.signature(cls.__init__).parameters
    takes = tuple(o for o in OPTION_FIELDS if renames.get(o, o) in sig and renames.get(o, o) not in fixed)
    defaults = {"lr": overrides.get("lr", sig["lr"].default)}
    for o in takes:
        default = overrides.get(o, sig[renames.get(o, o)].default)
        defaults[o] = float(default) if isinstance(default, (int, float)) else default
    OPTIMIZERS.add(name, cls, description, info=OptimInfo(defaults, takes, fixed, renames))


_add("sgd", torch.optim.SGD, "plain stochastic gradient descent: w -= lr * g", overrides={"lr": 1e-2})
_add("momentum", torch.optim.SGD, "SGD with heavy-ball momentum: v = m*v + g; w -= lr * v",
     overrides={"lr": 1e-2, "momentum": 0.9})
_add("nesterov", torch.optim.SGD, "SGD with Nesterov momentum: steps along g + m*v (a look-ahead gradient)",
     fixed={"nesterov": True}, overrides={"lr": 1e-2, "momentum": 0.9})
_add("adagrad", torch.optim.Adagrad, "AdaGrad: per-parameter rates lr / sqrt(sum of squared gradients)")
_add("adadelta", torch.optim.Adadelta, "Adadelta: AdaGrad with decaying averages (rho); lr scales a unit-free step")
_add("adam", torch.optim.Adam, "Adam: momentum + per-parameter adaptive rates, bias-corrected (L2 weight decay)")
_add("adamw", torch.optim.AdamW, "AdamW: Adam with decoupled weight decay")
_add("rmsprop", torch.optim.RMSprop, "RMSprop: lr / sqrt(decaying average of squared gradients) (rho = smoothing)",
     overrides={"lr": 1e-3}, renames={"rho": "alpha"})
_add("adamax", torch.optim.Adamax, "Adamax: Adam with the infinity norm of past gradients")
_add("nadam", torch.optim.NAdam, "NAdam: Adam with Nesterov momentum")
_add("radam", torch.optim.RAdam, "RAdam: Adam with a rectified (warmup-free) adaptive rate")

# Module types whose parameters (scales and shifts) never get weight decay.
NORM_TYPES: tuple[type[nn.Module], ...] = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm,
                                           nn.LocalResponseNorm, *([nn.RMSNorm] if hasattr(nn, "RMSNorm") else []))


def default_lr(optimizer: str) -> float:
    """The learning rate optimizer `optimizer` uses when `--lr` is not given (see `zenlearn list optimizers`)."""
    return float(OPTIMIZERS.entry(optimizer).info.defaults["lr"])


def option_problems(optimizer: str, options: dict[str, Any]) -> list[str]:
    """Problems with `options` for `optimizer`: options it does not take and values out of range."""
    if optimizer not in OPTIMIZERS:
        return []  # the unknown name is reported by the config check
    entry = OPTIMIZERS.entry(optimizer)
    takes = entry.info.takes
    p = []
    for o in options:
        if o not in takes:
            p.append(f"optimizer {entry.name!r} does not take --{o.replace('_', '-')}; it takes: "
                     + (", ".join("--" + t.replace("_", "-") for t in takes) or "no options")
                     + "; drop the option or pick another --optimizer")
    m, wd, betas, eps, rho = (options.get(k) for k in OPTION_FIELDS)
    if m is not None and not 0.0 <= m < 1.0:
        p.append(f"momentum must be in [0, 1), got {m}")
    if m is not None and m == 0.0 and entry.info.fixed.get("nesterov"):
        p.append("optimizer 'nesterov' needs --momentum > 0 (use --optimizer sgd for no momentum)")
    if wd is not None and wd < 0:
        p.append(f"weight_decay must be >= 0, got {wd}")
    if betas is not None and (len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas)):
        p.append(f"betas must be two numbers in [0, 1) like 0.9,0.999, got {','.join(map(str, betas))}")
    if eps is not None and eps <= 0:
        p.append(f"eps must be > 0, got {eps}")
    if rho is not None and not 0.0 <= rho <= 1.0:
        p.append(f"rho must be in [0, 1], got {rho}")
    return p


def param_groups(model: nn.Module | Iterable[nn.Parameter], weight_decay: float = 0.0) -> list[dict[str, Any]]:
    """Parameter groups where weight decay applies to weights only, not to biases or norm parameters.

    A parameter gets no decay if it belongs to a normalization layer (`NORM_TYPES`), is named `bias`,
    or has fewer than 2 dimensions. With `weight_decay` 0 (or a plain parameter list) one group is returned.

    Args:
        model: A module, or an iterable of parameters (then all of them decay).
        weight_decay: Decay of the weights. Defaults to 0.

    Example:
        >>> groups = param_groups(nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3)), weight_decay=0.1)
        >>> [(g["name"], len(g["params"]), g["weight_decay"]) for g in groups]
        [('decay', 1, 0.1), ('no_decay', 3, 0.0)]
    """
    if not isinstance(model, nn.Module):
        return [{"params": [p for p in model if p.requires_grad], "weight_decay": weight_decay}]
    if not weight_decay:
        return [{"params": [p for p in model.parameters() if p.requires_grad], "weight_decay": 0.0}]
    decay, no_decay, seen = [], [], set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            skip = isinstance(module, NORM_TYPES) or name == "bias" or p.ndim <= 1
            (no_decay if skip else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay, "name": "decay"},
              {"params": no_decay, "weight_decay": 0.0, "name": "no_decay"}]
    return [g for g in groups if g["params"]]


def create_optimizer(name: str | type[torch.optim.Optimizer], model: nn.Module | Iterable[nn.Parameter], *,
                     lr: float | None = None, **options: Any) -> torch.optim.Optimizer:
    """An optimizer by registry name over `model`, with weight decay only on weights.

    Args:
        name: Registered name ("momentum") or a `torch.optim.Optimizer` class (used with `options` as given).
        model: The module to optimize (or an iterable of parameters).
        lr: Learning rate. Defaults to the optimizer's default (see `zenlearn list optimizers`).
        **options: Any of `momentum`, `weight_decay`, `betas`, `eps`, `rho`; one the optimizer does not
            take is a `UsageError`. Defaults to the optimizer's defaults.

    Example:
        >>> opt = create_optimizer("nesterov", nn.Linear(2, 1), lr=0.1, weight_decay=1e-4)
        >>> type(opt).__name__, opt.defaults["nesterov"], opt.defaults["momentum"]
        ('SGD', True, 0.9)
    """
    if not isinstance(name, str):
        return name(param_groups(model, options.pop("weight_decay", 0.0) or 0.0), lr=lr, **options)
    entry = OPTIMIZERS.entry(name)
    options = {k: v for k, v in options.items() if v is not None}
    problems = option_problems(entry.name, options)
    if problems:
        raise UsageError("; ".join(problems))
    defaults, renames = entry.info.defaults, entry.info.renames
    kwargs = {renames.get(o, o): options.get(o, defaults[o]) for o in entry.info.takes}
    kwargs.update(entry.info.fixed)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    weight_decay = kwargs.pop("weight_decay", 0.0)
    groups = param_groups(model, weight_decay)
    takes = inspect.signature(entry.obj.__init__).parameters
    if all(p.device.type in ("cpu", "cuda") for g in groups for p in g["params"]):
        if "fused" in takes and entry.obj in (torch.optim.Adam, torch.optim.AdamW):
            kwargs["fused"] = True  # one kernel for the whole update: ~3x faster Adam steps than foreach on CPU
        elif "foreach" in takes:
            kwargs["foreach"] = True  # one kernel per op over all tensors: faster on CPU too
    try:
        # eager: the same class without torch.optim's 1-2 s import of torch._dynamo (see optim.eager)
        return eager(entry.obj)(groups, lr=lr if lr is not None else defaults["lr"], **kwargs)
    except ValueError as e:  # torch's own range checks ("Invalid beta parameter …")
        raise UsageError(f"optimizer {entry.name!r}: {e}") from None
