"""`zenlearn serve` against the targets of issue 27, on this machine, in one run.

- latency: an epoch's event appended to `events.jsonl` → the point drawn in the run page (headless
  Chromium, a MutationObserver on the chart's point count), over --rows rows; target p95 <= 0.5 s.
  For scale, the polling dashboards the issue names refresh every 5-30 s (TensorBoard: 30 s by default).
- scale: --folders copies of a finished run under ROOT; the server's start (it reads every folder once before
  it listens), the first `/api/runs` response, a second one,
  the runs page's full load in Chromium (every row in the table; best of 3, beside a plain text file's load as
  the browser's own floor) and the server's RSS; targets <= 0.5 s,
  <= 1.5 s and <= 200 MB.
- load: --clients SSE clients following one run for --seconds while a writer appends an epoch event every
  0.1 s; every client must receive every line once, in order; the server's CPU time / wall time is its
  share of a core, target < 0.5. Everything talks to 127.0.0.1 only.

    python benchmarks/serve_bench.py [--part latency|scale|load|all] [--rows 100] [--folders 1000]
                                     [--clients 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURE = Path(__file__).parents[1] / "tests" / "fixtures" / "run-v0.1-logreg-mnist1d"
CHROMIUM = os.environ.get("ZENLEARN_CHROMIUM", "/usr/bin/chromium")


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, "-m", "zenlearn", "serve", str(root), "--port", str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = None
    while url is None:
        m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", p.stdout.readline())
        url = m.group(1) if m else None
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, url
        except OSError:
            time.sleep(0.05)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])


def live_run(root: Path) -> Path:
    """A run folder that reads as running (this process's pid) with an empty events.jsonl."""
    from zenlearn.io.rundir import RunDir

    run = root / "live"
    shutil.copytree(FIXTURE, run)
    RunDir(run).write_state("running", command="train")
    RunDir(run).events.write_text("")
    return run


def part_latency(rows: int) -> dict:
    from playwright.sync_api import sync_playwright

    from zenlearn.io.live import EventLog
    from zenlearn.io.rundir import RunDir

    root = Path(tempfile.mkdtemp(prefix="serve-latency-"))
    run = live_run(root)
    server, url = start_server(root)
    lat = []
    try:
        with sync_playwright() as p:
            b = browser(p)
            page = b.new_page()
            page.goto(url.replace("/?", "/run?path=live&"))
            page.wait_for_selector("#state[data-state=running]")
            page.evaluate("""() => { window.__drawn = [];
                const el = document.querySelector('#curves');
                new MutationObserver(() => window.__drawn.push([Number(el.dataset.points), Date.now()]))
                  .observe(el, {attributes: true, attributeFilter: ['data-points']}); }""")
            per_row, appended = 4, []  # loss, accuracy, val_loss, val_accuracy (lr constant: also a point)
            with EventLog(RunDir(run).events) as log:
                log.append("start", epoch=0, step=0, epochs=rows, steps=10)
                for i in range(1, rows + 1):
                    appended.append(time.time() * 1000)
                    log.append("epoch", epoch=i, loss=1 / i, accuracy=1 - 1 / (i + 1), val_loss=1.1 / i,
                               val_accuracy=1 - 1.1 / (i + 1), lr=1e-3)
                    time.sleep(0.2)
            time.sleep(1.0)
            drawn = page.evaluate("window.__drawn")
            per_row = drawn[-1][0] // rows
            for i, t0 in enumerate(appended, 1):
                t1 = next((t for n, t in drawn if n >= per_row * i), None)
                if t1 is not None:
                    lat.append((t1 - t0) / 1000)
            b.close()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(root, ignore_errors=True)
    lat.sort()
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
    return {"rows": rows, "drawn": len(lat), "median_s": statistics.median(lat), "p95_s": p95, "max_s": lat[-1]}


def part_scale(folders: int) -> dict:
    import httpx
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="serve-scale-"))
    for i in range(folders):
        shutil.copytree(FIXTURE, root / f"run-{i:04d}")
    t0 = time.perf_counter()
    server, url = start_server(root)
    startup = time.perf_counter() - t0  # the server reads every folder once before it listens
    base = url.split("/?")[0]
    try:
        with httpx.Client(timeout=60) as c:
            t0 = time.perf_counter()
            n = len(c.get(f"{base}/api/runs").json()["runs"])
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            c.get(f"{base}/api/runs")
            warm = time.perf_counter() - t0
            t0 = time.perf_counter()
            c.get(f"{base}/")
            first_html = time.perf_counter() - t0
        with sync_playwright() as p:
            b = browser(p)
            page = b.new_page()
            blank, full = [], []
            for _ in range(3):  # best of 3: the machine is shared
                page = b.new_page()
                t0 = time.perf_counter()
                page.goto(f"{base}/static/app.css")  # the browser's own cost of a page on this machine
                blank.append(time.perf_counter() - t0)
                page.close()
                page = b.new_page()
                t0 = time.perf_counter()
                page.goto(url)
                page.wait_for_selector(f"#runs tbody tr:nth-child({folders})")
                full.append(time.perf_counter() - t0)
                page.close()
            blank, full = min(blank), min(full)
            b.close()
        rss = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(root, ignore_errors=True)
    return {"folders": n, "startup_s": startup, "first_api_runs_s": cold, "warm_api_runs_s": warm, "first_html_s": first_html,
            "full_page_load_s": full, "text_page_load_s": blank, "server_rss_mb": rss}


