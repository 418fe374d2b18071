"""Names the docstring examples under src/ may use (pytest runs them with `--doctest-modules`).

- `tmp`: a fresh empty folder (examples never write into the working directory);
- `run_dir`: a finished training run (a copy of tests/fixtures/run-v0.1-logreg-mnist1d: logistic regression
  on MNIST-1D, generated locally, so it needs no data folder);
- `photos`: an image folder, two classes of three small PNGs each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

FIXTURE_RUN = Path(__file__).parent / "tests" / "fixtures" / "run-v0.1-logreg-mnist1d"


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not isinstance(request.node, DoctestItem):
        return
    import numpy as np
    from PIL import Image

    monkeypatch.setenv("ZENLEARN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))  # where `--data photos` is generated
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE_RUN, run_dir)
    photos = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for k, name in enumerate(("cats", "dogs")):
        (photos / name).mkdir(parents=True)
        for i in range(3):
            pixels = (rng.random((20, 24, 3)) * 80 + 120 * k).astype(np.uint8)
            Image.fromarray(pixels).save(photos / name / f"{i}.png")
    ns = request.getfixturevalue("doctest_namespace")
    ns.update(tmp=tmp_path / "tmp", run_dir=str(run_dir), photos=str(photos))
    (tmp_path / "tmp").mkdir()
