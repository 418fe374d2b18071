"""The system programs the suite uses, in one place, and the `needs` marker that guards the tests using them.

A test that needs a program outside Python carries `@pytest.mark.needs("chromium")` (or "postgres"):

- on a user's machine without it, the test is **skipped**, with one line that names the install command
  (`pytest -ra` lists them at the end);
- in CI (`CI` set, as `.ci/run` does) or with `ZENLEARN_REQUIRE_SYSTEM=1`, a missing program **fails** the
  test, so CI can never go green by skipping.

`ZENLEARN_CHROMIUM` names another Chromium or Chrome binary (macOS, non-Debian Linux); `ZENLEARN_PG_BIN` names
the folder holding PostgreSQL's `initdb` and `pg_ctl`. Pointing either at nothing hides the program.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Program:
    """A system program: how to find it (a path, or None) and the one line that says how to install it."""

    find: Callable[[Mapping[str, str]], str | None]
    install: str


def _executable(path: str | None) -> str | None:
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def find_chromium(env: Mapping[str, str]) -> str | None:
    """$ZENLEARN_CHROMIUM when set (even to nothing: that hides the browser), else chromium on PATH."""
    if "ZENLEARN_CHROMIUM" in env:
        return _executable(env["ZENLEARN_CHROMIUM"])
    path = env.get("PATH", "")
    return next(filter(None, (shutil.which(n, path=path) for n in ("chromium", "chromium-browser"))), None)


def find_postgres(env: Mapping[str, str]) -> str | None:
    """The folder holding initdb and pg_ctl: $ZENLEARN_PG_BIN when set, else the newest
    /usr/lib/postgresql/*/bin (Debian's layout), else the folder of `initdb` on PATH."""
    if "ZENLEARN_PG_BIN" in env:
        candidates = [env["ZENLEARN_PG_BIN"]]
    else:
        debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parts[-2]))
        on_path = shutil.which("initdb", path=env.get("PATH", ""))
        candidates = debian[::-1] + ([str(Path(on_path).parent)] if on_path else [])
    for folder in candidates:
        if folder and all(_executable(os.path.join(folder, p)) for p in ("initdb", "pg_ctl")):
            return folder
    return None


PROGRAMS: dict[str, Program] = {
    "chromium": Program(find_chromium, "apt-get install chromium (or set ZENLEARN_CHROMIUM=/path/to/chrome)"),
    "postgres": Program(find_postgres, "apt-get install postgresql (or set ZENLEARN_PG_BIN=/path/to/postgresql/bin)"),
}


def required(env: Mapping[str, str]) -> bool:
    """Whether a missing program is a failure (CI, or ZENLEARN_REQUIRE_SYSTEM=1) rather than a skip."""
    return env.get("ZENLEARN_REQUIRE_SYSTEM", "").lower() in TRUE or env.get("CI", "").lower() not in ("", "0", "false")


def locate(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The program's path (a folder for postgres), or None; an unknown name is a test-writing error."""
    if name not in PROGRAMS:
        raise KeyError(f"unknown system program {name!r}; choose one of: {', '.join(PROGRAMS)}")
    return PROGRAMS[name].find(os.environ if env is None else env)


def missing(names: list[str], env: Mapping[str, str] | None = None) -> list[str]:
    """One line per missing program: `needs NAME: INSTALL`."""
    return [f"needs {n}: {PROGRAMS[n].install}" for n in names if locate(n, env) is None]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*programs): the test uses system programs ("
                            + ", ".join(PROGRAMS) + "); skipped without them, failed without them in CI")


def pytest_runtest_setup(item: pytest.Item) -> None:
    names = [n for mark in item.iter_markers("needs") for n in mark.args]
    lines = missing(names)
    if not lines:
        return
    if required(os.environ):
        pytest.fail("; ".join(lines) + " (CI / ZENLEARN_REQUIRE_SYSTEM=1: a missing program fails, never skips)",
                    pytrace=False)
    pytest.skip("; ".join(lines))


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary (tests using it carry `@pytest.mark.needs("chromium")`)."""
    path = locate("chromium")
    assert path, "use @pytest.mark.needs('chromium') on this test"
    return path