async def _client(base: str, out: list, stop: float) -> None:
    """Follow the run; record every event id; end at the writer's last line (or, failing that, at `stop`)."""
    import httpx

    ids, line_id, last = [], None, False
    async with httpx.AsyncClient(timeout=None) as c:
        async with c.stream("GET", f"{base}/api/stream", params={"runs": "live"}) as r:
            async for line in r.aiter_lines():
                if line.startswith("id:"):
                    line_id = int(line[3:].strip())
                elif line.startswith("data:") and '"bench_end"' in line:
                    last = True
                elif line == "" and line_id is not None:
                    ids.append(line_id)
                    line_id = None
                    if last or time.time() > stop:
                        break
    out.append(ids)


def part_load(clients: int, seconds: float) -> dict:
    from zenlearn.io.live import EventLog
    from zenlearn.io.rundir import RunDir

    root = Path(tempfile.mkdtemp(prefix="serve-load-"))
    run = live_run(root)
    server, url = start_server(root)
    base = url.split("/?")[0]
    results: list = []

    async def main() -> int:
        stop = time.time() + seconds + 120
        tasks = [asyncio.create_task(_client(base, results, stop)) for _ in range(clients)]
        await asyncio.sleep(1.0)  # every client connected
        cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()
        n = 0
        with EventLog(RunDir(run).events) as log:
            while time.perf_counter() - t0 < seconds:
                n += 1
                log.append("epoch", epoch=n, loss=1 / n)
                await asyncio.sleep(0.1)
        cpu = (cpu_seconds(server.pid) - cpu0) / (time.perf_counter() - t0)
        with EventLog(RunDir(run).events) as log:
            log.append("bench_end", epoch=n + 1)  # each client stops after this line
        await asyncio.gather(*tasks)
        return n, cpu

    try:
        n, cpu = asyncio.run(main())
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(root, ignore_errors=True)
    expected = list(range(1, n + 2))
    complete = sum(ids == expected for ids in results)
    dup = sum(len(ids) != len(set(ids)) for ids in results)
    return {"clients": clients, "seconds": seconds, "lines": n + 1, "fewest_received": min(map(len, results)), "clients_with_every_line_once_in_order": complete,
            "clients_with_duplicates": dup, "server_cpu_cores": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="all", choices=["latency", "scale", "load", "all"])
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--folders", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, {os.getloadavg()[0]:.1f} load average at start", flush=True)
    if a.part in ("latency", "all"):
        r = part_latency(a.rows)
        print(f"latency  {json.dumps(r)}\n         p95 {r['p95_s']:.3f} s vs target 0.5 s "
              f"({0.5 / r['p95_s']:.1f}x under); vs a 30 s polling dashboard: {30 / r['p95_s']:.0f}x sooner", flush=True)
    if a.part in ("scale", "all"):
        r = part_scale(a.folders)
        print(f"scale    {json.dumps(r)}\n         first /api/runs {r['first_api_runs_s']:.3f} s (target 0.5), "
              f"full page {r['full_page_load_s']:.3f} s (target 1.5), RSS {r['server_rss_mb']:.0f} MB (target 200)",
              flush=True)
    if a.part in ("load", "all"):
        r = part_load(a.clients, a.seconds)
        print(f"load     {json.dumps(r)}\n         {r['clients_with_every_line_once_in_order']}/{r['clients']} clients "
              f"got all {r['lines']} lines once in order; server CPU {r['server_cpu_cores']:.3f} cores (target < 0.5)",
              flush=True)


if __name__ == "__main__":
    main()
