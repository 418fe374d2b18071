"""A table's column roles and its fitted preprocessing: the one object that turns rows of a table into the
model's float features, fitted on the training split only and saved as JSON in the run folder (never pickled).

Numeric columns are standardised with the training split's mean and standard deviation (missing values become
the mean, 0 after standardising, plus a 0/1 indicator column where the training split had any). String and
bool columns are one-hot encoded, slot 0 being "unknown", up to `ONE_HOT_MAX` categories; above it they are
integer codes that the model embeds (`zenlearn.nn.tabular`), code 0 again "unknown". Dense features come
first, in column order, then the codes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from zenlearn.data.target import TargetPrep
from zenlearn.errors import UsageError

ONE_HOT_MAX = 16
"""Categories (seen in the training split) up to which a column is one-hot encoded; above, it is embedded."""
MISSING = "(missing)"
"""The category of an empty cell in a string or bool column."""
_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_DATE = r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4})([ T]\d{1,2}:\d{2}.*)?\s*$"


def _refuse(col: str, why: str, fix: str = "") -> UsageError:
    return UsageError(f"column {col!r} {why}, which the MLP cannot use; {fix}pass --drop {col}")


def column_roles(table: Any, *, target: str, drop: tuple[str, ...] = (),
                 categorical: tuple[str, ...] = ()) -> dict[str, str]:
    """{column: "numeric" | "categorical"} for every feature column of `table` (all but `target` and `drop`).

    Refuses, in one line that suggests `--drop COL`, a column it cannot use: dates and times, free text,
    strings that are all different (an identifier), integers that count the rows, numbers mixed with text
    (unless named in `categorical`), and a column with no values.

    Example:
        >>> import pyarrow as pa
        >>> column_roles(pa.table({"a": [1.0, 2.0], "b": ["x", "y"], "y": [0, 1]}), target="y")
        {'a': 'numeric', 'b': 'categorical'}
    """
    import pyarrow.compute as pc
    import pyarrow.types as pat

    roles = {}
    for f in table.schema:
        name, t = f.name, f.type
        if name == target or name in drop:
            continue
        col = table.column(name)
        if name in categorical or pat.is_boolean(t):
            roles[name] = "categorical"
        elif col.null_count == len(col) or pat.is_null(t):
            raise _refuse(name, "has no values")
        elif pat.is_temporal(t):
            raise _refuse(name, f"holds dates or times ({t})", "derive numbers from it (year, day of week) or ")
        elif pat.is_integer(t) or pat.is_floating(t) or pat.is_decimal(t):
            if pat.is_integer(t) and len(col) > 10 and _counts_rows(col):
                raise _refuse(name, "counts the rows (every value different, consecutive): an index, not a feature")
            roles[name] = "numeric"
        elif pat.is_string(t) or pat.is_large_string(t) or pat.is_dictionary(t):
            values = pc.drop_null(pc.cast(col, "string"))
            numbers = int(pc.sum(pc.match_substring_regex(values, _NUMBER)).as_py() or 0)
            if numbers and numbers >= len(values) / 2:
                bad = pc.filter(values, pc.invert(pc.match_substring_regex(values, _NUMBER)))[0].as_py()
                raise UsageError(f"column {name!r} mixes numbers and text (e.g. {bad!r}); fix those cells, or pass "
                                 f"--categorical {name} to use its values as categories, or --drop {name}")
            dates = int(pc.sum(pc.match_substring_regex(values, _DATE)).as_py() or 0)
            if dates and dates >= len(values) / 2:
                raise _refuse(name, "holds dates", "derive numbers from it (year, day of week) or ")
            distinct = len(pc.unique(values))
            if len(values) > 10 and distinct == len(values):
                raise _refuse(name, "has a different value in every row (an identifier or free text)")
            if distinct > len(values) / 2 and float(pc.mean(pc.utf8_length(values)).as_py() or 0) > 30:
                raise _refuse(name, "holds free text (long, mostly different strings)")
            roles[name] = "categorical"
        else:
            raise _refuse(name, f"has type {t}, neither numbers nor categories")
    if not roles:
        raise UsageError(f"no feature columns left besides the target {target!r}; keep at least one (--drop "
                         f"{','.join(drop) or '…'})")
    return roles


def _counts_rows(col: Any) -> bool:
    v = col.to_numpy(zero_copy_only=False)
    return len(np.unique(v)) == len(v) and int(v.max()) - int(v.min()) == len(v) - 1


def _numbers(col: Any) -> np.ndarray:
    """A numeric column as float64 numpy with NaN for missing cells."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)


