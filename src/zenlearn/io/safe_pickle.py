"""Loading pickle files without running their code: a restricted unpickler that rebuilds numpy arrays only.

`pickle.load` calls whatever callable a file names, so a crafted file runs code on load. Every pickle
zenlearn reads (the MNIST-1D dataset file) goes through `load_pickle`, which allows an explicit list of
globals — by default numpy's array rebuild functions — and refuses the file otherwise, before any
of its calls run.
"""

from __future__ import annotations

import importlib
import io
import pickle
from pathlib import Path
from typing import Any

from zenlearn.errors import UsageError

NUMPY_ARRAYS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
})
"""The globals a pickle of plain numpy arrays (in dicts, lists, tuples) needs, and nothing else."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the (module, name) pairs in `allowed`; anything else is refused.

    Args:
        file: Binary file object to read.
        allowed: Permitted (module, name) globals. Defaults to `NUMPY_ARRAYS`.

    Example:
        >>> import io, pickle, numpy as np
        >>> RestrictedUnpickler(io.BytesIO(pickle.dumps({"x": np.arange(3)}))).load()["x"].tolist()
        [0, 1, 2]
    """

    def __init__(self, file: Any, allowed: frozenset[tuple[str, str]] = NUMPY_ARRAYS) -> None:
        super().__init__(file)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        if module.startswith("numpy.core"):  # numpy 2 moved numpy.core to numpy._core
            try:
                return getattr(importlib.import_module(module.replace("numpy.core", "numpy._core", 1)), name)
            except ImportError:
                pass
        return getattr(importlib.import_module(module), name)

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent references are not allowed")


def load_pickle(path: str | Path, allowed: frozenset[tuple[str, str]] = NUMPY_ARRAYS) -> Any:
    """Unpickle `path` allowing only the `allowed` globals; a file that asks for more is a `UsageError`.

    Nothing the file names outside `allowed` is imported or called, so a crafted file runs no code.

    Args:
        path: The pickle file.
        allowed: Permitted (module, name) globals. Defaults to `NUMPY_ARRAYS` (numpy arrays only).

    Example:
        >>> import numpy as np
        >>> from zenlearn.io.atomic import write_bytes
        >>> write_bytes(tmp / "d.pkl", pickle.dumps({"x": np.zeros((4000, 40))}))
        >>> load_pickle(tmp / "d.pkl")["x"].shape
        (4000, 40)
        >>> write_bytes(tmp / "evil.pkl", pickle.dumps(print))
        >>> load_pickle(tmp / "evil.pkl")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        zenlearn.errors.UsageError: ...evil.pkl: refused to load: ...
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror}); check the path") from None
    try:
        return RestrictedUnpickler(io.BytesIO(raw), allowed).load()
    except pickle.UnpicklingError as e:
        if "is not allowed" in str(e):
            raise UsageError(f"{path}: refused to load: the pickle asks for {str(e).removesuffix(' is not allowed')}, "
                             f"which could run code (only numpy arrays are allowed); replace it with the "
                             f"official file") from None
        raise UsageError(f"{path}: not a valid pickle ({e}); replace it with the official file") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as e:
        raise UsageError(f"{path}: corrupt or truncated pickle ({type(e).__name__}: {str(e)[:120]}); replace "
                         f"it with the official file") from None
