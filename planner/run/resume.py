"""``planner run --resume RUN_DIR``: continue an interrupted or failed run in its own folder.

What is kept, what is redone, and when resuming is refused, is in docs/reliability.md.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import UsageError
from planner.plan.model import Plan

SESSION_TTL = 24 * 3600
DEFINITELY_NOT_CREATED = frozenset({"check"})
"""Error kinds after which a create-task request provably did not create a task."""


@dataclass
class Resume:
    run_dir: Path
    meta: dict[str, Any]
    plan_text: str
    plan_path: Path
    inputs: dict[str, Any]
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Step index -> the step file, for every step file found."""

    def kept(self, plan: Plan) -> dict[int, dict[str, Any]]:
        """The leading steps that succeeded: they are not run again."""
        out: dict[int, dict[str, Any]] = {}
        for step in plan.steps:
            record = self.records.get(step.index)
            if not record or record.get("status") != "succeeded":
                break
            out[step.index] = record
        return out

    def create_in_doubt(self, index: int) -> str | None:
        """The external_task_id of a create-task step that may have created its task."""
        record = self.records.get(index)
        if not record or record.get("action") != "create-task":
            return None
        error = record.get("error") or {}
        if error.get("kind") in DEFINITELY_NOT_CREATED:
            return None
        if error.get("kind") == "api" and error.get("code") not in (5000, 5001, 5002):
            return None  # the API refused it: nothing was created
        body = (record.get("request") or {}).get("body") or {}
        value = body.get("external_task_id")
        return str(value) if value else None


def load(run_dir: Path, *, force: bool) -> Resume:
    """The run as recorded; refuses (UsageError) what cannot be resumed."""
    meta_path = run_dir / "run.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"{run_dir} is not a run folder (no run.json)") from exc
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {meta_path}: {exc}") from exc
    if meta.get("sandbox") and meta.get("status") != "succeeded":
        raise UsageError(
            "a --sandbox run cannot be resumed: its in-process sandbox ended with it",
            hint="run against `planner sandbox` with --base-url to try resuming",
        )
    copy = run_dir / "plan.yaml"
    source = Path(str(meta.get("plan", "")))
    recorded = meta.get("plan_sha256")
    if source.is_file():
        current = hashlib.sha256(source.read_bytes()).hexdigest()
        if current != recorded and not force:
            raise UsageError(
                f"{source} changed since the run (sha256 {current[:12]}, recorded {str(recorded)[:12]})",
                hint=f"--force continues the run as recorded in {copy}",
            )
    if copy.is_file() and hashlib.sha256(copy.read_bytes()).hexdigest() == recorded:
        plan_text, plan_path = copy.read_text(encoding="utf-8"), copy
    elif source.is_file() and hashlib.sha256(source.read_bytes()).hexdigest() == recorded:
        plan_text, plan_path = source.read_text(encoding="utf-8"), source
    else:
        raise UsageError(f"the plan as it was run is not in {run_dir} nor at {source}")
    records: dict[int, dict[str, Any]] = {}
    for path in sorted((run_dir / "steps").glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # cannot happen with atomic writes; such a step simply runs again
        if isinstance(record, dict) and isinstance(record.get("index"), int):
            records[record["index"] - 1] = record
    for stray in run_dir.rglob(".*.tmp"):
        stray.unlink(missing_ok=True)  # half-written files of a killed run
    return Resume(run_dir, meta, plan_text, plan_path, dict(meta.get("inputs") or {}), records)


def check_sessions(resume: Resume, plan: Plan, now: float | None = None) -> None:
    """Refuse when a session the remaining steps need has expired."""
    now = time.time() if now is None else now
    kept = resume.kept(plan)
    for step in plan.steps:
        if step.index in kept or step.session_step is None or step.session_step not in kept:
            continue
        if step.action in ("wait", "download", "query-task"):
            continue
        opened = _epoch(kept[step.session_step].get("ended_at"))
        if opened is not None and now - opened >= SESSION_TTL:
            hours = (now - opened) / 3600
            raise UsageError(
                f"the session opened by step {step.session_step + 1:02d} has expired "
                f"({hours:.0f} h ago; sessions last 24 h)",
                hint="start a new run of the plan",
            )
        return


def _epoch(stamp: Any) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(str(stamp), "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None
