"""What the runner reports while it works. Outputs subscribe; the runner never prints.

RunStarted → (StepStarted → [Attempt]... → [Progress]... → StepFinished)... → RunFinished
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class RunStarted:
    run_id: str
    plan_name: str
    run_dir: str | None
    base_url: str
    steps: int
    started_at: str
    sandbox: bool = False


@dataclass(eq=False)
class StepStarted:
    index: int
    label: str
    action: str
    request: dict[str, Any] | None
    """Method, URL and resolved body, already redacted; None for runner actions."""
    started_at: str


@dataclass(eq=False)
class Attempt:
    """One HTTP exchange of a step (a retry is another attempt; a poll is one too)."""

    index: int
    number: int
    method: str
    url: str
    started_at: str
    elapsed_ms: float
    http_status: int | None
    code: int | None
    error: str | None
    retry_in: float | None = None
    """Seconds until the next attempt when this one will be retried."""
    note: str | None = None
    """Why this request was sent when it is not the step's own: a lookup or a replay."""


@dataclass(eq=False)
class Progress:
    """A wait step's poll result."""

    index: int
    label: str
    task_status: str
    elapsed: float
    polls: int


@dataclass(eq=False)
class StepError:
    kind: str
    """api | gateway | transport | check | task-failed | timeout | interrupted | download | response"""
    message: str
    http_status: int | None = None
    code: int | None = None
    meaning: str | None = None
    request_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def line(self) -> str:
        parts = []
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code is not None:
            parts.append(f"code {self.code}" + (f" ({self.meaning})" if self.meaning else ""))
        head = ", ".join(parts)
        tail = f" [request_id {self.request_id}]" if self.request_id else ""
        return f"{head}: {self.message}{tail}" if head else f"{self.message}{tail}"


@dataclass(eq=False)
class StepResult:
    index: int
    id: str | None
    label: str
    action: str
    name: str | None
    status: str
    """succeeded | failed | interrupted | skipped"""
    started_at: str
    ended_at: str
    elapsed: float
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    error: StepError | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    kept: bool = False
    """Restored from the run folder by --resume, not run again."""

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index + 1,
            "id": self.id,
            "action": self.action,
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "elapsed_s": round(self.elapsed, 3),
            "request": self.request,
            "response": self.response,
            "outputs": self.outputs,
            "attempts": self.attempts,
            "error": self.error.as_dict() if self.error else None,
        }
        data.update(self.extra)
        return data


@dataclass(eq=False)
class StepFinished:
    result: StepResult


@dataclass(eq=False)
class RunFinished:
    run_id: str
    status: str
    """succeeded | failed | interrupted"""
    exit_code: int
    results: tuple[StepResult, ...]
    started_at: str
    ended_at: str
    elapsed: float
    run_dir: str | None


Event = RunStarted | StepStarted | Attempt | Progress | StepFinished | RunFinished
