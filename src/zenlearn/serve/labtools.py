"""The Lab's augmentation preview and activation explorer: their pages and JSON / PNG API, as routes that
`app.create_app` adds (`LabTools.routes`).

- `/lab/augment`: `GET /api/lab/augment` (JSON: the grid as a PNG data URL, the time per batch) and
  `GET /api/lab/augment.png` (the same PNG bytes for the same query), `POST /api/lab/upload` (one image, raw
  bytes; the `Guard` checks origin, token and size), `GET /api/lab/augment/options` (presets, ranges).
- `/lab/activations`: `GET /api/lab/activations` (each activation and its derivative, by autograd) and
  `GET /api/lab/gradients` (each layer's gradient norm in the first steps of a deep MLP, per activation,
  computed by `workflows.gradients` in a worker process, never in the server; results kept per query).

Every setting is a query parameter, so a page's URL reproduces it; bad settings are a 400 with one line.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import multiprocessing
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

import torch
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from zenlearn.augment.spec import AUGMENTATIONS
from zenlearn.augment.warp import FILL_MODES
from zenlearn.errors import UsageError
from zenlearn.nn.activations import ACTIVATIONS, get_activation, value_and_derivative
from zenlearn.nn.inits import INITS
from zenlearn.optim.optimizers import OPTIMIZERS
from zenlearn.serve.augmentlab import DATASETS_SHOWN, FLAGS, GRID, RANGES, Preview, parse_settings
from zenlearn.workflows.gradients import gradient_norms
from zenlearn.workflows.parallel.workers import exit_with_parent

STATIC = Path(__file__).with_name("static")
PAGES = ("/lab/augment", "/lab/activations")
"""Each page is static/ + its path with "/" as "-" + ".html" (/lab/augment: lab-augment.html) and its ES module."""
SURVEY = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")
"""The survey's five activations: the explorer's default."""
GRADIENT_DATA = ("mnist1d", "mnist", "fashion-mnist")
CURVE = {"lo": (-20.0, 20.0, -5.0), "hi": (-20.0, 20.0, 5.0), "negative_slope": (0.0, 1.0, 0.01),
         "elu_alpha": (0.0, 5.0, 1.0)}
"""Activation-curve settings → (min, max, default)."""
TRAINING = {"depth": (1, 16, 8), "width": (4, 256, 64), "steps": (1, 100, 20), "batch_size": (8, 512, 64),
            "lr": (1e-6, 10.0, 0.1), "seed": (0, 2**31 - 1, 0)}
"""Gradient-probe settings → (min, max, default); depth, width, steps, batch_size and seed are whole numbers."""
CURVE_POINTS = 401
KEPT_RESULTS = 32


def _names(text: str | None, default: tuple[str, ...]) -> list[str]:
    names = [n.strip() for n in (text or ",".join(default)).split(",") if n.strip()]
    return [ACTIVATIONS.entry(n).name for n in dict.fromkeys(names)] if names else list(default)


def ranged(query: Mapping[str, str], table: dict[str, tuple[float, float, float]], whole: tuple[str, ...] = (),
           problems: list[str] | None = None) -> dict[str, Any]:
    """`table`'s settings from `query` (default when absent), each checked against its [min, max].

    Example:
        >>> ranged({"lo": "-3"}, CURVE)["lo"], ranged({}, CURVE)["hi"]
        (-3.0, 5.0)
        >>> ranged({"depth": "2.5"}, TRAINING, ("depth",))
        Traceback (most recent call last):
        zenlearn.errors.UsageError: depth: expected a whole number in [1, 16], got '2.5'
    """
    own = problems is None
    problems = [] if problems is None else problems
    out: dict[str, Any] = {}
    for name, (lo, hi, default) in table.items():
        raw = query.get(name)
        try:
            value = float(raw) if raw is not None else default
        except ValueError:
            value = float("nan")
        if not lo <= value <= hi or (name in whole and value != int(value)):
            problems.append(f"{name}: expected {'a whole number' if name in whole else 'a number'} in [{lo:g}, "
                            f"{hi:g}], got {raw!r}")
            continue
        out[name] = int(value) if name in whole else value
    if own and problems:
        raise UsageError("; ".join(problems))
    return out


def activation_curves(query: Mapping[str, str]) -> dict[str, Any]:
    """Each named activation (default: all) and its derivative on `CURVE_POINTS` points of [lo, hi].

    Example:
        >>> r = activation_curves({"names": "relu,sigmoid", "lo": "-1", "hi": "1"})
        >>> [c["name"] for c in r["curves"]], r["x"][0], r["curves"][0]["dy"][-1], round(r["curves"][1]["dy"][200], 3)
        (['relu', 'sigmoid'], -1.0, 1.0, 0.25)
    """
    unknown = set(query) - {"names", *CURVE}
    if unknown:
        raise UsageError(f"unknown setting {sorted(unknown)[0]!r}; the settings are: names, {', '.join(CURVE)}")
    names = _names(query.get("names"), tuple(ACTIVATIONS.names()))
    s = ranged(query, CURVE)
    if s["lo"] >= s["hi"]:
        raise UsageError(f"lo must be below hi, got lo={s['lo']:g} and hi={s['hi']:g}")
    x = torch.linspace(s["lo"], s["hi"], CURVE_POINTS)  # (P,)
    curves = []
    for name in names:
        y, dy = value_and_derivative(get_activation(name, negative_slope=s["negative_slope"],
                                                    elu_alpha=s["elu_alpha"]), x)
        curves.append({"name": name, "about": ACTIVATIONS.entry(name).description, "y": y.tolist(), "dy": dy.tolist()})
    return {"x": x.tolist(), "curves": curves, **s}


def gradient_settings(query: Mapping[str, str]) -> dict[str, Any]:
    """The gradient probe's settings from a query, checked (one `UsageError` naming every problem).

    Example:
        >>> gradient_settings({"activations": "relu,sigmoid", "depth": "4"})["activations"]
        ['relu', 'sigmoid']
        >>> gradient_settings({"data": "cifar10", "lr": "0"})
        Traceback (most recent call last):
        zenlearn.errors.UsageError: data: expected one of mnist1d, mnist, fashion-mnist, got 'cifar10'; lr: expected a number in [1e-06, 10], got '0'
    """
    known = {"activations", "data", "optimizer", "init", *TRAINING}
    problems = [f"unknown setting {k!r}; the settings are: {', '.join(sorted(known))}" for k in query if k not in known]
    data = query.get("data", GRADIENT_DATA[0])
    if data not in GRADIENT_DATA:
        problems.append(f"data: expected one of {', '.join(GRADIENT_DATA)}, got {data!r}")
    for key, registry, default in (("optimizer", OPTIMIZERS, "sgd"), ("init", INITS, "default")):
        if query.get(key, default) not in registry:
            problems.append(f"{key}: unknown {query[key]!r}; choose one of: {', '.join(registry.names())}")
    s = ranged(query, TRAINING, ("depth", "width", "steps", "batch_size", "seed"), problems)
    if problems:
        raise UsageError("; ".join(problems))
    return {"activations": _names(query.get("activations"), SURVEY), "data": data,
            "optimizer": OPTIMIZERS.entry(query.get("optimizer", "sgd")).name,
            "init": INITS.entry(query.get("init", "default")).name, **s}


class LabTools:
    """The routes of the augmentation preview and the activation explorer, with their state: the preview's samples
    and uploads, the gradient worker process (started on first use) and the results kept per query.

    Args:
        root: The served folder (image folders for the preview are looked up inside it).
    """

    def __init__(self, root: Path) -> None:
        self.preview = Preview(root)
        self.lock = threading.Lock()  # one preview at a time: they share torch's threads
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.results: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.routes = [Route(p, self.page) for p in PAGES] + [
            Route("/api/lab/augment/options", self.augment_options), Route("/api/lab/augment", self.augment),
            Route("/api/lab/augment.png", self.augment_png), Route("/api/lab/upload", self.upload, methods=["POST"]),
            Route("/api/lab/activations", self.activations), Route("/api/lab/gradients", self.gradients)]

    def close(self) -> None:
        """Stop the gradient worker, if it was started."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / (request.url.path.strip("/").replace("/", "-") + ".html"), media_type="text/html")

    async def augment_options(self, request: Request) -> Response:
        presets = {n: {k: list(v) if isinstance(v, tuple) else v for k, v in AUGMENTATIONS.get(n).items()}
                   for n in AUGMENTATIONS.names()}
        return JSONResponse({"presets": presets, "fill_modes": list(FILL_MODES), "ranges": RANGES,
                             "flags": list(FLAGS), "grid": GRID, "datasets": list(DATASETS_SHOWN)})

    def _draw(self, query: Mapping[str, str]) -> tuple[bytes, dict[str, Any]]:
        settings = parse_settings(query)
        with self.lock:
            return self.preview.draw(settings)

    async def augment(self, request: Request) -> Response:
        png, info = await asyncio.to_thread(self._draw, dict(request.query_params))
        return JSONResponse({**info, "image": "data:image/png;base64," + base64.b64encode(png).decode()})

    async def augment_png(self, request: Request) -> Response:
        png, info = await asyncio.to_thread(self._draw, dict(request.query_params))
        return Response(png, media_type="image/png", headers={"x-zenlearn-ms-per-batch": str(info["ms_per_batch"])})

    async def upload(self, request: Request) -> Response:
        body = await request.body()
        key = await asyncio.to_thread(self.preview.upload, body)
        return JSONResponse({"data": f"upload:{key}"})

    async def activations(self, request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(activation_curves, dict(request.query_params)))

    async def gradients(self, request: Request) -> Response:
        s = gradient_settings(dict(request.query_params))
        key = repr(sorted(s.items()))
        if key not in self.results:
            if self.pool is None:  # fresh interpreters: no torch thread pools shared with the server
                self.pool = concurrent.futures.ProcessPoolExecutor(  # ends with the server, even a killed one
                    1, mp_context=multiprocessing.get_context("spawn"), initializer=exit_with_parent,
                    initargs=(os.getpid(),))
            options = {k: v for k, v in s.items() if k != "activations"}
            try:
                runs = await asyncio.gather(*(asyncio.wrap_future(self.pool.submit(gradient_norms, a, **options))
                                              for a in s["activations"]))
            except concurrent.futures.process.BrokenProcessPool:
                self.close()  # the worker died (killed, out of memory): the next request starts a fresh one
                return JSONResponse({"error": "the gradient worker process died; reload the page to measure again"},
                                    status_code=503)
            self.results[key] = {**s, "runs": runs}
            while len(self.results) > KEPT_RESULTS:
                self.results.popitem(last=False)
        self.results.move_to_end(key)
        return JSONResponse(self.results[key])
