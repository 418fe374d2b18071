"""Exceptions that the CLI turns into one line and an exit code (2: bad input, 1: failed run)."""


class ZenlearnError(Exception):
    """Base class for errors a user can act on; `exit_code` is what the CLI returns."""

    exit_code = 2


class UsageError(ZenlearnError, ValueError):
    """Bad input: an unknown name, an out-of-range value, a missing or corrupt file."""


class TrainingError(ZenlearnError, RuntimeError):
    """A run that started but could not finish (NaN loss, out of disk)."""

    exit_code = 1


def one_line(e: BaseException) -> str:
    """An exception as one line for a results table or a log: a `ZenlearnError`'s own message (it already says
    the fix), anything else prefixed by its type; whitespace collapsed.

    Example:
        >>> one_line(UsageError("bad\\n  input")), one_line(KeyError("x"))
        ('bad input', "KeyError: 'x'")
    """
    msg = " ".join(str(e).split()) or type(e).__name__
    return msg if isinstance(e, ZenlearnError) else f"{type(e).__name__}: {msg}"
