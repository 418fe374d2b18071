"""A table's target column: whether it holds classes or values, its checks, and its fitted encoding (class
names, or the training mean and standard deviation), saved with the table's preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zenlearn.errors import UsageError


def _numbers(col: Any) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)


CLASS_MAX = 20
"""--task auto: an integer target with at most this many distinct values is a classification."""


CLASSES = {"classification": True, "regression": False}
"""--task: whether the target holds classes (True) or values (False); "auto" infers it (`holds_classes`)."""


def holds_classes(col: Any, task: str = "auto") -> bool:
    """Whether target column `col` holds classes: as `task` says unless "auto"; under auto, a string or bool
    target, or an integer target with at most `CLASS_MAX` distinct values, holds classes, anything else values.

    Example:
        >>> import pyarrow as pa
        >>> holds_classes(pa.chunked_array([[1, 2, 1]])), holds_classes(pa.chunked_array([[0.5, 1.5]]))
        (True, False)
    """
    import pyarrow.compute as pc
    import pyarrow.types as pat

    if task in CLASSES:
        return CLASSES[task]
    t = col.type
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_boolean(t) or pat.is_dictionary(t):
        return True
    return bool(pat.is_integer(t) and len(pc.unique(col)) <= CLASS_MAX)


def check_target(col: Any, name: str, where: str) -> None:
    """Refuse a target column with empty or NaN cells, naming the first such row."""
    import pyarrow.compute as pc
    import pyarrow.types as pat

    bad = pc.is_null(col, nan_is_null=True) if pat.is_floating(col.type) else pc.is_null(col)
    count = int(pc.sum(bad).as_py() or 0)
    if count:
        first = int(pc.index(bad, True).as_py()) + 1
        raise UsageError(f"{where}: {count} row(s) have an empty or NaN target {name!r} (the first is data row "
                         f"{first}); remove those rows or fill in their target")


@dataclass
class TargetPrep:
    """The target column's encoding: class names (classification) or the training mean and standard deviation
    (regression: the model's outputs are scaled by them, so it learns standardised targets)."""

    name: str
    task: str
    classes: list[str] = field(default_factory=list)
    mean: float = 0.0
    std: float = 1.0

    @property
    def categorical(self) -> bool:
        """The target holds classes (else values)."""
        return bool(self.classes)

    @classmethod
    def fit(cls, name: str, col: Any, categorical: bool, rows: np.ndarray) -> "TargetPrep":
        """Fit on the training rows `rows` of target column `col` (named `name`; checked by `check_target`);
        refuses one class or a constant target."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.types as pat

        train = col.take(pa.array(rows))
        task = next(k for k, v in CLASSES.items() if v == categorical)
        if categorical:
            values = pc.unique(pc.drop_null(train))
            if pat.is_integer(values.type) or pat.is_floating(values.type) or pat.is_boolean(values.type):
                values = values.sort()  # numeric labels in numeric order
            else:
                values = pc.cast(values, "string").sort()
            classes = [str(v) for v in pc.cast(values, "string").to_pylist()]
            if len(classes) < 2:
                raise UsageError(f"--target {name}: only one class ({classes[0]!r}) in the training rows; a "
                                 f"classifier needs at least two")
            return cls(name, task, classes)
        y = _numbers(train)
        std = float(y.std())
        if not std > 1e-12 * max(1.0, abs(float(y.mean()))):
            raise UsageError(f"--target {name}: the target is constant ({float(y[0]):g} in every training row); "
                             f"there is nothing to learn")
        return cls(name, task, mean=float(y.mean()), std=std)

    def encode(self, col: Any, where: str) -> np.ndarray:
        """Targets of column `col`: class indices (int64) or values (float32, shape (N, 1)); a label never seen
        in training, or an empty / NaN target cell, is a one-line error naming `where`."""
        import pyarrow as pa
        import pyarrow.compute as pc

        check_target(col, self.name, where)
        if self.categorical:
            labels = pc.cast(col, "string")
            idx = pc.index_in(labels, value_set=pa.array(self.classes, pa.string()))
            unseen = pc.filter(labels, pc.and_(pc.is_null(idx), pc.is_valid(labels)))
            if len(unseen):
                raise UsageError(f"{where}: target label {unseen[0].as_py()!r} never occurs in the training rows "
                                 f"(classes: {', '.join(self.classes[:20])}); drop those rows or add examples of it "
                                 f"to the training data")
            return idx.to_numpy(zero_copy_only=False).astype(np.int64)
        return _numbers(col).astype(np.float32).reshape(-1, 1)
