"""End to end in headless Chromium: the Lab race. An optimizer race (SGD, Momentum, Adam) on mnist1d draws three
growing curves and is saved as a comparison; bad lanes are one message in the page and start nothing; two
identical lanes draw identical curves, point for point; a spiral race of ReLU against Sigmoid streams two
boundary heat maps that change, and a rewind brings back the first image byte for byte."""

import os
import shutil
import time
from urllib.parse import quote

import pytest
from test_e2e import DOCS_IMG, _content, server  # noqa: F401  (the fixture: `zenlearn serve` in its own process)

SMALL = "model=mlp&hidden=32&train_subset=512&batch_size=32&threads=1"


def _lanes(*texts: str) -> str:
    return "".join(f"&lane={quote(t)}" for t in texts)


def _until(page, expr: str, timeout: float = 120.0) -> None:
    """Poll a JavaScript expression until it is true (the CSP forbids playwright's eval-based waits)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expr):
        assert time.monotonic() < deadline, (expr, page.text_content("#error"), page.text_content("#reason"))
        time.sleep(0.1)


def _shot(page, tmp_path, name: str, selector: str) -> None:
    path = tmp_path / f"lab-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    box = page.locator(selector).first.bounding_box()
    assert box and _content(path, box) > 20, (name, selector)  # drawn, not an empty box
    if os.environ.get("ZENLEARN_WRITE_DOCS") == "1":
        shutil.copy(path, DOCS_IMG / f"{path.stem}.png")


SEEN = ("window.seen = []; new MutationObserver(() => window.seen.push(Number(document.querySelector('#curves')"
        ".dataset.points))).observe(document.querySelector('#curves'), {attributes: true, attributeFilter: "
        "['data-points']})")
"""Record every point count the page draws (the page's own redraws, however fast the race runs)."""


def _start(page, base: str, query: str) -> None:
    page.goto(f"{base}/lab?{query}")
    page.wait_for_selector("#f-data")
    page.evaluate(SEEN)
    page.click("#start")
    _until(page, "document.querySelector('#state').dataset.state === 'running'")


@pytest.mark.needs("chromium")
def test_lab_race(server, tmp_path, chromium):  # noqa: F811
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
    url, root = server
    base = url.split("/?")[0]
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 400" not in m.text
                    else None)
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not (
                r.status == 400 and r.url.endswith("/api/lab/race")) else None)
            page.on("request", lambda r: errors.append(f"outside request {r.url}") if not r.url.startswith(base) and
                    not r.url.startswith("data:") else None)
            page.goto(url)  # the printed URL: its token becomes a same-site cookie

            # bad lanes: the server's one line in the page, and nothing started
            page.goto(f"{base}/lab?data=mnist1d&{SMALL}&epochs=2" + _lanes("optimizer=sgd", "optimizer=rmsprob"))
            page.wait_for_selector("#f-data")
            page.click("#start")
            _until(page, "document.querySelector('#error').textContent.includes(\"unknown optimizer 'rmsprob'\")")
            page.fill(".lane-row[data-lane='0'] input[data-key=lr]", "0")
            page.dispatch_event(".lane-row[data-lane='0'] input[data-key=lr]", "change")
            for _ in range(5):
                page.click("#add-lane")
            page.click("#start")
            _until(page, "document.querySelector('#error').textContent.includes('a race has 2 to 6 lanes, got 7')")
            assert list(root.iterdir()) == []

            # SGD, Momentum and Adam on mnist1d: three growing curves, then a comparison folder
            query = f"data=mnist1d&{SMALL.replace('512', '3600')}&epochs=6" + _lanes("optimizer=sgd lr=0.1", "optimizer=momentum", "optimizer=adam")
            _start(page, base, query)
            assert "lane=optimizer%3Dsgd+lr%3D0.1" in page.url and "race=" in page.url  # every setting in the URL
            _until(page, "(window.lab.points.get('loss') || new Map()).size >= 3")
            _until(page, "document.querySelector('#state').dataset.state === 'finished'")
            seen = [n for n in page.evaluate("window.seen") if n > 0]  # drawn while the lanes trained: growing
            assert len(set(seen)) >= 2 and seen == sorted(seen), seen
            train = page.evaluate("[0, 1, 2].map(i => window.lab.curve(i, 'loss').length)")
            assert min(train) >= 8 and page.evaluate("window.lab.curve(0, 'loss', 'val').length") == 6
            _until(page, "document.querySelectorAll('#results tr').length === 4")
            assert page.locator("#curves .chart").count() >= 2  # loss and accuracy, train and val
            points = page.get_attribute("#curves", "data-points")
            page.check("input[name=xaxis][value=wall]")  # the same points against wall time
            _until(page, "document.querySelector('.chart[data-metric=loss]').dataset.x === 'wall'")
            assert page.get_attribute("#curves", "data-points") == points
            page.check("input[name=xaxis][value=step]")
            page.click("#cli")
            cli = page.text_content("#cli-text")
            assert "zenlearn compare --data mnist1d" in cli and "--variant 'optimizer=sgd lr=0.1'" in cli
            _shot(page, tmp_path, "race", "#curves")
            race = page.url.split("race=")[1]
            assert (root / race / "compare.json").is_file() and (root / race / "results.csv").is_file()

            # two identical lanes: identical curves, point for point
            _start(page, base, f"data=mnist1d&{SMALL}&epochs=2" + _lanes("optimizer=adam", "optimizer=adam"))
            _until(page, "document.querySelector('#state').dataset.state === 'finished'")
            a, b = page.evaluate("[0, 1].map(i => [window.lab.curve(i, 'loss'), window.lab.curve(i, 'accuracy', 'val')])")
            assert a == b and len(a[0]) >= 4 and len(a[1]) == 2

            # spiral, ReLU against Sigmoid: two boundary maps that change; a rewind brings back the first, byte for byte
            _start(page, base, "data=spiral&model=mlp&hidden=24,24&lr=0.02&batch_size=16&epochs=400&threads=1"
                   + _lanes("activation=relu", "activation=sigmoid"))
            frames = "window.lab.frames.map(f => new Set(f.map(x => x.png)).size)"
            _until(page, f"{frames}.length === 2 && Math.min(...{frames}) >= 3", timeout=180)
            assert page.locator("img.boundary").count() == 2
            _shot(page, tmp_path, "boundaries", "#boundaries")
            page.click(".lane-card[data-lane='1'] button[data-act=rewind]")
            _until(page, "window.lab.frames[1].some(f => f.reason === 'rewind')")
            assert page.evaluate("window.lab.frames[1].find(f => f.reason === 'rewind').png === window.lab.frames[1][0].png")
            page.fill("#lr-0", "0.01")
            page.click(".lane-card[data-lane='0'] button[data-act=lr]")
            _until(page, "document.querySelector('#lane-change-0').textContent.includes('→ 0.0100 at step')")
            page.click("#stop-race")
            _until(page, "document.querySelector('#state').dataset.state === 'stopped'", timeout=60)
            _until(page, "document.querySelectorAll('#results tr').length === 3")
        finally:
            browser.close()
    assert errors == []
