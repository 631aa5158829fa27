"""A checked plan: what the runner executes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.diagnostics import Diagnostic
from planner.yamlload import Document

STEP_KEYS = ("action", "id", "name", "timeout", "retry")
"""Keys of a step that belong to planner; every other key is a request field."""


@dataclass(frozen=True)
class Step:
    index: int
    action: str
    id: str | None
    fields: dict[str, Any]
    """The request fields (or the runner action's settings), still unresolved."""
    options: dict[str, Any]
    """planner's own keys: name, timeout, retry."""
    line: int
    session_step: int | None = None
    """Index of the init-selection step whose session this step uses, if any."""
    task_step: int | None = None
    """wait/download/query-task: index of the create-task step whose task this is."""

    @property
    def label(self) -> str:
        return self.id or self.action

    @property
    def file_stem(self) -> str:
        return f"{self.index + 1:02d}-{self.label}"


@dataclass(frozen=True)
class InputSpec:
    name: str
    type: str
    default: Any
    required: bool
    description: str = ""


@dataclass(frozen=True)
class Plan:
    name: str
    description: str
    inputs: dict[str, InputSpec]
    steps: tuple[Step, ...]
    data: dict[str, Any]

    def step_by_id(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


@dataclass
class PlanResult:
    """The outcome of checking one plan file."""

    path: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    plan: Plan | None = None
    document: Document | None = None
    text: str | None = None

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)
