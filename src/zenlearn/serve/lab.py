"""The Lab's race in `zenlearn serve`: its API and its bounds (the page, `/lab`, is static/lab.html and lab.js).

- `POST /api/lab/race` checks a race (the CLI's checks: each lane's config as `check_config` sees it, 2 to
  `lanes` lanes, a step limit no higher than the server's) and queues `zenlearn race … --out ROOT/NAME` like any
  launch: it waits for a slot under `--max-jobs`, runs as its own process and survives a server restart.
  Bad input is a 400 with the one-line message, and nothing is started or written.
- `GET /api/lab/race?path=` is the race's `race.json`, state and results; `POST /api/lab/command` sends a lane
  a new LR, a rewind or a stop (`control.json`); `POST /api/stop` (app.py) stops the whole race.
- `GET /api/lab/stream?path=` streams the race's `events.jsonl`. A race started here whose page has had no
  stream open for `grace` seconds (the tab was closed) is stopped: its lanes are saved, as with Stop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zenlearn.augment.spec import AUGMENTATIONS
from zenlearn.config import TrainConfig
from zenlearn.data import DATASETS
from zenlearn.errors import UsageError
from zenlearn.io.rundir import RACE, RESULTS, RunDir, read_csv, read_json
from zenlearn.nn.activations import ACTIVATIONS
from zenlearn.nn.build import MODELS
from zenlearn.optim.optimizers import OPTIMIZERS, default_lr
from zenlearn.serve import runs as runs_mod
from zenlearn.serve.jobs import Queue, check_form
from zenlearn.serve.stream import events, parse_after
from zenlearn.workflows.race import MAX_LANES, RaceSpec, send_command
from zenlearn.workflows.race.spec import LANE_KEYS, typed_lane

MAX_STEPS = 3000
"""A lane's step limit unless `zenlearn serve --lab-steps` sets another."""
GRACE = 30.0
"""Seconds a race started here keeps running with no page following it."""


