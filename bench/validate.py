"""Benchmark `planner validate`: prints medians, asserts nothing.

    python bench/validate.py [--runs N]

* validating 100 example plans in one call (target: under 1 s wall time);
* `planner --help` (target: under 0.25 s);
* each malformed-input case from the plan-files issue (target: under 2 s each).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(args: list[str], runs: int) -> tuple[float, int]:
    samples, code = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        code = subprocess.run(args, capture_output=True, check=False).returncode
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), code


def hostile_cases(folder: Path) -> dict[str, Path]:
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    cases = {
        "empty file": b"",
        "binary file": bytes(range(256)) * 64,
        "root not a mapping": b"- a\n- b\n",
        "10 MB file": b"version: 1\nname: x\ndescription: '" + b"x" * (10 * 2**20) + b"'\n",
        "alias bomb": ("\n".join(bomb) + "\n").encode(),
        "10,000 steps": ("version: 1\nname: many\nsteps:\n" + "  - action: clear-selection\n" * 10_000).encode(),
        "deep nesting": b"version: 1\nname: deep\nsteps: " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    }
    paths = {}
    for i, (name, data) in enumerate(cases.items()):
        paths[name] = folder / f"case{i}.yaml"
        paths[name].write_bytes(data)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    planner = [sys.executable, "-m", "planner"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        examples = sorted((ROOT / "plans/examples").glob("*.yaml"))
        plans = []
        for i in range(100):
            target = folder / f"plan{i:03d}.yaml"
            shutil.copy(examples[i % len(examples)], target)
            plans.append(str(target))
        median, code = timed([*planner, "validate", *plans], runs)
        print(f"validate 100 plans: median {median:.3f} s over {runs} runs (exit {code}; target < 1 s)")
        median, code = timed([*planner, "--help"], runs)
        print(f"planner --help:     median {median:.3f} s over {runs} runs (exit {code}; target < 0.25 s)")
        median, _ = timed([sys.executable, "-c", "pass"], runs)
        print(f"  (bare python startup on this machine: median {median:.3f} s)")
        for name, path in hostile_cases(folder).items():
            median, code = timed([*planner, "validate", str(path)], max(3, runs // 3))
            print(f"hostile {name:<20} median {median:.3f} s (exit {code}; target < 2 s, exit 1)")


if __name__ == "__main__":
    main()
