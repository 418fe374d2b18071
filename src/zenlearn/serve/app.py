"""The `zenlearn serve` application: pages, the JSON API, the event stream, the root's files, and `serve`.

Pages are static HTML with one ES module each (`static/`); uPlot is vendored beside its licence. Every
route sits behind `security.Guard`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import statistics
import sys
import webbrowser
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from zenlearn.errors import UsageError
from zenlearn.io.rundir import RunDir
from zenlearn.serve import runs as runs_mod
from zenlearn.serve.jobs import Queue, check_form, form_fields, to_args
from zenlearn.serve.lab import GRACE, MAX_LANES, MAX_STEPS, Lab
from zenlearn.serve.labtools import LabTools
from zenlearn.serve.security import FILES, LOCAL_HOSTS, Guard, confine, new_token
from zenlearn.serve.stream import events, parse_after

STATIC = Path(__file__).with_name("static")
PAGES = {"/": "runs.html", "/run": "run.html", "/launch": "launch.html", "/compare": "compare.html", "/lab": "lab.html"}
MAX_COMPARE = 8
RESUMABLE = ("stopped", "interrupted", "failed")


def create_app(root: str | Path, *, token: str, hosts: tuple[str, ...] = LOCAL_HOSTS, max_jobs: int = 1,
               lab_lanes: int = MAX_LANES, lab_steps: int = MAX_STEPS, lab_grace: float = GRACE) -> Guard:
    """The application serving result folders under `root`, behind the `Guard` middleware.

    Args:
        root: The folder whose result folders are shown and into which runs are launched.
        token: The per-launch token that every request that changes something must carry.
        hosts: Host names the server answers to. Defaults to 127.0.0.1, localhost and ::1.
        max_jobs: Runs that may train at once. Defaults to 1.
        lab_lanes: The most lanes of a Lab race. Defaults to 6.
        lab_steps: The most optimizer steps of a Lab race's lane. Defaults to 3000.
        lab_grace: Seconds a Lab race keeps running once no page follows it. Defaults to 30.

    Example:
        >>> from starlette.testclient import TestClient
        >>> c = TestClient(create_app(tmp, token="t"), base_url="http://127.0.0.1:8765")
        >>> c.get("/api/runs").json()
        {'runs': []}
    """
    root = Path(root).resolve()
    listing, queue, tools = runs_mod.Listing(root), Queue(max_jobs), LabTools(root)
    lab = Lab(root, queue, lanes=lab_lanes, steps=lab_steps, grace=lab_grace)

    def rows() -> list[dict[str, Any]]:
        waiting = {w["out"].relative_to(root).as_posix(): w for w in queue.queued()}
        listed = listing.rows()
        for row in listed:  # a resume waiting for its slot
            if row["path"] in waiting:
                row["state"] = "queued"
                del waiting[row["path"]]
        return [{"path": rel, "kind": "run", "state": "queued", "time": w["time"], "command": w["command"]}
                for rel, w in waiting.items()] + listed

    def run_folder(rel: str | None, *, queued: bool = False) -> Path:
        path = runs_mod.folder(root, rel or "")
        if path is None and queued and isinstance(rel, str) and "/" not in rel and queue.is_waiting(root / rel):
            return root / rel  # a launch waiting for its slot: no folder yet
        if path is None:
            raise _NotFound()
        return path

    def state_of(path: Path) -> dict[str, Any]:
        st = RunDir(path).read_state()
        return {"state": "queued"} if queue.is_waiting(path) else st

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / PAGES[request.url.path], media_type="text/html")

    async def api_runs(request: Request) -> Response:
        return JSONResponse({"runs": await asyncio.to_thread(rows)})

    async def api_run(request: Request) -> Response:
        path = run_folder(request.query_params.get("path"), queued=True)
        if not path.is_dir():
            return JSONResponse({"path": path.relative_to(root).as_posix(), "state": "queued", "config": {},
                                 "summary": {}, "metrics": [], "events": True, "files": [], "figures": []})
        return JSONResponse({**runs_mod.details(path, root), "state": state_of(path)["state"]})

    async def api_fields(request: Request) -> Response:
        return JSONResponse({"fields": form_fields()})

    async def api_launch(request: Request) -> Response:
        body = await _body(request)
        cfg = await asyncio.to_thread(check_form, body.get("config"), root)
        out = Path(cfg.out)  # type: ignore[arg-type]
        queue.submit(out, to_args(cfg))
        return JSONResponse({"path": out.relative_to(root).as_posix()}, status_code=202)

    async def api_stop(request: Request) -> Response:
        rel = (await _body(request)).get("path")
        out = runs_mod.folder(root, rel or "") or _queued(root, queue, rel)
        if not queue.stop(out):
            raise UsageError(f"{rel} is neither queued nor running here")
        return JSONResponse({"path": rel, "stopping": True})

    async def api_resume(request: Request) -> Response:
        path = run_folder((await _body(request)).get("path"))
        rd = RunDir(path)
        state = rd.read_state()["state"]
        if state not in RESUMABLE or not rd.checkpoint.is_file():
            raise UsageError(f"{path.name} is {state} and cannot be resumed (only a stopped, interrupted or failed run "
                             f"with a checkpoint.pt)")
        queue.submit(path, ["train", "--resume", str(path), "--quiet"])
        return JSONResponse({"path": path.relative_to(root).as_posix()}, status_code=202)

    async def api_compare(request: Request) -> Response:
        names = [n for n in (request.query_params.get("runs") or "").split(",") if n]
        if not 2 <= len(names) <= MAX_COMPARE:
            raise UsageError(f"pick 2 to {MAX_COMPARE} runs to compare, got {len(names)}")
        return JSONResponse(compare([(n, runs_mod.details(run_folder(n), root)) for n in names]))

    async def api_stream(request: Request) -> Response:
        names = [n for n in (request.query_params.get("runs") or "").split(",") if n]
        folders = [(n, run_folder(n, queued=True)) for n in names[:MAX_COMPARE]]
        after = parse_after(request.headers.get("last-event-id") or request.query_params.get("after"), len(folders))
        gen = events(folders, after, state=state_of, rows=rows if request.query_params.get("list") == "1" else None,
                     until_end=request.query_params.get("until_end") == "1", disconnected=request.is_disconnected)
        return EventSourceResponse(gen, ping=15)

    async def files(request: Request) -> Response:
        path = confine(root, request.path_params["path"])
        if path is None:
            raise _NotFound()
        return FileResponse(path)

    async def tick() -> None:
        while True:
            await asyncio.to_thread(queue.tick)
            await asyncio.to_thread(lab.tick)
            await asyncio.sleep(0.5)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(listing.rows)  # read every folder once before listening: requests then read changes
        task = asyncio.create_task(tick())
        try:
            yield
        finally:
            task.cancel()
            queue.close()
            tools.close()

    routes = [Route(p, page) for p in PAGES] + [
        Route("/api/runs", api_runs), Route("/api/run", api_run), Route("/api/fields", api_fields),
        Route("/api/launch", api_launch, methods=["POST"]), Route("/api/stop", api_stop, methods=["POST"]),
        Route("/api/resume", api_resume, methods=["POST"]), Route("/api/compare", api_compare),
        Route("/api/stream", api_stream), Route(FILES + "{path:path}", files),
        *tools.routes, *lab.routes(_body, state_of), Mount("/static", StaticFiles(directory=STATIC))]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={UsageError: _usage_error, _NotFound: _not_found})
    app.state.queue = queue
    return Guard(app, root=root, token=token, hosts=hosts)


class _NotFound(Exception):
    pass


async def _usage_error(request: Request, e: Exception) -> Response:
    return JSONResponse({"error": str(e)}, status_code=400)


async def _not_found(request: Request, e: Exception) -> Response:
    return JSONResponse({"error": "not found"}, status_code=404)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise UsageError("expected a JSON body") from None
    if not isinstance(body, dict):
        raise UsageError("expected a JSON object")
    return body


def _queued(root: Path, queue: Queue, rel: Any) -> Path:
    out = root / str(rel or "")
    if not isinstance(rel, str) or "/" in rel or not queue.busy(out):
        raise _NotFound()
    return out


def compare(runs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """What the compare page shows: each run's epoch rows and test metrics, the config keys whose values
    differ, and, for runs that differ only in their seed, each test metric's mean and spread over the seeds.

    Example:
        >>> a = {"config": {"lr": 0.1, "seed": 0, "out": "a"}, "summary": {"test": {"loss": 1.0}}, "metrics": []}
        >>> b = {"config": {"lr": 0.1, "seed": 1, "out": "b"}, "summary": {"test": {"loss": 3.0}}, "metrics": []}
        >>> r = compare([("a", a), ("b", b)])
        >>> r["differs"], r["groups"][0]["test"]["loss"]
        ({'seed': [0, 1]}, {'mean': 2.0, 'std': 1.4142135623730951, 'n': 2})
    """
    configs = [d.get("config") or {} for _, d in runs]
    keys = sorted(set().union(*configs) - {"out"})
    differs = {k: [c.get(k) for c in configs] for k in keys if len({repr(c.get(k)) for c in configs}) > 1}
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(repr(sorted((k, repr(v)) for k, v in c.items() if k not in ("seed", "out"))), []).append(i)
    spread = []
    for members in groups.values():
        if len(members) < 2:
            continue
        tests = [(runs[i][1].get("summary") or {}).get("test") or {} for i in members]
        metrics = sorted(set.intersection(*(set(t) for t in tests)))
        stats = {}
        for m in metrics:
            vals = [float(t[m]) for t in tests if isinstance(t[m], (int, float)) and math.isfinite(t[m])]
            if len(vals) == len(members):
                stats[m] = {"mean": statistics.fmean(vals), "std": statistics.stdev(vals), "n": len(vals)}
        spread.append({"runs": [runs[i][0] for i in members], "test": stats})
    return {"runs": [{"path": n, "state": d.get("state"), "test": (d.get("summary") or {}).get("test"),
                      "metrics": d.get("metrics") or [], "events": d.get("events", False)} for n, d in runs],
            "differs": differs, "groups": spread}


def serve(root: str | Path = "runs", *, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False,
          max_jobs: int = 1, lab_lanes: int = MAX_LANES, lab_steps: int = MAX_STEPS, lab_grace: float = GRACE) -> None:
    """Run the server until Ctrl-C; print the URL with its token (as Jupyter does).

    Args:
        root: The folder of result folders (created if missing). Defaults to "runs".
        host: Address to bind; anything but a loopback address is a warning. Defaults to 127.0.0.1.
        port: Port. Defaults to 8765.
        open_browser: Open the URL in a browser. Defaults to False.
        max_jobs: Runs that may train at once. Defaults to 1.
        lab_lanes: The most lanes of a Lab race. Defaults to 6.
        lab_steps: The most optimizer steps of a Lab race's lane. Defaults to 3000.
        lab_grace: Seconds a Lab race keeps running once no page follows it. Defaults to 30.
    """
    import uvicorn

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise UsageError(f"ROOT {root} is a file; pass the folder that holds your run folders (default: runs)")
    root.mkdir(parents=True, exist_ok=True)
    token = new_token()
    hosts = tuple(dict.fromkeys([*LOCAL_HOSTS, host.strip("[]")]))
    if host not in LOCAL_HOSTS:
        print(f"zenlearn: warning: serving on {host}: anyone who can reach this address and has the token can "
              f"start and stop runs; bind 127.0.0.1 unless you need it", file=sys.stderr, flush=True)
        if host in ("0.0.0.0", "::"):
            hosts = tuple(dict.fromkeys([*hosts, socket.gethostname()]))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/?token={token}"
    print(f"zenlearn serve: {root.resolve()}\n    {url}", flush=True)
    if open_browser:
        webbrowser.open(url)
    uvicorn.run(create_app(root, token=token, hosts=hosts, max_jobs=max_jobs, lab_lanes=lab_lanes, lab_steps=lab_steps,
                           lab_grace=lab_grace), host=host, port=port,
                log_level="warning")