class Lab:
    """The Lab's state in one server: the races it started and the pages following them.

    Args:
        root: The served folder.
        queue: The server's `Queue` (races share `--max-jobs` with runs).
        lanes: The most lanes a race may have. Defaults to `MAX_LANES`.
        steps: The most steps a lane may take. Defaults to `MAX_STEPS`.
        grace: Seconds before a race that no page follows is stopped. Defaults to `GRACE`.
    """

    def __init__(self, root: Path, queue: Queue, *, lanes: int = MAX_LANES, steps: int = MAX_STEPS,
                 grace: float = GRACE) -> None:
        self.root, self.queue = root, queue
        self.lanes, self.steps, self.grace = min(int(lanes), MAX_LANES), int(steps), float(grace)
        self.races: dict[Path, float] = {}  # a race started here → when a page last followed it
        self.watching: dict[Path, int] = {}  # open streams per race

    # ------------------------------------------------------------------ checks
    def check(self, body: dict[str, Any]) -> RaceSpec:
        """The `RaceSpec` of a submitted race, its base's `out` a new folder under the root; raises `UsageError`."""
        values = body.get("config")
        if not isinstance(values, dict):
            raise UsageError("expected config: an object of option: value")
        name = str(values.get("out") or "") or time.strftime("race-%Y%m%d-%H%M%S")
        base = check_form({"report": False, **values, "out": name}, self.root)  # `zenlearn report` writes it later
        lanes = body.get("lanes")
        if not isinstance(lanes, list):
            raise UsageError("expected lanes: a list of objects of option: value, one per lane")
        typed = [typed_lane({k: v for k, v in (lane or {}).items() if v not in (None, "")})
                 if isinstance(lane, dict) else lane for lane in lanes]
        teacher = body.get("teacher") or None
        if teacher is not None:
            found = runs_mod.folder(self.root, str(teacher))
            if found is None:
                raise UsageError(f"teacher: no run folder {teacher!r} in the served folder; name a finished run")
            teacher = str(found)
        steps = body.get("max_steps")
        if steps in (None, ""):
            steps = self.steps
        try:
            steps = int(steps)
        except (TypeError, ValueError):
            raise UsageError(f"max_steps must be an integer from 1 to {self.steps}, got {steps!r}") from None
        if steps > self.steps:
            raise UsageError(f"max_steps must be at most {self.steps} here (zenlearn serve --lab-steps), got {steps}")
        return RaceSpec(base, typed, max_steps=steps, max_lanes=self.lanes, teacher=teacher).check()

    # ------------------------------------------------------------------ closed tabs
    def tick(self) -> None:
        """Stop the races started here that no page has followed for `grace` seconds."""
        now = time.monotonic()
        for out, seen in list(self.races.items()):
            if self.watching.get(out, 0) > 0 or not (out / RACE).is_file():  # followed, or not racing yet
                self.races[out] = now
            elif now - seen > self.grace:
                del self.races[out]
                if self.queue.busy(out) or RunDir(out).read_state()["state"] == "running":
                    self.queue.stop(out)

    # ------------------------------------------------------------------ routes
    def routes(self, body: Callable[[Request], Awaitable[dict[str, Any]]],
               state_of: Callable[[Path], dict[str, Any]]) -> list[Route]:
        """The page and API routes; `body` reads a request's JSON object, `state_of` a folder's state."""
        root = self.root

        def race_folder(rel: Any) -> Path:
            path = runs_mod.folder(root, str(rel or ""))
            if path is None and isinstance(rel, str) and "/" not in rel and self.queue.is_waiting(root / rel):
                return root / rel
            if path is None:
                raise UsageError(f"no race {rel!r} under the served folder")
            return path

        async def options(request: Request) -> Response:
            return JSONResponse({
                "datasets": list(DATASETS.names()), "models": list(MODELS.names()),
                "optimizers": {n: default_lr(n) for n in OPTIMIZERS.names()},
                "activations": list(ACTIVATIONS.names()), "augmentations": list(AUGMENTATIONS.names()),
                "lane_keys": LANE_KEYS, "max_lanes": self.lanes, "max_steps": self.steps, "grace": self.grace,
                "defaults": {k: v for k, v in TrainConfig().to_dict().items() if k in _FORM},
                "fields": [k for k in TrainConfig().to_dict() if k not in ("out", "overwrite")]})

        async def start(request: Request) -> Response:
            spec = await asyncio.to_thread(self.check, await body(request))
            out = Path(spec.base.out)  # type: ignore[arg-type]
            rel = out.relative_to(root).as_posix()
            self.queue.submit(out, spec.race_args(str(out)))
            self.races[out] = time.monotonic()
            return JSONResponse({"path": rel, "compare_command": spec.compare_command(rel)}, status_code=202)

        async def race(request: Request) -> Response:
            path = race_folder(request.query_params.get("path"))
            manifest = read_json(path / RACE) if (path / RACE).is_file() else None
            results = read_csv(path / RESULTS) if (path / RESULTS).is_file() else []
            st = state_of(path)
            return JSONResponse({"path": path.relative_to(root).as_posix(), "race": manifest, "results": results,
                                 "state": st["state"], "reason": st.get("reason")})

        async def command(request: Request) -> Response:
            b = await body(request)
            path = race_folder(b.get("path"))
            manifest = read_json(path / RACE) if (path / RACE).is_file() else None
            if manifest is None or state_of(path)["state"] != "running":
                raise UsageError(f"{path.name} is not a running race")
            sent = send_command(path, {k: b.get(k) for k in ("lane", "action", "value")}, len(manifest["lanes"]))
            return JSONResponse({"id": sent}, status_code=202)

        async def stream(request: Request) -> Response:
            rel = request.query_params.get("path")
            path = race_folder(rel)
            after = parse_after(request.headers.get("last-event-id") or request.query_params.get("after"), 1)
            return EventSourceResponse(self._followed(path, events([(str(rel), path)], after, state=state_of,
                                                                     rows=None, until_end=False,
                                                                     disconnected=request.is_disconnected)), ping=15)

        return [Route("/api/lab/options", options), Route("/api/lab/race", start, methods=["POST"]),
                Route("/api/lab/race", race), Route("/api/lab/command", command, methods=["POST"]),
                Route("/api/lab/stream", stream)]

    async def _followed(self, path: Path, gen: Any) -> Any:
        """`gen`'s events, counting this stream as a page following the race while it is open."""
        self.watching[path] = self.watching.get(path, 0) + 1
        try:
            async for ev in gen:
                yield ev
        finally:
            self.watching[path] -= 1
            if path in self.races:
                self.races[path] = time.monotonic()


_FORM = ("data", "model", "hidden", "activation", "dropout", "batch_norm", "epochs", "batch_size", "seed",
         "optimizer", "lr", "train_subset", "augment", "val_split")
"""The options the Lab page shows for the race's base; any other config option in the page's URL is sent as is."""
