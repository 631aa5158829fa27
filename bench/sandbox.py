"""Benchmark the sandbox: prints medians, asserts nothing.

    python bench/sandbox.py [--runs N] [--flows N]

* startup: from launching `planner sandbox --port 0` to its first answered request
  (target: under 0.5 s); the in-process start of `Sandbox().start()` is shown too;
* throughput: requests per second for the full 8-request flow (init, add, delete,
  preview, create, three polls) over one keep-alive connection, with the sandbox in
  its own process (target: at least 500 requests/s).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit

BASE = "/kling/v1/videos/multi-elements"
HEADERS = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}


def start_process() -> tuple[subprocess.Popen[str], str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    conn = http.client.HTTPConnection(urlsplit(url).hostname, urlsplit(url).port)
    conn.request("GET", "/_sandbox/requests")
    conn.getresponse().read()
    conn.close()
    return proc, url, time.perf_counter() - started


def call(conn: http.client.HTTPConnection, method: str, path: str, body: object = None) -> dict:
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=HEADERS)
    reply = conn.getresponse()
    data = json.loads(reply.read())
    assert reply.status == 200, data
    return data


def flow(conn: http.client.HTTPConnection, n: int) -> int:
    point = {"x": 0.5, "y": 0.5}
    sid = call(conn, "POST", f"{BASE}/init-selection", {"video_url": f"https://cdn.example.com/bench/{n}-5s.mp4"})[
        "data"
    ]["session_id"]
    call(
        conn,
        "POST",
        f"{BASE}/add-selection",
        {"session_id": sid, "frame_index": 0, "points": [point, {"x": 0.6, "y": 0.6}]},
    )
    call(
        conn,
        "POST",
        f"{BASE}/delete-selection",
        {"session_id": sid, "frame_index": 0, "points": [{"x": 0.6, "y": 0.6}]},
    )
    call(conn, "POST", f"{BASE}/preview-selection", {"session_id": sid})
    task = call(conn, "POST", BASE, {"session_id": sid, "edit_mode": "removal", "prompt": "remove it"})
    for _ in range(3):
        call(conn, "GET", f"{BASE}/{task['data']['task_id']}")
    return 8


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--flows", type=int, default=100)
    args = parser.parse_args()

    in_process = []
    from planner.sandbox import Sandbox

    for _ in range(args.runs):
        started = time.perf_counter()
        sandbox = Sandbox().start()
        in_process.append(time.perf_counter() - started)
        sandbox.stop()

    startups, rates = [], []
    for _ in range(args.runs):
        proc, url, startup = start_process()
        startups.append(startup)
        conn = http.client.HTTPConnection(urlsplit(url).hostname, urlsplit(url).port)
        started = time.perf_counter()
        sent = sum(flow(conn, n) for n in range(args.flows))
        rates.append(sent / (time.perf_counter() - started))
        conn.close()
        proc.terminate()
        proc.wait()
    print(
        f"startup (process, to first answer): median {statistics.median(startups):.3f} s "
        f"over {args.runs} runs (target < 0.5 s)"
    )
    print(f"startup (in-process Sandbox().start()): median {statistics.median(in_process):.3f} s")
    print(
        f"throughput, 8-request flow, keep-alive: median {statistics.median(rates):.0f} requests/s "
        f"({args.flows} flows x {args.runs} runs; min {min(rates):.0f}, max {max(rates):.0f}; target >= 500)"
    )


if __name__ == "__main__":
    main()