def _strings(col: Any) -> Any:
    """A categorical column as strings, empty cells as `MISSING` (bools as "true" / "false")."""
    import pyarrow.compute as pc

    return pc.fill_null(pc.cast(col, "string"), MISSING)


def embedding_dims(categories: int) -> int:
    """Embedding width for a column of `categories` codes (unknown included): fastai's rule, at most 32.

    Example:
        >>> embedding_dims(20), embedding_dims(1000)
        (9, 32)
    """
    return min(32, round(1.6 * categories**0.56))


@dataclass
class ColumnPrep:
    """One feature column's fitted encoding."""

    name: str
    role: str
    """"numeric", "one-hot" or "embedding"."""
    mean: float = 0.0
    std: float = 1.0
    missing: bool = False
    """Numeric: the training split had empty cells, so a 0/1 indicator column follows the value."""
    categories: list[str] = field(default_factory=list)
    """One-hot / embedding: the categories of the training split, in order (slot or code i+1; 0 is unknown)."""

    @property
    def width(self) -> int:
        """Dense features this column adds (an embedded column adds one code at the end instead)."""
        if self.role == "numeric":
            return 1 + self.missing
        return len(self.categories) + 1 if self.role == "one-hot" else 0


@dataclass
class TablePreprocess:
    """The fitted preprocessing of a table: `fit` on the training rows, `transform` any rows with the same
    columns, `to_dict` / `from_dict` for the run folder's JSON.

    Example:
        >>> import pyarrow as pa
        >>> t = pa.table({"a": [1.0, 3.0, None], "c": ["x", "y", "x"], "y": [0, 1, 0]})
        >>> prep = TablePreprocess.fit(t, {"a": "numeric", "c": "categorical"}, np.arange(3))
        >>> prep.feature_names()
        ['a', 'a (missing)', 'c=(unknown)', 'c=x', 'c=y']
        >>> prep.transform(pa.table({"a": [2.0], "c": ["z"]})).tolist()
        [[0.0, 0.0, 1.0, 0.0, 0.0]]
        >>> TablePreprocess.from_dict(prep.to_dict()) == prep
        True
    """

    columns: list[ColumnPrep]
    target: TargetPrep | None = None
    """The target's encoding (None: a table of features only)."""

    @classmethod
    def fit(cls, table: Any, roles: dict[str, str], rows: np.ndarray,
            target: TargetPrep | None = None) -> "TablePreprocess":
        """Fit every column of `roles` on the rows `rows` of `table` (the training split's row numbers)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        cols = []
        take = pa.array(rows)
        for name, role in roles.items():
            if role == "numeric":
                v = _numbers(table.column(name))[rows]
                seen = v[~np.isnan(v)]
                mean = float(seen.mean()) if len(seen) else 0.0
                std = float(seen.std()) if len(seen) else 1.0
                cols.append(ColumnPrep(name, "numeric", mean, std if std > 1e-12 and math.isfinite(std) else 1.0,
                                       bool(len(seen) < len(v))))
            else:
                cats = sorted(pc.unique(_strings(table.column(name)).take(take)).to_pylist())
                cols.append(ColumnPrep(name, "one-hot" if len(cats) <= ONE_HOT_MAX else "embedding", categories=cats))
        return cls(cols, target)

    @property
    def dense_width(self) -> int:
        """Dense features (standardised numbers, indicators, one-hot slots) before the embedding codes."""
        return sum(c.width for c in self.columns)

    @property
    def embedded(self) -> list[int]:
        """Codes per embedded column (unknown included), in the order they follow the dense features."""
        return [len(c.categories) + 1 for c in self.columns if c.role == "embedding"]

    @property
    def width(self) -> int:
        """Features per row that `transform` returns."""
        return self.dense_width + len(self.embedded)

    def feature_names(self) -> list[str]:
        """The name of every feature `transform` returns, in order."""
        dense, codes = [], []
        for c in self.columns:
            if c.role == "numeric":
                dense += [c.name] + ([f"{c.name} (missing)"] if c.missing else [])
            elif c.role == "one-hot":
                dense += [f"{c.name}=(unknown)"] + [f"{c.name}={v}" for v in c.categories]
            else:
                codes.append(f"{c.name} (code)")
        return dense + codes

    def transform(self, table: Any, rows: np.ndarray | None = None) -> np.ndarray:
        """Features (len(rows), width) float32 of the rows `rows` of `table` (all rows by default).

        A category not seen in training goes to "unknown"; a missing feature column is one-line error."""
        import pyarrow as pa
        import pyarrow.compute as pc

        missing = [c.name for c in self.columns if c.name not in table.column_names]
        if missing:
            raise UsageError(f"the table lacks feature column(s) {', '.join(map(repr, missing))} that the model was "
                             f"trained on; add them (empty cells are allowed)")
        n = table.num_rows if rows is None else len(rows)
        out = np.empty((n, self.width), dtype=np.float32)
        j, k = 0, self.dense_width
        for c in self.columns:
            col = table.column(c.name)
            if c.role == "numeric":
                v = _numbers(col) if rows is None else _numbers(col)[rows]
                nan = np.isnan(v)
                out[:, j] = (np.where(nan, c.mean, v) - c.mean) / c.std
                if c.missing:
                    out[:, j + 1] = nan
                j += c.width
                continue
            codes = pc.index_in(_strings(col), value_set=pa.array(c.categories, pa.string()))
            codes = pc.fill_null(pc.add(codes, 1), 0).to_numpy(zero_copy_only=False)  # 0: unknown
            codes = codes if rows is None else codes[rows]
            if c.role == "one-hot":
                block = out[:, j : j + c.width]
                block[:] = 0
                block[np.arange(n), codes] = 1
                j += c.width
            else:
                out[:, k] = codes
                k += 1
        return out

    def describe(self) -> list[tuple[str, str, str]]:
        """(column, role, detail) rows for the table a run prints."""
        rows = []
        for c in self.columns:
            if c.role == "numeric":
                detail = f"standardised (mean {c.mean:.4g}, std {c.std:.4g})" + (", missing indicator" if c.missing else "")
            elif c.role == "one-hot":
                detail = f"{len(c.categories)} categories + unknown"
            else:
                detail = f"{len(c.categories)} categories + unknown, embedded in {embedding_dims(len(c.categories) + 1)}"
            rows.append((c.name, c.role, detail))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {"columns": [asdict(c) for c in self.columns],
                "target": asdict(self.target) if self.target is not None else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TablePreprocess":
        """Rebuild from `to_dict`'s data; keys it does not know (a newer zenlearn) are ignored."""
        def known(kind: type, values: dict[str, Any]) -> Any:
            return kind(**{k: v for k, v in values.items() if k in kind.__dataclass_fields__})

        target = d.get("target")
        return cls([known(ColumnPrep, c) for c in d["columns"]], known(TargetPrep, target) if target else None)


def describe_columns(prep: TablePreprocess) -> str:
    """The column roles as the short table a run prints: column, role, detail; the target last.

    Example:
        >>> prep = TablePreprocess([ColumnPrep("a", "numeric")], TargetPrep("y", "classification", ["n", "p"]))
        >>> print(describe_columns(prep))
        column  role            detail
        a       numeric         standardised (mean 0, std 1)
        y       target          classification, 2 classes
    """
    rows = prep.describe()
    t = prep.target
    if t is not None:
        what = f"{len(t.classes)} classes" if t.categorical else f"mean {t.mean:.4g}, std {t.std:.4g}"
        rows.append((t.name, "target", f"{t.task}, {what}"))
    width = max(len(r[0]) for r in [("column", "", ""), *rows])
    return "\n".join(f"{a:<{width}}  {b:<14}  {c}".rstrip() for a, b, c in [("column", "role", "detail"), *rows])
