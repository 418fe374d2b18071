"""`zenlearn serve`: the local web app over a folder of runs (the `zenlearn.serve` layer, imported on use)."""

from __future__ import annotations

import argparse
import os

from zenlearn.cli.options import AddCommand
from zenlearn.errors import UsageError


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from zenlearn.serve.app import serve
    except ImportError as e:
        raise UsageError(f"zenlearn serve needs starlette, uvicorn and sse-starlette ({e.name} is missing); "
                         f"pip install 'zenlearn[serve]'") from None
    if args.max_jobs < 1:
        raise UsageError(f"--max-jobs must be >= 1, got {args.max_jobs}")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1-65535, got {args.port}")
    if not 2 <= args.lab_lanes <= 6:
        raise UsageError(f"--lab-lanes must be 2-6, got {args.lab_lanes}")
    if args.lab_steps < 1:
        raise UsageError(f"--lab-steps must be >= 1, got {args.lab_steps}")
    if not args.lab_grace >= 0:
        raise UsageError(f"--lab-grace must be >= 0 seconds, got {args.lab_grace}")
    serve(args.root, host=args.host, port=args.port, open_browser=args.open, max_jobs=args.max_jobs,
          lab_lanes=args.lab_lanes, lab_steps=args.lab_steps, lab_grace=args.lab_grace)
    return 0


def register(add: AddCommand) -> None:
    """Add the serve command."""
    sp = add("serve", cmd_serve, "watch, start, stop, resume and compare the runs under ROOT in the browser "
             "(local, token-protected, works offline)")
    sp.add_argument("root", nargs="?", default="runs", metavar="ROOT",
                    help="folder of run folders; launched runs go here [default: runs]")
    sp.add_argument("--host", default="127.0.0.1", help="address to bind; other than loopback prints a warning "
                    "[default: 127.0.0.1]")
    sp.add_argument("--port", type=int, default=8765, help="port [default: 8765]")
    sp.add_argument("--open", action="store_true", help="open the URL in a browser")
    sp.add_argument("--max-jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2), metavar="N",
                    help="runs that train at once; more wait in a queue [default: half the cores, at least 1]")
    sp.add_argument("--lab-lanes", type=int, default=6, metavar="N",
                    help="the most lanes of a Lab race (2-6); a race with more is refused [default: 6]")
    sp.add_argument("--lab-steps", type=int, default=3000, metavar="N",
                    help="the most optimizer steps of each Lab race lane [default: 3000]")
    sp.add_argument("--lab-grace", type=float, default=30.0, metavar="SECONDS",
                    help="a Lab race whose page was closed this long is stopped (its lanes are saved) [default: 30]")
