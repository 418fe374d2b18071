"""Reading a table: CSV / TSV / Parquet with pyarrow (typed, multi-threaded), arrays from `.npz`, and the
tables bundled in scikit-learn's wheel, each returned as one `pyarrow.Table` or refused in one line.

No parser is written here: pyarrow reads the files and infers the column types; this module only turns its
exceptions into zenlearn's one-line errors and refuses what a table dataset cannot hold (nested columns,
no rows, an npz without `x` / `y`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from zenlearn.errors import UsageError

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
SKLEARN_TABLES = {
    "breast_cancer": "load_breast_cancer",
    "wine": "load_wine",
    "digits": "load_digits",
    "iris": "load_iris",
    "diabetes": "load_diabetes",
}
"""`--data sklearn:NAME`: the tables in scikit-learn's wheel (read offline) and their loader functions."""
STREAM_ABOVE = 256 << 20
"""CSV files larger than this (bytes) are read in 16 MB blocks: pyarrow's whole-file read peaks near 9x the
float32 feature matrix on a 1 GB file, the block reader near 3.5x, at about 1.3x its time (docs/benchmarks.md)."""


def _pyarrow() -> Any:
    try:
        import pyarrow  # noqa: F401  (the optional dependency of every table dataset)
    except ImportError:
        raise UsageError("tables need pyarrow: pip install 'zenlearn[tables]'") from None
    import pyarrow as pa

    return pa


