"""The one figure style of every zenlearn plot: matplotlib's object API (a `Figure` on the Agg canvas, no
pyplot state, no display, safe in threads and notebooks), constrained layout, one DPI, one palette.

matplotlib is imported when the first figure is drawn, so importing a report module stays cheap.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

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


def integer_ticks(ax: Any, axis: str = "x") -> None:
    """Whole-number ticks only (epochs, trials): no "2.5" epoch between two real ones."""
    from matplotlib.ticker import MaxNLocator

    getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))


def log_scale(ax: Any, axis: str = "y") -> None:
    """A log axis whose labels are plain numbers ("0.2", "1", "30"), never "2×10⁰" or "10⁻¹" (matplotlib's
    own choice of which ticks to label, in plain text).

    Example:
        >>> ax = figure(2, 2).subplots(); _ = ax.plot([1, 2], [0.1, 3]); log_scale(ax)
        >>> type(ax.yaxis.get_major_formatter()).__name__, type(ax.yaxis.get_minor_formatter()).__name__
        ('Plain', 'Plain')
    """
    from matplotlib.ticker import LogFormatter

    class Plain(LogFormatter):
        def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:  # "0.2", not "2e-01"
            return f"{x:g}"

    getattr(ax, f"set_{axis}scale")("log")
    axis_obj = getattr(ax, f"{axis}axis")
    axis_obj.set_major_formatter(Plain())
    axis_obj.set_minor_formatter(Plain(labelOnlyBase=False))


def text_color(rgba: Sequence[float]) -> str:
    """Black or white: whichever reads better on a cell of colour `rgba` (its perceived brightness).

    Example:
        >>> text_color((0.99, 0.91, 0.14, 1.0)), text_color((0.27, 0.0, 0.33, 1.0))  # viridis' yellow, purple
        ('black', 'white')
    """
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
