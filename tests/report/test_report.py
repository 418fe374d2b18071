"""report.html: content, self-containment, rendering in headless Chromium; `zenlearn report` and `zenlearn runs`."""

import base64
import re
import shutil
import struct

import pytest

from zenlearn.cli.main import main
from zenlearn.report.build import REPORT_FILE, detect_kind, write_report
from zenlearn.report.runs import list_runs


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_report_holds_every_section_and_is_self_contained(mlp_run):
    text = (mlp_run / REPORT_FILE).read_text()
    for sid in ("summary", "curves", "errors", "dataset", "model", "timing", "config", "environment"):
        assert f'<section id="{sid}">' in text, sid
    for needle in ("Test accuracy", "Confusion matrix", "Most-confused pairs", "Worst-classified test samples",
                   "net.1", "samples/s", "torch", "Samples per class", "Per epoch (metrics.csv)"):
        assert needle in text, needle
    # Nothing is loaded from outside the file: every image is an embedded PNG, no URL anywhere in src/href.
    assert not re.search(r'(src|href)="(?!data:image/png;base64,)', text)
    assert "default-src 'none'" in text
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(pngs) >= 5  # loss, accuracy, lr, confusion matrix, worst samples
    assert all(min(_png_size(base64.b64decode(p))) > 50 for p in pngs)


def test_report_param_table_matches_model(mlp_run):
    from zenlearn.training.build import load_run

    _, _, trainer = load_run(mlp_run)
    text = (mlp_run / REPORT_FILE).read_text()
    total = sum(p.numel() for p in trainer.model.parameters())
    assert f"{total:,} parameters" in text and "25,120" in text  # 784*32 + 32 in net.1


def render(html_file, tmp_path, chromium):
    """Open `html_file` in headless Chromium: ([complete, naturalWidth, alt] per <img>, errors, title, screenshot)."""
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(html_file.as_uri(), wait_until="load")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])")
            title = page.title()
            shot = tmp_path / (html_file.parent.name + "-screenshot.png")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return images, errors, title, shot


@pytest.mark.needs("chromium")
def test_report_renders_in_headless_chromium(mlp_run, tmp_path, chromium):
    images, errors, title, shot = render(mlp_run / REPORT_FILE, tmp_path, chromium)
    assert errors == []
    assert len(images) >= 5 and all(done and w > 0 for done, w, _ in images), images
    assert "mlp on mnist" in title
    w, h = _png_size(shot.read_bytes())
    assert w == 1280 and h > 2000  # the whole page, not just the first screen
    shutil.copy(shot, mlp_run.parent / "report-screenshot.png")  # kept beside the run for a human look


@pytest.mark.needs("chromium")
def test_comparison_report(tmp_path, data_dir, chromium):
    from zenlearn import TrainConfig
    from zenlearn.workflows.compare import run_compare

    base = TrainConfig(data="mnist", model="mlp", hidden=(16,), epochs=2, train_subset=300, report=False)
    res = run_compare(base, {"optimizer": ["sgd", "adam"]}, seeds=2, out=tmp_path / "cmp", verbose=False)
    path = write_report(res.out)
    assert detect_kind(res.out) == "comparison"
    text = path.read_text()
    assert "2</b> variants × <b>2</b> seeds of <b>mlp</b> on <b>mnist</b>, varying optimizer" in text
    assert f"★ optimizer={res.best.split('=')[1]}" in text and "± " in text
    assert text.count("<tr>") >= 1 + 2 + 1 + 4  # header+2 variants, header+4 runs
    images, errors, title, shot = render(path, tmp_path, chromium)
    assert errors == [] and len(images) >= 2 and all(done and w > 0 for done, w, _ in images), images
    assert "comparison" in title
    shutil.copy(shot, res.out / "report-screenshot.png")


def test_report_command_rebuilds(mlp_run, tmp_path, capsys):
    run = tmp_path / "copy"
    shutil.copytree(mlp_run, run)
    (run / REPORT_FILE).unlink()
    assert main(["report", str(run)]) == 0
    assert f"wrote {run / REPORT_FILE}" in capsys.readouterr().out
    assert "Worst-classified test samples" in (run / REPORT_FILE).read_text()


