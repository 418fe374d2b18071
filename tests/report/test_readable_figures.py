"""Issue 23 item 19: text in the figures is readable (cell text contrast, unclipped ticks, integer epochs and
trials, plain log labels, labelled augmentation rows). Each figure is captured before it is encoded."""

import numpy as np
import pytest
import torch

from zenlearn.report.plots import run as run_plots
from zenlearn.report.plots import study as study_plots
from zenlearn.report.plots.style import text_color


@pytest.fixture
def figures(monkeypatch):
    """The matplotlib figures the plot functions draw, instead of their PNG bytes."""
    made = []
    for module in (run_plots, study_plots):
        monkeypatch.setattr(module, "png", lambda fig: made.append(fig) or b"")
    return made


def drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def luminance(color):
    from matplotlib.colors import to_rgba

    r, g, b, _ = to_rgba(color)
    return 0.299 * r + 0.587 * g + 0.114 * b


def test_heat_map_text_contrasts_with_its_cell(figures):
    values = np.array([[0.9612, 0.9655, 0.9701], [0.9688, 0.9734, 0.9752], [0.9641, 0.9702, np.nan]])
    run_plots.heatmap(values, [1, 4, 20], [0.5, 0.7, 0.9], "validation accuracy", "alpha", "T", "accuracy")
    run_plots.confusion(np.array([[50, 2], [30, 40]]), ["a", "b"])
    for fig in figures:
        ax = fig.axes[0]
        im = ax.get_images()[0]
        data = im.get_array()
        assert ax.texts
        for t in ax.texts:
            j, i = (round(c) for c in t.get_position())
            cell = luminance(im.cmap(im.norm(data[i, j])))
            assert abs(luminance(t.get_color()) - cell) > 0.4, (t.get_text(), t.get_color())  # dark on light or back
    assert text_color((0.99, 0.91, 0.14, 1.0)) == "black"  # viridis' yellow


def study_rows():
    rng = np.random.default_rng(0)
    return [{"trial": t, "state": "pruned" if t % 4 == 3 else "complete", "value": float(rng.uniform(0.8, 0.97)),
             "lr": float(10 ** rng.uniform(-4, -0.5)),
             "optimizer": ["sgd", "momentum", "nesterov", "adagrad", "adam"][t % 5]} for t in range(7)]


def test_param_panels_tick_labels_are_neither_clipped_nor_overlapping(figures):
    study_plots.param_panels(study_rows(), ["lr", "optimizer"], "value", ["lr"])
    fig = figures[0]
    renderer = drawn(fig)
    page = fig.bbox
    for ax in fig.axes:
        lo, hi = sorted(ax.get_xlim())
        shown = [t for t in ax.get_xticklabels() if t.get_text() and lo <= t.get_position()[0] <= hi]  # drawn ones
        boxes = [t.get_window_extent(renderer) for t in shown]
        assert boxes
        for b in boxes:
            assert page.x0 <= b.x0 and b.x1 <= page.x1 and page.y0 <= b.y0, "a tick label is cut off"
        for t, a, b in zip(shown, boxes, boxes[1:]):
            angle = np.radians(t.get_rotation())
            if angle:  # tilted lines of text, anchored at their right ends: apart by more than a line's height
                height = t.get_fontsize() * fig.dpi / 72
                assert (b.x1 - a.x1) * np.sin(angle) > height, "tick labels overlap"
            else:
                assert not a.overlaps(b), "tick labels overlap"
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert "momentum" in labels
    log_labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert log_labels and not any("$" in t or "×" in t or "^" in t for t in log_labels), log_labels  # plain


def test_trial_and_epoch_axes_have_integer_ticks_and_log_axes_plain_labels(figures):
    study_plots.history(study_rows(), "value", True)
    epochs = list(range(1, 31))
    loss = [2.0 * 0.85 ** e for e in epochs]
    run_plots.curves(epochs, {"loss": loss}, "Loss", "loss", log=True)
    for fig in figures:
        drawn(fig)
        ticks = [t for t in fig.axes[0].get_xticks() if fig.axes[0].get_xlim()[0] <= t <= fig.axes[0].get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    ax = figures[1].axes[0]
    y_labels = [t.get_text() for t in ax.get_yticklabels(minor=False) + ax.get_yticklabels(minor=True) if t.get_text()]
    assert y_labels and all(t.replace(".", "").replace("−", "").isdigit() for t in y_labels), y_labels


def test_augmentation_preview_labels_its_rows():
    from zenlearn.report.preview import image_grid

    x = torch.zeros(4, 1, 16, 16)
    plain = image_grid([x, x])
    labelled = image_grid([x, x], labels=["original", "augmented 1"])
    assert labelled.shape[0] == plain.shape[0] and labelled.shape[1] > plain.shape[1]
    band = labelled[:, : labelled.shape[1] - plain.shape[1]]  # the label band on the left
    half = labelled.shape[0] // 2
    assert (band[:half] < 100).any() and (band[half:] < 100).any()  # text in each row's band
    assert (labelled[:, band.shape[1]:] == plain).all()
