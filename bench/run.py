"""Benchmark `planner run` as a whole process against a plain `requests` script.

    python bench/run.py [--pairs N]

Both make the same 8 requests to a sandbox running in its own process: init, add,
delete, preview, create, and three polls with no pause. They run in alternating pairs;
medians are printed. Targets: planner's wall time at most 1.5x the script's, and its
peak memory (max RSS) at most 60 MiB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAN = """version: 1
name: bench
steps:
  - action: init-selection
    video_url: https://cdn.example.com/clips/bench-5s.mp4
  - action: add-selection
    frame_index: 0
    points: [{x: 0.5, y: 0.5}, {x: 0.6, y: 0.6}]
  - action: delete-selection
    frame_index: 0
    points: [{x: 0.6, y: 0.6}]
  - action: preview-selection
  - action: create-task
    edit_mode: removal
    prompt: remove the object from <<<video_1>>>
  - action: wait
    poll: {initial: 0s, max: 0s}
"""

SCRIPT = """
import os, sys
import requests

base = sys.argv[1] + "/kling/v1/videos/multi-elements"
s = requests.Session()
s.headers["Authorization"] = "Bearer " + os.environ["COMETAPI_KEY"]
def post(route, body):
    r = s.post(base + route, json=body, timeout=60)
    data = r.json()
    assert r.status_code == 200 and data["code"] == 0, data
    return data["data"]
sid = post("/init-selection", {"video_url": "https://cdn.example.com/clips/bench-5s.mp4"})["session_id"]
post("/add-selection", {"session_id": sid, "frame_index": 0, "points": [{"x": 0.5, "y": 0.5}, {"x": 0.6, "y": 0.6}]})
post("/delete-selection", {"session_id": sid, "frame_index": 0, "points": [{"x": 0.6, "y": 0.6}]})
post("/preview-selection", {"session_id": sid})
task = post("", {"session_id": sid, "edit_mode": "removal", "prompt": "remove the object from <<<video_1>>>"})
for _ in range(3):
    status = s.get(base + "/" + task["task_id"], timeout=60).json()["data"]["task_status"]
assert status == "succeed", status
"""


def measure(args: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{args[:4]} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=10)
    pairs = parser.parse_args().pairs
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "planner", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert sandbox.stdout is not None
    url = sandbox.stdout.readline().strip()
    # An installed planner has byte-compiled modules (pip compiles on install). This
    # machine sets PYTHONDONTWRITEBYTECODE, which would recompile planner's own modules
    # from source in every run of a checkout; measure as an installation would run.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["COMETAPI_KEY"] = "sk-bench"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(Path(__file__).resolve().parent.parent / "planner"),
            str(Path(__file__).resolve().parent.parent / "schemas"),
        ],
        check=True,
        env=env,
    )
    planner_t, plain_t, planner_m, plain_m = [], [], [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            plan = Path(tmp) / "bench.yaml"
            plan.write_text(PLAN)
            script = Path(tmp) / "plain.py"
            script.write_text(SCRIPT)
            for i in range(pairs):
                wall, rss = measure(
                    [
                        sys.executable,
                        "-m",
                        "planner",
                        "run",
                        "--base-url",
                        url,
                        str(plan),
                        "--run-dir",
                        str(Path(tmp) / f"run{i}"),
                    ],
                    env,
                    tmp,
                )
                planner_t.append(wall)
                planner_m.append(rss)
                wall, rss = measure([sys.executable, str(script), url], env, tmp)
                plain_t.append(wall)
                plain_m.append(rss)
    finally:
        sandbox.terminate()
        sandbox.wait()
    p, q = statistics.median(planner_t), statistics.median(plain_t)
    print(
        f"planner run:     median {p * 1000:.0f} ms, peak RSS median {statistics.median(planner_m):.1f} MiB "
        f"(max {max(planner_m):.1f})"
    )
    print(f"plain requests:  median {q * 1000:.0f} ms, peak RSS median {statistics.median(plain_m):.1f} MiB")
    print(f"ratio planner/plain: {p / q:.2f}x over {pairs} alternating pairs (target <= 1.5x; memory <= 60 MiB)")


if __name__ == "__main__":
    main()
