"""A run's live state, shared between processes through its folder: the heartbeat that keeps `state.json`
fresh while a run is running, whether a running state's process is still alive, and `events.jsonl`'s
appender and follower. `zenlearn.io.rundir.RunDir` names the files and reads and writes `state.json`.
"""

from __future__ import annotations

import contextvars
import functools
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from zenlearn.errors import ZenlearnError

HEARTBEAT = 2.0
"""Seconds between a running process's rewrites of `state.json`."""


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks after boot (Linux), to tell a reused pid from the run's."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if stat[0] == "Z" else int(stat[19])  # a zombie has exited: its parent just has not reaped it


def alive(st: dict[str, Any], now: float) -> bool:
    """Whether the process of running state `st` (a `state.json`) still runs at time `now`."""
    every = float(st.get("heartbeat_every") or HEARTBEAT)
    if st.get("host") != socket.gethostname():  # another machine: only the heartbeat tells
        return now - float(st.get("heartbeat") or 0) <= 2 * every
    pid = int(st.get("pid") or 0)
    if pid <= 0:
        return False
    if Path("/proc/self/stat").exists():
        start = process_start(pid)
        return start is not None and (st.get("started") is None or start == st["started"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


class Heartbeat:
    """While active, rewrite `state.json` as "running" every `HEARTBEAT` seconds from a thread, once the
    run folder exists (the heartbeat never creates it: bad input must leave nothing behind).

    Args:
        rd: The run folder (a `RunDir`).
        fields: More fields for `state.json` (e.g. the command).
    """

    def __init__(self, rd: Any, **fields: Any) -> None:
        self.rd, self.fields, self.wrote, self._stop = rd, fields, False, threading.Event()
        self._thread = threading.Thread(target=self._beat, name="zenlearn-heartbeat", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self.beat()
        self._thread.start()
        return self

    def beat(self) -> None:
        if self.rd.path.is_dir():
            self.rd.write_state("running", **self.fields)
            self.wrote = True

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a full disk must not kill training from this thread
                pass

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


class RunLife:
    """A run's life in its folder's `state.json`: "running" with a heartbeat from `start()`, then "finished",
    "stopped" (Ctrl-C, SIGTERM: a `KeyboardInterrupt`) or "failed" with the error's first line.

    Nothing is written for an error before `start()` (bad input), unless a launcher already wrote this
    process's running state into the folder: then the launched run ends as "failed", saying why.
    Off on all but one process of a group (`enabled=False`).

    Args:
        rd: The run folder (a `RunDir`).
        enabled: Write anything at all. Defaults to True.
        fields: More fields for `state.json` (e.g. `command="train"`).

    Example:
        >>> from zenlearn.io.rundir import RunDir
        >>> rd = RunDir(tmp / "run")
        >>> with RunLife(rd, command="train") as life:
        ...     rd.path.mkdir()
        ...     life.start()
        ...     rd.read_state()["state"]
        'running'
        >>> rd.read_state()["state"], rd.read_state()["command"]
        ('finished', 'train')
    """

    def __init__(self, rd: Any, *, enabled: bool = True, **fields: Any) -> None:
        self.rd, self.enabled, self.fields, self.heartbeat = rd, enabled, fields, None

    def __enter__(self) -> "RunLife":
        return self

    def start(self) -> None:
        """Write "running" now (or, if the folder does not exist yet, as soon as it does) and keep it fresh."""
        if self.enabled and self.heartbeat is None:
            self.heartbeat = Heartbeat(self.rd, **self.fields).__enter__()

    def __exit__(self, et: Any, e: BaseException | None, tb: Any) -> None:
        if self.heartbeat is not None:
            self.heartbeat.__exit__()
        if not self.enabled or self.rd is None or not self.rd.path.is_dir():
            return
        if not (self.heartbeat is not None and self.heartbeat.wrote) and not self._launched():
            return
        if et is None:
            self.rd.write_state("finished", **self.fields)
        elif issubclass(et, KeyboardInterrupt):
            self.rd.write_state("stopped", reason=_first_line(e) or "interrupted", **self.fields)
        else:
            self.rd.write_state("failed", reason=_first_line(e) or et.__name__, **self.fields)

    def _launched(self) -> bool:
        try:
            st = json.loads(self.rd.state.read_text())
            return st.get("state") == "running" and int(st.get("pid", -1)) == os.getpid()
        except (OSError, ValueError, TypeError, AttributeError):
            return False


_CURRENT: contextvars.ContextVar["RunLife | None"] = contextvars.ContextVar("zenlearn_run_life", default=None)
F = TypeVar("F", bound=Callable[..., Any])


def lives(command: str) -> Callable[[F], F]:
    """Decorate a workflow whose result folder is known only once its input is checked: its folder's
    `state.json` runs from the workflow's `started(rd)` call on and ends finished, stopped or failed.

    Example:
        >>> from zenlearn.io.rundir import RunDir
        >>> @lives("compare")
        ... def job(out):
        ...     out.mkdir()
        ...     started(RunDir(out))
        >>> job(tmp / "cmp")
        >>> RunDir(tmp / "cmp").read_state()["state"], RunDir(tmp / "cmp").read_state()["command"]
        ('finished', 'compare')
    """
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            life = RunLife(None, command=command)
            token = _CURRENT.set(life)
            try:
                with life:
                    return fn(*args, **kwargs)
            finally:
                _CURRENT.reset(token)
        return inner  # type: ignore[return-value]
    return wrap


def started(rd: Any) -> None:
    """The decorated (`lives`) workflow running now has created its folder `rd`: write "running" there."""
    life = _CURRENT.get()
    if life is not None and life.rd is None:
        life.rd = rd
        life.start()


def _first_line(e: BaseException | None) -> str:
    text = str(e).strip().splitlines()[0] if e is not None and str(e).strip() else ""
    if e is None or isinstance(e, (ZenlearnError, KeyboardInterrupt)):
        return text
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class EventLog:
    """`events.jsonl` open for appending: one JSON object per line, each written with one `write` call.

    A line cut short by a killed process is closed with a newline when the file is next opened, so it
    stays one unreadable line (which `EventTail` skips) and every later line keeps its number.

    Example:
        >>> with EventLog(tmp / "events.jsonl") as log:
        ...     log.append("epoch", epoch=1, loss=0.5)
        >>> [(n, e["kind"], e["loss"]) for n, e in EventTail(tmp / "events.jsonl").read()]
        [(1, 'epoch', 0.5)]
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __enter__(self) -> "EventLog":
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        size = os.fstat(self.fd).st_size
        if size:
            with open(self.path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    os.write(self.fd, b"\n")
        return self

    def append(self, kind: str, **fields: Any) -> None:
        os.write(self.fd, (json.dumps({"kind": kind, "t": round(time.time(), 3), **fields}) + "\n").encode())

    def __exit__(self, *exc: Any) -> None:
        os.close(self.fd)


class EventTail:
    """Follow `events.jsonl`: each `read` returns the complete lines added since the last, numbered from 1.

    Args:
        path: The events file (it may not exist yet).
        after: Line number already seen (an SSE `Last-Event-ID`); reading starts after it. Defaults to 0.
    """

    def __init__(self, path: str | Path, after: int = 0) -> None:
        self.path, self.after, self.offset, self.line = Path(path), max(0, int(after)), 0, 0

    def read(self) -> list[tuple[int, dict[str, Any]]]:
        try:
            with open(self.path, "rb") as f:
                if os.fstat(f.fileno()).st_size < self.offset:  # a fresh start replaced the file: read it anew
                    self.offset = self.line = 0
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for its newline
        out = []
        for raw in chunk[:end].splitlines():
            self.line += 1
            if self.line <= self.after:
                continue
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, dict):
                out.append((self.line, event))
        self.offset += end
        return out

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return iter(self.read())
