"""End to end in headless Chromium: the augmentation preview is the same image for the same URL (and a bad
setting or a non-image upload is one message in the page), and the activation explorer draws its curves."""

import base64
import os
import shutil
import time

import pytest
from test_e2e import DOCS_IMG, _content, server  # noqa: F401  (the fixture: `zenlearn serve` in its own process)

AUGMENT = "/lab/augment?data=mnist&preset=mnist&rotation_range=40&horizontal_flip=1&seed=5&samples=6&rows=2"


def _wait(page, selector: str, attribute: str, done: tuple[str, ...], timeout: float = 60.0) -> str:
    """Poll an attribute until it has one of the `done` values (the CSP forbids playwright's eval-based waits)."""
    deadline = time.monotonic() + timeout
    while (value := page.get_attribute(selector, attribute)) not in done:
        assert time.monotonic() < deadline, (selector, attribute, value, page.text_content("#error"))
        time.sleep(0.1)
    return value


def _shot(page, tmp_path, name: str, selector: str) -> None:
    path = tmp_path / f"lab-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    box = page.locator(selector).first.bounding_box()
    assert box and _content(path, box) > 20, (name, selector)  # drawn, not an empty box
    if os.environ.get("ZENLEARN_WRITE_DOCS") == "1" and name != "gradients":  # the README's screenshots (one a page)
        shutil.copy(path, DOCS_IMG / f"{path.stem}.png")


@pytest.mark.needs("chromium")
def test_augment_preview_same_url_same_image_and_activation_curves(server, tmp_path, chromium):  # noqa: F811
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
    url, root = server
    base = url.split("/?")[0]
    errors: list[str] = []
    expected_400 = ("fill_mode=mirror", "/api/lab/upload")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 400" not in m.text
                    else None)
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not any(
                e in r.url for e in expected_400) else None)
            page.on("request", lambda r: errors.append(f"outside request {r.url}") if not r.url.startswith(base) and
                    not r.url.startswith("data:") else None)
            page.goto(url)  # the printed URL: its token becomes a same-site cookie (needed by the upload)

            images = []
            for _ in range(2):  # the same URL twice, a fresh page load each time
                page.goto(base + AUGMENT)
                assert _wait(page, "#grid", "data-state", ("ready", "error")) == "ready"
                images.append(page.get_attribute("#grid", "src"))
            assert images[0] == images[1] and images[0].startswith("data:image/png;base64,")
            png = page.request.get(base + "/api/lab/augment.png?" + AUGMENT.split("?", 1)[1]).body()
            assert base64.b64decode(images[0].split(",", 1)[1]) == png  # the page shows the API's very bytes
            assert "ms per batch of 64" in page.text_content("#timing")
            _shot(page, tmp_path, "augment", "#grid")

            page.goto(base + AUGMENT + "&fill_mode=mirror")  # a bad setting: one line in the page, no image
            assert _wait(page, "#grid", "data-state", ("ready", "error")) == "error"
            assert "fill_mode: expected one of constant, nearest, reflect, wrap, got 'mirror'" in page.text_content("#error")

            page.goto(base + "/lab/augment?data=mnist&rotation_range=20")
            _wait(page, "#grid", "data-state", ("ready",))
            (tmp_path / "notes.png").write_text("not a picture")  # a non-image upload: the message, nothing else
            page.set_input_files("#file", str(tmp_path / "notes.png"))
            deadline = time.monotonic() + 30
            while page.is_hidden("#error"):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert "the upload is not an image that can be read" in page.text_content("#error")
            assert page.get_attribute("#grid", "data-state") == "ready" and "upload:" not in page.url

            page.goto(base + "/lab/activations?names=sigmoid,relu,tanh&depth=6&width=32&steps=5")
            assert _wait(page, "#gradients", "data-state", ("ready",), timeout=120) == "ready"
            charts = page.locator("#curves .chart")
            assert charts.count() == 2 and all(int(charts.nth(i).get_attribute("data-points")) == 3 * 401
                                               for i in range(2))
            assert page.locator("#gradients .chart").count() == 2
            assert "sigmoid" in page.text_content("#probe") and "steps=5" in page.url
            _shot(page, tmp_path, "activations", "#curves")
            _shot(page, tmp_path, "gradients", "#gradients")
        finally:
            browser.close()
    assert not errors, errors
