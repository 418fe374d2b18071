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
    serve(args.root, host=args.host, port=args.port, open_browser=args.open, max_jobs=args.max_jobs)
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
