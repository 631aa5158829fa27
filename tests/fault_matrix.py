"""The fault matrix: every fault class on every route, a full plan through the CLI each time.

Used by tests/test_fault_matrix.py, and run as a script to regenerate the results table in
docs/reliability.md (never typed by hand):

    python -m tests.fault_matrix            # print the table
    python -m tests.fault_matrix --write    # rewrite it in docs/reliability.md
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "tests/plans/valid/every-route.yaml"
DOC = ROOT / "docs/reliability.md"
START, END = "<!-- fault-matrix:start -->", "<!-- fault-matrix:end -->"
ROUTES = ("init-selection", "add-selection", "delete-selection", "clear-selection", "preview-selection",
          "create-task", "query-task", "files")  # fmt: skip
KINDS = ("rate-limit", "server-error", "gateway-error", "reset", "delay", "malformed-json", "lost-response")
FIRST_STEP = {"files": "download"}
"""The step that sends the first request to a route (every other route: the step of that action)."""
CLI_ARGS = ("--lookup-by-external-id", "--request-timeout", "0.5", "--retry-max-delay", "20ms",
            "--poll-initial", "10ms", "--poll-max", "20ms")  # fmt: skip
KEY = "sk-planner-test-sentinel-7f3a9c1e55d04b2a"


def rule(route: str, kind: str) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "rate-limit": {"code": 1303, "retry_after": 0.05},
        "server-error": {"code": 5001},
        "gateway-error": {"status": 503, "error_code": ""},
        "delay": {"delay": 1.0},
    }.get(kind, {})
    return {"route": route, "kind": kind, "nth": [1], **extra}


@dataclass
class Cell:
    route: str
    kind: str
    lookup: bool
    exit_code: int
    tasks: int
    creates: int
    fired: bool
    attempts: int
    recovery: str
    leaked: bool

    @property
    def ok(self) -> bool:
        """The documented outcome: with lookup support every run completes with one task; without
        it, a create whose answer is in doubt stops with exit 1 and at most one task."""
        if not self.fired or self.leaked:
            return False
        if self.exit_code == 0:
            return self.tasks == self.creates == 1
        return not self.lookup and self.route == "create-task" and self.exit_code == 1 and self.tasks <= 1


def _recovery(attempts: list[dict[str, Any]]) -> str:
    notes = [a.get("note") or "" for a in attempts]
    if any("created again" in n for n in notes):
        return "looked up, created again"
    if any("lookup" in n for n in notes):
        return "looked up, adopted"
    if any(n == "replay" for n in notes):
        return "selection replayed"
    if len(attempts) > 1:
        return "retried"
    return "none needed"


def _stopped(record: dict[str, Any]) -> str:
    kind = (record.get("error") or {}).get("kind")
    return "stopped: task may exist" if kind == "unknown-outcome" else f"stopped: {kind}"


def run_cell(route: str, kind: str, lookup: bool = True) -> Cell:
    from planner.sandbox import Sandbox
    from planner.sandbox.config import SandboxConfig, fault_from_dict

    config = SandboxConfig(faults=(fault_from_dict(rule(route, kind)),), query_by_external_id=lookup)
    args = CLI_ARGS if lookup else tuple(a for a in CLI_ARGS if a != "--lookup-by-external-id")
    with Sandbox(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
        env["COMETAPI_KEY"] = KEY
        proc = subprocess.run(
            [sys.executable, "-m", "planner", "run", "--base-url", sandbox.base_url, str(PLAN), "--run-dir", "run",
             *args],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        leaked = KEY in proc.stdout + proc.stderr or any(
            KEY.encode() in p.read_bytes() for p in Path(tmp).rglob("*") if p.is_file()
        )
        if kind == "delay":
            time.sleep(float(rule(route, kind)["delay"]) + 0.3)  # count a late request once it has landed
        records = [json.loads(p.read_text()) for p in sorted(Path(tmp, "run/steps").glob("*.json"))]
        action = FIRST_STEP.get(route, route)
        step = next((r for r in records if r["action"] == action), {"attempts": []})
        snapshot = sandbox.state.snapshot()
    recovery = _recovery(step["attempts"]) if proc.returncode == 0 else _stopped(step)
    return Cell(
        route=route,
        kind=kind,
        lookup=lookup,
        exit_code=proc.returncode,
        tasks=len(snapshot["tasks"]),
        creates=sum(1 for r in records if r["action"] == "create-task"),
        fired=bool(snapshot["faults"]),
        attempts=len(step["attempts"]),
        recovery=recovery,
        leaked=leaked,
    )


def run_all(workers: int = 2) -> list[Cell]:
    cells = [(route, kind, True) for route in ROUTES for kind in KINDS]
    cells += [("create-task", kind, False) for kind in KINDS]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda c: run_cell(*c), cells))


def table(cells: list[Cell]) -> str:
    lines = [
        "| route | fault | lookup by external_task_id | exit | tasks | attempts on the step | outcome |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in cells:
        lookup = "supported" if c.lookup else "not supported"
        lines.append(f"| {c.route} | {c.kind} | {lookup} | {c.exit_code} | {c.tasks} | {c.attempts} | {c.recovery} |")
    completed = sum(1 for c in cells if c.exit_code == 0 and c.ok)
    stopped = sum(1 for c in cells if c.exit_code != 0 and c.ok)
    lines.append("")
    lines.append(
        f"{len(cells)} runs: {completed} completed with exit 0 and exactly one task; {stopped} stopped safely "
        f"(exit 1, at most one task); {len(cells) - completed - stopped} did anything else."
    )
    return "\n".join(lines)


def documented() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index(START) + len(START) : text.index(END)].strip()


def write(rendered: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    head, tail = text[: text.index(START) + len(START)], text[text.index(END) :]
    DOC.write_text(f"{head}\n{rendered}\n{tail}", encoding="utf-8")


if __name__ == "__main__":
    rendered = table(run_all())
    if "--write" in sys.argv:
        write(rendered)
        print(f"wrote the table to {DOC}")
    else:
        print(rendered)
