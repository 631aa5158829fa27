"""Killed with SIGKILL at random points, a run resumes to completion with exactly one task.

50 seeded trials. Each request to the sandbox takes a little time, so the kills land all
over the run: before anything was sent, mid-selection, with the create in flight, while
waiting, while downloading.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planner.sandbox import Sandbox, SandboxConfig
from planner.sandbox.config import fault_from_dict

from .conftest import ROOT, SENTINEL_KEY, run_cli

PLAN = ROOT / "tests/plans/valid/every-route.yaml"
TRIALS = 50
FLAGS = ("--lookup-by-external-id", "--poll-initial", "10ms", "--poll-max", "20ms", "--retry-max-delay", "20ms")


def kill_at_random(tmp: Path, base_url: str, delay: float) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
    env["COMETAPI_KEY"] = SENTINEL_KEY
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner", "run", "--base-url", base_url, str(PLAN), "--run-dir", "run", *FLAGS],
        cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc.returncode


@pytest.mark.parametrize("trial", range(TRIALS))
def test_resume_after_sigkill(tmp_path: Path, trial: int) -> None:
    rng = random.Random(trial)
    slow = fault_from_dict({"route": "*", "kind": "delay", "probability": 1.0, "delay": 0.03})
    with Sandbox(SandboxConfig(faults=(slow,), query_by_external_id=True, seed=trial)) as sandbox:
        code = kill_at_random(tmp_path, sandbox.base_url, rng.uniform(0.1, 0.7))
        run_json = tmp_path / "run/run.json"
        if code == 0 or (run_json.exists() and json.loads(run_json.read_text())["status"] == "succeeded"):
            pass  # finished before the kill landed
        elif not run_json.exists():
            # Killed before the run folder existed: nothing can have been sent.
            assert sandbox.state.snapshot()["requests"] == {}
            assert run_cli("run", "--base-url", sandbox.base_url, str(PLAN), "--run-dir", "run", *FLAGS,
                           cwd=tmp_path).code == 0  # fmt: skip
        else:
            for path in (tmp_path / "run").rglob("*.json"):
                json.loads(path.read_text())  # no step file is partial
            resumed = run_cli("run", "--resume", "run", *FLAGS, cwd=tmp_path)
            assert resumed.code == 0, resumed.out + resumed.err
        time.sleep(0.05)  # let a request of the killed process that is still being handled land
        tasks = sandbox.state.snapshot()["tasks"]
    assert len(tasks) == 1, tasks
    meta = json.loads((tmp_path / "run/run.json").read_text())
    assert meta["status"] == "succeeded"
    assert len(list((tmp_path / "run/steps").glob("*.json"))) == 10
    assert not list((tmp_path / "run").rglob("*.tmp"))