def test_report_without_model_says_why(mlp_run, tmp_path):
    run = tmp_path / "broken"
    shutil.copytree(mlp_run, run)
    (run / "model.safetensors").unlink()
    text = write_report(run).read_text()
    assert "test predictions unavailable" in text and "model.safetensors" in text
    assert "Training curves" in text  # what can be shown still is


@pytest.mark.parametrize("files,kind", [
    ({"results.csv": "variant,seed\n", "summary.csv": "variant\n"}, "comparison"),
    ({"summary.json": '{"teacher": {}, "student_scratch": {}, "student_distilled": {}}'}, "distillation"),
])
def test_folder_kind_is_detected_from_files(tmp_path, files, kind):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert detect_kind(tmp_path) == kind


def test_report_of_a_non_result_folder_is_one_line_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "does not look like a zenlearn result folder" in err and len(err.strip().splitlines()) == 1


def test_runs_lists_newest_first(mlp_run, tmp_path, capsys):
    import os

    old, new = tmp_path / "a-old", tmp_path / "b-new"
    shutil.copytree(mlp_run, old)
    shutil.copytree(mlp_run, new)
    for f in old.iterdir():
        os.utime(f, (1_000_000_000, 1_000_000_000))
    rows = list_runs(tmp_path)
    assert [r["path"] for r in rows] == [str(new), str(old)]
    assert rows[0]["metric"] == "accuracy" and 0.5 < rows[0]["test"] <= 1 and rows[0]["epochs"] == 2
    assert main(["runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["modified", "kind", "data"]
    assert str(new) in out[1] and str(old) in out[2] and "accuracy 0." in out[1]
    assert main(["runs", str(tmp_path / "nope")]) == 2


@pytest.mark.needs("chromium")
def test_distillation_report(tmp_path, data_dir, chromium):
    from zenlearn import TrainConfig, train_run
    from zenlearn.distill.methods import DistillConfig
    from zenlearn.workflows.distill import distill_run

    teacher = tmp_path / "teacher"
    train_run(TrainConfig(data="mnist", model="mlp", hidden=(48,), epochs=1, train_subset=1000, report=False,
                          out=str(teacher)), verbose=False)
    student = TrainConfig(data="mnist", model="mlp", hidden=(8,), epochs=1, train_subset=1000, out=str(tmp_path / "kd"))
    s = distill_run(student, DistillConfig(teacher=str(teacher)), sweep={"temperature": (1.0, 4.0), "alpha": (0.5, 0.9)},
                    verbose=False)
    folder = tmp_path / "kd"
    assert detect_kind(folder) == "distillation"
    text = (folder / REPORT_FILE).read_text()  # written by distill_run itself
    gap = s["student_scratch"]["test"]["errors"] - s["student_distilled"]["test"]["errors"]
    assert "<b>mlp (8)</b> student" in text and "<b>mlp (48)</b> teacher" in text
    assert (f"removed {gap:,} test errors" if gap > 0 else f"added {-gap:,} test errors" if gap < 0 else "no change") in text
    assert "Temperature × alpha sweep" in text and text.count("% ★") == 1
    images, errors, title, shot = render(folder / REPORT_FILE, tmp_path, chromium)
    assert errors == [] and len(images) >= 4 and all(done and w > 0 for done, w, _ in images), images
    assert "distillation" in title
    shutil.copy(shot, folder / "report-screenshot.png")


def test_regression_report_plots_predictions_against_targets(tmp_path, data_dir):
    from zenlearn import TrainConfig, train_run

    out = tmp_path / "sine"
    train_run(TrainConfig(data="sine", model="lstm", hidden_size=16, head="step", epochs=1, train_subset=500,
                          threads=1, out=str(out)), verbose=False)
    text = (out / REPORT_FILE).read_text()
    errors = text.split('<section id="errors">')[1].split("</section>")[0]
    for needle in ("Predicted vs true, every test output", "target (solid) and prediction (dashed) per step",
                   "Largest-error test samples (inputs)"):
        assert needle in errors, needle
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', errors)
    assert len(pngs) == 3 and all(min(_png_size(base64.b64decode(p))) > 50 for p in pngs)


def test_pred_vs_target_keeps_at_most_max_points():
    import numpy as np

    from zenlearn.report.plots import run as plots

    t = np.linspace(0, 1, 20000)
    png = plots.pred_vs_target(t, t + 0.01, max_points=100)
    assert min(_png_size(png)) > 50
