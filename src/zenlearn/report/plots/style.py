"""The one figure style of every zenlearn plot: matplotlib's object API (a `Figure` on the Agg canvas, no
pyplot state, no display, safe in threads and notebooks), constrained layout, one DPI, one palette.

matplotlib is imported when the first figure is drawn, so importing a report module stays cheap.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from zenlearn.io.atomic import write_bytes

DPI = 100
"""Every PNG zenlearn writes, in reports, comparison folders and docs/results/."""


def figure(width: float, height: float, *, layout: str = "constrained") -> Any:
    """A new `Figure` of `width` × `height` inches on the Agg canvas.

    Args:
        width: Inches.
        height: Inches.
        layout: matplotlib layout engine: "constrained", or "tight" for grids of small image panels (where
            constrained layout gives up). Defaults to "constrained".

    Example:
        >>> figure(4, 3).get_size_inches().tolist()
        [4.0, 3.0]
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png(fig: Any) -> bytes:
    """The figure encoded as PNG bytes.

    Example:
        >>> png(figure(1, 1))[:4]
        b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def save(fig: Any, path: str | Path) -> Path:
    """Write the figure as a PNG file, atomically; returns the path."""
    write_bytes(path, png(fig))
    return Path(path)


def colors(n: int) -> list[Any]:
    """`n` distinct line colours (tab10, tab20 beyond ten).

    Example:
        >>> len(colors(3))
        3
    """
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def label(col: str) -> str:
    """A metrics column as axis text: "val_accuracy" → "validation accuracy".

    Example:
        >>> label("val_loss")
        'validation loss'
    """
    return col.replace("val_", "validation ").replace("_", " ")


def short(text: str, width: int = 44) -> str:
    """`text` cut in the middle to at most `width` characters (long variant names as tick and legend labels;
    the full names are in the tables beside the plots).

    Example:
        >>> short("augment=rotation_range=45,width_shift_range=0.2,horizontal_flip=true", 30)
        'augment=rotatio…ntal_flip=true'
    """
    if len(text) <= width:
        return text
    head = (width - 1) // 2 + (width - 1) % 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]