def read_table(path: str | Path, where: str | None = None, *, keep_float64: str | None = None) -> Any:
    """The rows of a `.csv`, `.tsv` or `.parquet` file as a `pyarrow.Table` (empty CSV cells are nulls).

    A CSV's columns of floats are read as float32, the precision the model gets, which halves the table's
    memory; the column `keep_float64` (the target; default: the last column) stays float64.

    Args:
        path: The file.
        where: How errors name it. Defaults to "--data table:PATH".
        keep_float64: A float column to read at full precision. Defaults to the last column.

    Example:
        >>> from zenlearn.io.atomic import write_text
        >>> write_text(tmp / "t.csv", "a,b,y\\n1.5,x,1\\n2,,0\\n")
        >>> t = read_table(tmp / "t.csv")
        >>> t.num_rows, str(t.schema.field("a").type), t.column("b").to_pylist()
        (2, 'float', ['x', None])
    """
    pa = _pyarrow()
    path = Path(path)
    where = where or f"--data table:{path}"
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise UsageError(f"{where}: expected a {', '.join(TABLE_SUFFIXES)} file, got "
                         f"{suffix or 'no suffix'}; convert it to CSV or Parquet")
    if not path.is_file():
        raise UsageError(f"{where}: file not found")
    names: list[str] = []
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return check_table(pq.read_table(path), where)
        import pyarrow.csv as pcsv

        parse = pcsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
        convert = pcsv.ConvertOptions(strings_can_be_null=True)
        with pcsv.open_csv(path, parse_options=parse, convert_options=convert) as head:  # types of the first block
            names = head.schema.names
            keep = keep_float64 or names[-1]
            convert.column_types = {f.name: pa.float32() for f in head.schema
                                    if pa.types.is_float64(f.type) and f.name != keep}
        if path.stat().st_size > STREAM_ABOVE:  # big: block by block, so no whole-file parse buffers at once
            with pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=16 << 20), parse_options=parse,
                               convert_options=convert) as reader:
                table = pa.Table.from_batches(list(reader), schema=reader.schema)
        else:
            table = pcsv.read_csv(path, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as e:
        raise UsageError(f"{where}: {_arrow_problem(str(e).splitlines()[0], names)}") from None
    except OSError as e:
        raise UsageError(f"{where}: cannot read it ({str(e).splitlines()[0]})") from None
    return check_table(table, where)


def _arrow_problem(msg: str, names: list[str]) -> str:
    """pyarrow's parse error as what is wrong and the fix."""
    msg = msg.removeprefix("CSV parse error: ")
    if "Empty CSV file" in msg:
        return "the file is empty; it needs a header row and data rows"
    if "Expected" in msg and "columns" in msg:
        return f"rows of different lengths ({msg}); every row needs one value per header column"
    m = re.search(r"column #(\d+).*conversion error to (\w+): invalid value '([^']*)'", msg)
    if m and int(m.group(1)) < len(names):
        col = names[int(m.group(1))]
        return (f"column {col!r} mixes numbers and text ({m.group(3)!r} among {m.group(2)} values); fix those "
                f"cells, or pass --categorical {col} or --drop {col}")
    return f"not a readable table ({msg})"


def check_table(table: Any, where: str) -> Any:
    """Refuse a table without rows or with nested (list / struct / map) columns; return it."""
    import pyarrow.types as pat

    nested = [f.name for f in table.schema if pat.is_nested(f.type)]
    if nested:
        raise UsageError(f"{where}: nested column(s) {', '.join(map(repr, nested))} "
                         f"({table.schema.field(nested[0]).type}); flatten them into plain columns, or pass "
                         f"--drop {','.join(nested)}")
    if table.num_rows == 0:
        raise UsageError(f"{where}: the table has a header but no rows; add data rows")
    return table


def arrays_table(x: np.ndarray, y: np.ndarray, where: str, feature_names: list[str] | None = None,
                 target: str = "y") -> Any:
    """A `pyarrow.Table` of the columns of a 2-D `x` (x0, x1, … unless named) and the target `y` (zero copy
    where numpy allows)."""
    pa = _pyarrow()
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise UsageError(f"{where}: expected x of shape (rows, features) and y of shape (rows,), got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    names = feature_names or [f"x{i}" for i in range(x.shape[1])]
    cols = [pa.array(np.ascontiguousarray(x[:, i])) for i in range(x.shape[1])]
    return check_table(pa.table(cols + [pa.array(y)], names=[*names, target]), where)


def read_npz(path: str | Path, where: str | None = None) -> tuple[Any, Any | None]:
    """The (train, test) tables of an `.npz` holding `x` and `y` (and optionally `x_test` / `y_test`); `where`
    names it in errors (default: "--data npz:PATH")."""
    path = Path(path)
    where = where or f"--data npz:{path}"
    if not path.is_file():
        raise UsageError(f"{where}: file not found")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (ValueError, OSError) as e:
        raise UsageError(f"{where}: not a readable .npz archive ({e})") from None
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise UsageError(f"{where}: no array {' or '.join(map(repr, missing))} in the archive (it holds "
                         f"{', '.join(sorted(arrays)) or 'nothing'}); save it with np.savez(path, x=X, y=Y)")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise UsageError(f"{where}: x_test and y_test come together; the archive holds only one")
    train = arrays_table(arrays["x"], arrays["y"], where)
    test = arrays_table(arrays["x_test"], arrays["y_test"], where) if "x_test" in arrays else None
    return train, test


def read_sklearn(name: str) -> Any:
    """scikit-learn's bundled table `name` (see `SKLEARN_TABLES`) with its feature names, target "target"
    (class names for a classification); read from the wheel, offline."""
    if name not in SKLEARN_TABLES:
        raise UsageError(f"--data sklearn:{name}: unknown table {name!r}; choose one of: "
                         f"{', '.join(SKLEARN_TABLES)}")
    try:
        import sklearn.datasets as skd
    except ImportError:
        raise UsageError("--data sklearn:NAME needs scikit-learn: pip install 'zenlearn[tables]'") from None
    bunch = getattr(skd, SKLEARN_TABLES[name])()
    y = bunch.target
    if "target_names" in bunch:  # classification: the class names as labels
        y = np.asarray(bunch.target_names)[y].astype(str)
    names = [str(n) for n in bunch.feature_names]
    return arrays_table(np.asarray(bunch.data, dtype=np.float64), y, f"--data sklearn:{name}", names, "target")
