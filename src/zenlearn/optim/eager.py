"""`torch.optim` classes that do not import `torch._dynamo` in a process that never compiles.

`torch.optim.Optimizer` wraps `add_param_group` (called by `__init__`), `zero_grad`, `state_dict` and
`load_state_dict` in `torch._disable_dynamo`, and every optimizer's `step` in
`torch.optim.optimizer._use_grad_for_differentiable`. Both wrappers import `torch._dynamo` on their
first call (1.1–2.3 s on a 2-core CPU, more than a short training run's overhead budget) only to keep
the compiler out of the optimizer. While `torch._dynamo` is not loaded nothing is compiling, and the
wrappers reduce to: `step` runs with grad mode set to `defaults["differentiable"]`; the others run as written.

`eager(cls)` is a subclass of `cls` with the same name that does exactly that while `torch._dynamo` is
absent from `sys.modules`, and calls torch's own wrappers once it is loaded (a `torch.compile` elsewhere
in the process), so the maths and the compiler's view are torch's. It unwraps only wrappers whose code
object is the one torch's decorators produce; anything else is left as torch wrote it (correct, just
slower). tests/test_optim.py pins the decorators' source, so a torch upgrade that changes them fails
loudly, and checks the weights against plain `torch.optim` bit for bit.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import torch
from torch.optim.optimizer import _use_grad_for_differentiable

_DYNAMO = "torch._dynamo"
_DISABLED_METHODS = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")
# Code objects of the wrappers torch's decorators return (identical for every decorated function).
_DISABLE_CODE = torch._disable_dynamo(lambda: None).__code__
_USE_GRAD_CODE = _use_grad_for_differentiable(lambda: None).__code__


def _unwrap(fn: Callable[..., Any], code: Any) -> Callable[..., Any] | None:
    """The function `fn` wraps when `fn` is the wrapper with code object `code`, else None."""
    if getattr(fn, "hooked", False):  # Optimizer._patch_step_function's profiling wrapper around step
        fn = fn.__wrapped__
    return getattr(fn, "__wrapped__", None) if getattr(fn, "__code__", None) is code else None


def _eager_method(wrapper: Callable[..., Any], raw: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        if _DYNAMO in sys.modules:
            return wrapper(self, *args, **kwargs)
        return raw(self, *args, **kwargs)
    method.__name__, method.__qualname__, method.__doc__ = raw.__name__, raw.__qualname__, raw.__doc__
    return method


def _eager_step(wrapper: Callable[..., Any], raw: Callable[..., Any]) -> Callable[..., Any]:
    def step(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        if _DYNAMO in sys.modules:
            return wrapper(self, *args, **kwargs)
        with torch.set_grad_enabled(self.defaults["differentiable"]):  # what _use_grad does besides graph breaks
            return raw(self, *args, **kwargs)
    step.__name__, step.__qualname__, step.__doc__ = "step", raw.__qualname__, raw.__doc__
    return step  # no `hooked` attribute: Optimizer.__init__ adds the step hooks and profiling around it


@functools.cache
def eager(cls: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """`cls` without the `torch._dynamo` import: a same-named subclass, identical maths and state dicts.

    Args:
        cls: A `torch.optim.Optimizer` subclass. Methods that are not torch's dynamo wrappers are kept.

    Example:
        >>> opt = eager(torch.optim.SGD)(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> type(opt).__name__, isinstance(opt, torch.optim.SGD)
        ('SGD', True)
    """
    body: dict[str, Any] = {"__module__": __name__, "__doc__": cls.__doc__}
    for name in _DISABLED_METHODS:
        wrapper = getattr(cls, name)
        raw = _unwrap(wrapper, _DISABLE_CODE)
        if raw is not None:
            body[name] = _eager_method(wrapper, raw)
    step = getattr(cls, "step")
    use_grad = step.__wrapped__ if getattr(step, "hooked", False) else step
    raw = _unwrap(step, _USE_GRAD_CODE)
    if raw is not None:
        body["step"] = _eager_step(use_grad, raw)
    return type(cls.__name__, (cls,), body)
