"""Commands to a running race from another process (`zenlearn serve`): a lane's new learning rate, a rewind
to its initial weights, a stop. They are appended to the race folder's `control.json` (rewritten atomically);
the race reads the file when its size or time changes and applies each new command at the lane's next step.
"""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path
from typing import Any

from zenlearn.errors import UsageError
from zenlearn.io.rundir import CONTROL, read_json, write_json

ACTIONS = ("lr", "rewind", "stop")
"""What a command does to its lane: set the learning rate (`value`), rewind to the initial weights, stop."""
_WRITE = threading.Lock()  # one writer process (the server) may send from several threads


def check_command(command: Any, lanes: int) -> dict[str, Any]:
    """A command as the race applies it: {"lane", "action"[, "value"]}; anything else is a `UsageError`.

    Example:
        >>> check_command({"lane": 1, "action": "lr", "value": "0.01"}, lanes=2)
        {'lane': 1, 'action': 'lr', 'value': 0.01}
        >>> check_command({"lane": 0, "action": "lr", "value": 0}, lanes=2)
        Traceback (most recent call last):
        zenlearn.errors.UsageError: lr must be > 0 and finite, got 0.0
    """
    if not isinstance(command, dict):
        raise UsageError("expected a command object: {lane, action, value}")
    lane, action = command.get("lane"), command.get("action")
    if not isinstance(lane, int) or isinstance(lane, bool) or not 0 <= lane < lanes:
        raise UsageError(f"lane must be a lane number from 0 to {lanes - 1}, got {lane!r}")
    if action not in ACTIONS:
        raise UsageError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    out: dict[str, Any] = {"lane": lane, "action": action}
    if action == "lr":
        try:
            value = float(command.get("value"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise UsageError(f"lr must be a number > 0, got {command.get('value')!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise UsageError(f"lr must be > 0 and finite, got {value}")
        out["value"] = value
    return out


def send_command(race: str | Path, command: dict[str, Any], lanes: int) -> int:
    """Check `command` and append it to the race's `control.json`; returns its id (1, 2, …).

    Example:
        >>> send_command(tmp, {"lane": 0, "action": "rewind"}, lanes=2)
        1
    """
    command = check_command(command, lanes)
    path = Path(race) / CONTROL
    with _WRITE:
        commands = read_commands(path)
        command["id"] = len(commands) + 1
        write_json(path, {"commands": [*commands, command]})
    return command["id"]


def read_commands(path: str | Path) -> list[dict[str, Any]]:
    """The commands in a `control.json` ([] when there is none)."""
    path = Path(path)
    if not path.is_file():
        return []
    d = read_json(path)
    return list(d.get("commands") or []) if isinstance(d, dict) else []


class Inbox:
    """The race's side of `control.json`: `new()` returns the commands not seen yet, after a stat when nothing
    changed (called ten times a second).

    Args:
        race: The race folder.
    """

    def __init__(self, race: str | Path) -> None:
        self.path, self.seen, self.stamp = Path(race) / CONTROL, 0, None

    def new(self) -> list[dict[str, Any]]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return []
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self.stamp:
            return []
        self.stamp = stamp
        try:
            commands = read_commands(self.path)
        except (UsageError, json.JSONDecodeError):
            return []
        fresh = [c for c in commands if isinstance(c, dict) and int(c.get("id", 0)) > self.seen]
        self.seen = max([self.seen, *(int(c["id"]) for c in fresh)])
        return fresh
