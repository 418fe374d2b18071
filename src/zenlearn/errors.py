"""Exceptions that the CLI turns into one line and an exit code (2: bad input, 1: failed run)."""


class ZenlearnError(Exception):
    """Base class for errors a user can act on; `exit_code` is what the CLI returns."""

    exit_code = 2


class UsageError(ZenlearnError, ValueError):
    """Bad input: an unknown name, an out-of-range value, a missing or corrupt file."""


class TrainingError(ZenlearnError, RuntimeError):
    """A run that started but could not finish (NaN loss, out of disk)."""

    exit_code = 1
