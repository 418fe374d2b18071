"""The `zenlearn` command line: the parser, built from each command module's `register`, and `main`.

Commands live beside their parsers in `run` (train, lr-find, evaluate, predict, export), `experiments`
(compare, distill, reproduce, quickstart) and `show` (report, runs, list, augment, plot-activations);
train flags are derived from `TrainConfig` (`options`).

Errors a user can fix print one line and exit 2 (1 for a run that failed while training); `--debug`
shows the traceback. Nothing here imports torch until a command needs it, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Callable, Sequence

from zenlearn.cli import experiments, run, serve, show, tune
from zenlearn.errors import ZenlearnError
from zenlearn.io.rundir import launch_failed
from zenlearn.version import __version__


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage text is one `--help` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        bad = re.search(r"invalid choice: '(.*?)' \(choose from (.*)\)", message)
        if bad:  # a mistyped command or choice: the closest valid one first
            match = difflib.get_close_matches(bad.group(1), re.findall(r"'([^']*)'", bad.group(2)), n=1)
            message += f"; did you mean {match[0]!r}?" if match else ""
        see = " See" if message.endswith("?") else "; see"
        self.exit(2, f"{self.prog}: error: {message}{see} `{self.prog} --help`\n")


# ---------------------------------------------------------------- parser and entry point

def build_parser() -> Parser:
    p = Parser(prog="zenlearn", description="zenlearn: classic deep-learning techniques as measured tools.")
    p.add_argument("--version", action="version", version=f"zenlearn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("--debug", action="store_true", help="show the full traceback on errors")
        sp.set_defaults(fn=fn)
        return sp

    for module in (run, experiments, show, tune, serve):
        module.register(add)
    p.commands = sub.choices  # type: ignore[attr-defined]
    return p


def unknown_arguments(extra: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """"unrecognized arguments: …", with "did you mean --epochs?" for the first flag close to one of `parser`'s.

    Example:
        >>> p = argparse.ArgumentParser(); _ = p.add_argument("--model")
        >>> unknown_arguments(["--modle", "x"], p)
        'unrecognized arguments: --modle x; did you mean --model?'
    """
    names = [o[2:] for a in parser._actions for o in a.option_strings if o.startswith("--")]
    msg = f"unrecognized arguments: {' '.join(extra)}"
    for arg in extra:
        if arg.startswith("-"):  # compared without the dashes, which every flag shares
            match = difflib.get_close_matches(arg.lstrip("-").split("=", 1)[0], names, n=1)
            if match:
                return f"{msg}; did you mean --{match[0]}?"
    return msg


def quiet_broken_pipe() -> int:
    """Exit as Unix tools do when the reader of stdout has gone: no message, exit 141 (128 + SIGPIPE).

    stdout is pointed at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by something without a descriptor
        pass
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 run failed, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    try:
        try:
            args, extra = parser.parse_known_args(argv)
            if extra:  # the command's own parser says it, so that the hint is `zenlearn train --help`
                command = parser.commands.get(getattr(args, "command", None) or "", parser)  # type: ignore[attr-defined]
                command.error(unknown_arguments(extra, command))
        except SystemExit as e:  # --help, --version, or a one-line usage error already printed
            return int(e.code or 0)
        if not getattr(args, "fn", None):
            parser.print_help()
            return 2
        if getattr(args, "progress", None) is not None:  # --progress / --no-progress: also for worker processes
            os.environ["ZENLEARN_PROGRESS"] = "1" if args.progress else "0"
        code = args.fn(args)
        sys.stdout.flush()  # a closed pipe shows up here, not in the interpreter's exit
        return code
    except BrokenPipeError:  # `zenlearn predict … | head -1`: the reader has all it wants
        return quiet_broken_pipe()
    except ZenlearnError as e:
        if debug:
            raise
        print(f"zenlearn: error: {e}", file=sys.stderr)
        launch_failed(str(e))
        return e.exit_code
    except KeyboardInterrupt as e:  # resume.Interrupted says where it stopped and how to continue
        print(f"zenlearn: {str(e) or 'interrupted'}", file=sys.stderr)
        return getattr(e, "exit_code", 130)
    except Exception as e:
        if debug:
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"zenlearn: internal error: {type(e).__name__}: {msg} (rerun with --debug for the traceback)",
              file=sys.stderr)
        launch_failed(f"{type(e).__name__}: {msg}")
        return 1
