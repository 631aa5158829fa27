"""Shared fixtures: run the real CLI as a subprocess, locate the repository's files."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SENTINEL_KEY = "sk-planner-test-sentinel-7f3a9c1e55d04b2a"
"""Planted as COMETAPI_KEY in every CLI run; the secrets test checks it never leaks."""


@dataclass
class Completed:
    code: int
    out: str
    err: str
    seconds: float = 0.0


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60) -> Completed:
    import time

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
    full_env["COMETAPI_KEY"] = SENTINEL_KEY
    full_env["PYTHONUNBUFFERED"] = "1"
    full_env.update(env or {})
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "planner", *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    # The secrets guarantee, checked on every CLI run of the suite, failing ones included.
    assert SENTINEL_KEY not in proc.stdout + proc.stderr, "the API key leaked into the output"
    return Completed(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


@pytest.fixture
def sandbox_factory():
    """Start sandboxes on free loopback ports; all are stopped after the test."""
    from planner.sandbox import Sandbox, SandboxConfig

    started = []

    def start(config: SandboxConfig | None = None, **settings: object) -> Sandbox:
        sandbox = Sandbox(config or SandboxConfig(**settings)).start()  # type: ignore[arg-type]
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(sandbox_factory):
    return sandbox_factory()


@pytest.fixture(autouse=True)
def close_raw_connections():
    from .sandbox_http import Raw

    yield
    while Raw.opened:
        Raw.opened.pop().close()


@pytest.fixture(autouse=True)
def no_key_in_files(request):
    """After every test, no file it wrote (run folders, reports) holds the sentinel key."""
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is None:
        return
    needle = SENTINEL_KEY.encode()
    leaked = [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]
    assert leaked == [], f"the API key was written to {leaked}"
