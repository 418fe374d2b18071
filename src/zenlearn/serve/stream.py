"""One server-sent-event stream per browser tab, multiplexing everything the tab follows.

Browsers allow six connections per origin across all tabs, so a tab opens one stream, naming the runs it
follows (`?runs=a,b`) and whether it shows the runs table (`?list=1`). Events:

- `run`: one line of a followed run's `events.jsonl` (`{"run", "line", "kind", …}`). The SSE id is the
  line number of every followed run, comma-separated in the order of `runs`, so a reconnect with
  `Last-Event-ID` (or `?after=`) resumes each run after its last line: no point lost, none twice.
- `state`: a followed run's state changed (`{"run", "state", "reason"}`).
- `runs`: the runs table changed (the full rows, with the queue).
- `end`: every followed run has ended and every line was sent (only with `?until_end=1`); the stream closes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from zenlearn.io.live import EventTail
from zenlearn.io.rundir import RunDir

POLL_SECONDS = 0.1
"""How often a stream looks for new lines (a stat per followed run)."""
LIST_SECONDS = 1.0
"""How often a stream that shows the runs table rebuilds it."""
FINAL = ("finished", "stopped", "failed", "interrupted")


def parse_after(text: str | None, n: int) -> list[int]:
    """`Last-Event-ID` text → one line number per followed run (0 where missing or malformed).

    Example:
        >>> parse_after("12,40", 2), parse_after("x", 2), parse_after(None, 1)
        ([12, 40], [0, 0], [0])
    """
    parts = (text or "").split(",")
    out = []
    for i in range(n):
        try:
            out.append(max(0, int(parts[i])))
        except (IndexError, ValueError):
            out.append(0)
    return out


async def events(folders: list[tuple[str, Path]], after: list[int], *, state: Callable[[Path], dict[str, Any]],
                 rows: Callable[[], list[dict[str, Any]]] | None, until_end: bool,
                 disconnected: Callable[[], Any]) -> AsyncIterator[dict[str, Any]]:
    """The stream's events (dicts for `sse_starlette`), until the client goes or, with `until_end`, every run ends.

    Args:
        folders: (name as the page knows it, folder) of each followed run.
        after: Line number already seen, per run.
        state: A run folder's state (`RunDir.read_state`, or "queued" for a run waiting for its slot).
        rows: Builds the runs table, or None when the tab does not show it.
        until_end: Close once every followed run is in a final state and fully sent.
        disconnected: Awaitable check of the client's connection.
    """
    tails = [EventTail(RunDir(p).events, after=a) for (_, p), a in zip(folders, after)]
    ids, states, table, next_list = list(after), [None] * len(folders), None, 0.0
    loop = asyncio.get_running_loop()
    while not await disconnected():
        for i, ((name, path), tail) in enumerate(zip(folders, tails)):
            for line, ev in tail.read():
                ids[i] = line
                yield {"event": "run", "id": ",".join(map(str, ids)), "data": json.dumps({"run": name, "line": line, **ev})}
            st = state(path)
            if st["state"] != states[i]:
                states[i] = st["state"]
                yield {"event": "state", "data": json.dumps({"run": name, "state": st["state"],
                                                             "reason": st.get("reason")})}
        if rows is not None and loop.time() >= next_list:
            next_list = loop.time() + LIST_SECONDS
            new = await asyncio.to_thread(rows)
            if new != table:
                table = new
                yield {"event": "runs", "data": json.dumps(new)}
        if until_end and all(s in FINAL for s in states):  # the process has ended: one last read gets every line
            for i, ((name, _), tail) in enumerate(zip(folders, tails)):
                for line, ev in tail.read():
                    ids[i] = line
                    yield {"event": "run", "id": ",".join(map(str, ids)),
                           "data": json.dumps({"run": name, "line": line, **ev})}
            yield {"event": "end", "data": "{}"}
            return
        await asyncio.sleep(POLL_SECONDS)
