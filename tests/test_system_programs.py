"""The `needs` marker (tests/system_programs.py): a missing system program skips with an install line on a
user's machine and fails in CI; a present one runs the test. Checked by running a real inner pytest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from system_programs import PROGRAMS, find_chromium, find_postgres, missing, required

pytest_plugins = ["pytester"]
TESTS = Path(__file__).resolve().parent

INNER = """
import pytest

@pytest.mark.needs("chromium")
def test_browser(chromium):
    assert chromium

@pytest.mark.needs("postgres")
def test_database():
    pass

def test_plain():
    pass
"""


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def inner(pytester, monkeypatch):
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
                          "from system_programs import chromium, pytest_configure, pytest_runtest_setup\n")
    pytester.makepyfile(test_inner=INNER)
    for var in ("CI", "ZENLEARN_REQUIRE_SYSTEM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ZENLEARN_CHROMIUM", "/nonexistent/chromium")  # hides the browser
    monkeypatch.setenv("ZENLEARN_PG_BIN", "/nonexistent/bin")  # hides PostgreSQL
    return pytester


def test_missing_programs_skip_with_the_install_line(inner):
    result = inner.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider", "-ra")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] *needs chromium: apt-get install chromium (or set ZENLEARN_CHROMIUM=/path/to/chrome)",
        "SKIPPED [[]1[]] *needs postgres: apt-get install postgresql*",
    ])


@pytest.mark.parametrize("var, value", [("CI", "true"), ("ZENLEARN_REQUIRE_SYSTEM", "1")])
def test_missing_programs_fail_in_ci(inner, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    result = inner.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider", "-ra")
    result.assert_outcomes(passed=1, errors=2)  # failed in setup: an error, the run exits non-zero
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*needs chromium: apt-get install chromium*never skips*",
                                 "*needs postgres: apt-get install postgresql*"])


def test_present_programs_run_the_tests_even_in_ci(inner, monkeypatch, tmp_path):
    bin_dir = tmp_path / "pgbin"
    bin_dir.mkdir()
    _executable(bin_dir / "initdb"), _executable(bin_dir / "pg_ctl")
    monkeypatch.setenv("ZENLEARN_CHROMIUM", str(_executable(tmp_path / "chrome")))
    monkeypatch.setenv("ZENLEARN_PG_BIN", str(bin_dir))
    monkeypatch.setenv("CI", "true")
    inner.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_lookups_follow_the_environment(tmp_path):
    chrome = _executable(tmp_path / "chromium")
    assert find_chromium({"ZENLEARN_CHROMIUM": str(chrome)}) == str(chrome)
    assert find_chromium({"ZENLEARN_CHROMIUM": ""}) is None  # set to nothing: hidden
    assert find_chromium({"PATH": str(tmp_path)}) == str(chrome)
    assert find_chromium({"PATH": str(tmp_path / "empty")}) is None
    assert find_postgres({"ZENLEARN_PG_BIN": str(tmp_path)}) is None  # no initdb / pg_ctl there
    assert missing(["chromium"], {"ZENLEARN_CHROMIUM": ""}) == [f"needs chromium: {PROGRAMS['chromium'].install}"]
    assert [required(e) for e in ({}, {"CI": "true"}, {"CI": "0"}, {"ZENLEARN_REQUIRE_SYSTEM": "1"})] == \
        [False, True, False, True]


def test_every_test_using_a_program_carries_the_marker():
    """No test looks for a program itself: the names below appear only in files that use the marker."""
    for path in TESTS.rglob("test_*.py"):
        text = path.read_text()
        uses = ("executable_path" in text, "pgcluster" in text)
        if any(uses):
            assert 'mark.needs("' in text, f"{path.name} uses a system program without @pytest.mark.needs"
    assert not [p for p in TESTS.rglob("*.py") if 'shutil.which("chromium")' in p.read_text()
                and p.name not in ("system_programs.py", Path(__file__).name)]
