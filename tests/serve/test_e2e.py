"""End to end in headless Chromium: launch a small run from the form, watch its curve gain points, stop it,
see "stopped — resume", resume it to the end, run it again with changes and compare the two."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

DOCS_IMG = Path(__file__).parents[2] / "docs" / "img"
EPOCHS = 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, data_dir):
    root, port = tmp_path / "runs", _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-m", "zenlearn", "serve", str(root), "--port", str(port), "--max-jobs", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url = None
        while url is None:
            line = p.stdout.readline()
            assert line, "the server exited before printing its URL"
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line)
            url = m.group(1) if m else None
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        yield url, root
    finally:
        p.terminate()
        p.wait(30)


def _until(page, expr: str, timeout: float = 120.0) -> None:
    """Poll a JavaScript expression until it is true (the page's CSP forbids playwright's eval-based waits)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expr):
        assert time.monotonic() < deadline, expr
        time.sleep(0.1)


def _wait_state(page, root: Path, run: str, state: str, timeout: float = 300.0) -> None:
    """Wait for the run page to show `state`; on a timeout, say what the run folder says."""
    deadline = time.monotonic() + timeout
    while page.get_attribute("#state", "data-state") != state:
        if time.monotonic() > deadline:
            folder = root / run
            log = (folder / "output.log").read_text()[-2000:] if (folder / "output.log").exists() else ""
            state_file = (folder / "state.json").read_text() if (folder / "state.json").exists() else ""
            pytest.fail(f"{run}: page shows {page.get_attribute('#state', 'data-state')!r}, not {state!r}; "
                        f"state.json {state_file}; output.log ...{log}")
        time.sleep(0.1)


def _content(shot: Path, box: dict | None = None) -> int:
    """Distinct colours in the screenshot (or a box of it): a blank or unstyled page has only a few."""
    from PIL import Image

    im = Image.open(shot).convert("RGB")
    if box:
        im = im.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"])))
    return len(im.getcolors(maxcolors=1 << 20) or [])


@pytest.mark.needs("chromium")
def test_launch_watch_stop_resume_compare(server, tmp_path, chromium):
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
    url, root = server
    errors: list[str] = []
    shots = {}

    def shot(page, name, selector):
        path = tmp_path / f"serve-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots[name] = path
        box = page.locator(selector).first.bounding_box()
        assert box and _content(path, box) > 20, (name, selector)  # the element drawn, not an empty box
        return path

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 400" not in m.text
                    else None)  # the bad form below is a 400 on purpose
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not (
                r.status == 400 and r.url.endswith("/api/launch")) else None)
            page.on("request", lambda r: errors.append(f"outside request {r.url}")
                    if not r.url.startswith(url.split("/?")[0]) else None)
            page.goto(url)  # the printed URL: its token becomes a same-site cookie
            page.click("text=New run")
            page.wait_for_selector("#f-model")
            for name, value in {"out": "first", "data": "mnist1d", "model": "mlp", "hidden": "16",
                                "epochs": str(EPOCHS), "train_subset": "400", "batch_size": "10"}.items():
                page.fill(f"#f-{name}", value)
            page.uncheck("#f-report")
            page.fill("#f-lr", "-1")  # first a bad value: the CLI's message beside the field, nothing launched
            page.click("#submit")
            _until(page, "document.querySelector('#e-lr').textContent.includes('lr must be > 0')")
            assert not (root / "first").exists()
            page.fill("#f-lr", "")
            page.click("#submit")
            page.wait_for_url(re.compile(r"/run\?path=first"))

            _until(page, "Number(document.querySelector('#curves').dataset.points) > 0", timeout=120)
            first = int(page.get_attribute("#curves", "data-points"))
            _until(page, f"Number(document.querySelector('#curves').dataset.points) > {first}",
                                   timeout=120)
            assert page.locator("#curves canvas").count() >= 2  # loss and accuracy (and lr) charts
            shot(page, "run-live", "#curves")

            page.click("#stop")
            _wait_state(page, root, "first", "stopped", 120)
            assert page.inner_text("#state") == "stopped — resume"
            stopped_at = int(page.get_attribute("#curves", "data-points"))
            shot(page, "run-stopped", "#state")

            page.click("#resume")
            _wait_state(page, root, "first", "finished")
            _until(page, "document.querySelector('#summary').textContent.includes('test accuracy')")
            assert int(page.get_attribute("#curves", "data-points")) > stopped_at
            last = page.evaluate("Math.max(...[...document.querySelectorAll('#curves .chart')].map("
                                 "c => Number(c.dataset.points)))")
            assert last > 0
            shot(page, "run-finished", "#curves")

            page.click("#again")  # run again with changes: the form filled from config.yaml
            _until(page, "document.querySelector('#f-epochs')?.value === '%d'" % EPOCHS)
            assert page.input_value("#f-model") == "mlp" and not page.is_checked("#f-report")
            page.fill("#f-out", "second")
            page.fill("#f-epochs", "3")
            page.fill("#f-seed", "1")
            page.click("#submit")
            page.wait_for_url(re.compile(r"/run\?path=second"))
            _wait_state(page, root, "second", "finished")

            page.goto(url.split("?")[0])
            page.wait_for_selector("tr[data-path=second][data-state=finished]")
            assert page.locator("tr[data-path=first] td.state").inner_text() == "finished"
            shot(page, "runs", "#runs")
            page.fill("#filter", "second")  # filter, then sort by epochs
            _until(page, "document.querySelectorAll('#runs tbody tr').length === 1")
            page.fill("#filter", "")
            page.click("th[data-key=epochs]")
            _until(page, "[...document.querySelectorAll('#runs tbody tr')].map(r => r.dataset.path).join() === 'second,first'")
            page.click("th[data-key=epochs]")
            _until(page, "[...document.querySelectorAll('#runs tbody tr')].map(r => r.dataset.path).join() === 'first,second'")
            page.check("tr[data-path=first] input[type=checkbox]")
            page.check("tr[data-path=second] input[type=checkbox]")
            page.click("#compare")
            page.wait_for_url(re.compile(r"/compare\?runs="))
            page.wait_for_selector("#differs td")
            differs = page.inner_text("#differs")
            assert "seed" in differs and "epochs" in differs
            _until(page, "[...document.querySelectorAll('#curves .chart')].length >= 2")
            _until(page, "document.querySelector('.chart[data-metric=loss]') && "
                                   "document.querySelectorAll('.chart[data-metric=loss] .u-legend .u-series').length >= 5")
            shot(page, "compare", "#curves")

            page.goto(f"{url.split('?')[0]}launch")
            page.wait_for_selector("#f-model")
            shot(page, "launch", "#form")
        finally:
            browser.close()
    assert errors == []
    if os.environ.get("ZENLEARN_WRITE_DOCS") == "1":  # refresh the README's screenshots
        DOCS_IMG.mkdir(exist_ok=True)
        for name, path in shots.items():
            shutil.copy(path, DOCS_IMG / f"serve-{name}.png")
