"""Loading and checking plan files: YAML → schema → cross-step rules → ``PlanResult``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.diagnostics import Diagnostic
from planner.errors import PlanSyntaxError
from planner.plan.model import Plan, PlanResult, Step
from planner.schema import MAX_STEPS

__all__ = ["MAX_BYTES", "Plan", "PlanResult", "Step", "check_file", "check_text"]

MAX_BYTES = 1 << 20
"""Plans are small; a larger file is refused before it is parsed."""


def check_file(path: Path, overrides: dict[str, Any] | None = None) -> PlanResult:
    """Load and check one plan file. Never raises for a bad plan: see ``diagnostics``."""
    result = PlanResult(path=path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            result.diagnostics.append(Diagnostic(1, 1, f"file is {size / 2**20:.1f} MiB; a plan may be at most 1 MiB"))
            return result
        raw = path.read_bytes()
    except OSError as exc:
        result.diagnostics.append(Diagnostic(1, 1, f"cannot read file: {exc.strerror or exc}"))
        return result
    return check_bytes(raw, path, overrides)


def check_bytes(raw: bytes, path: Path, overrides: dict[str, Any] | None = None) -> PlanResult:
    result = PlanResult(path=path)
    if len(raw) > MAX_BYTES:
        result.diagnostics.append(Diagnostic(1, 1, "a plan may be at most 1 MiB"))
        return result
    nul = raw.find(b"\0")
    if nul >= 0:
        line, col = _line_col(raw, nul)
        result.diagnostics.append(Diagnostic(line, col, "binary data (a NUL byte) in a plan file"))
        return result
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        result.diagnostics.append(Diagnostic(line, col, "not UTF-8 text", "save the plan as UTF-8"))
        return result
    return check_text(text.removeprefix("\ufeff"), path, overrides)


def check_text(text: str, path: Path, overrides: dict[str, Any] | None = None) -> PlanResult:
    from planner import yamlload
    from planner.plan import rules, structure

    result = PlanResult(path=path, text=text)
    try:
        doc = yamlload.load(text)
    except PlanSyntaxError as exc:
        result.diagnostics.append(Diagnostic(exc.line, exc.col, exc.message, exc.hint))
        return result
    result.document = doc
    if doc.data is None:
        result.diagnostics.append(
            Diagnostic(1, 1, "the plan is empty", "start with 'version: 1', 'name:' and 'steps:'")
        )
        return result
    if not isinstance(doc.data, dict):
        line, col = doc.position(())
        kind = "a list" if isinstance(doc.data, list) else "a single value"
        result.diagnostics.append(
            Diagnostic(
                line,
                col,
                f"a plan is a mapping of keys, but this file holds {kind}",
                "start with 'version: 1', 'name:' and 'steps:'",
            )
        )
        return result
    steps = doc.data.get("steps")
    if isinstance(steps, list) and len(steps) > MAX_STEPS:
        # Bound the work before the schema walks every step.
        line, col = doc.position(("steps",), key=True)
        result.diagnostics.append(
            Diagnostic(
                line,
                col,
                f"steps: has {len(steps)} steps; a plan may have at most {MAX_STEPS}",
                "split the work into several plans",
                ("steps",),
            )
        )
        return result
    result.diagnostics.extend(structure.check(doc))
    if result.diagnostics:
        return result
    plan, diagnostics = rules.check(doc, overrides)
    result.diagnostics.extend(diagnostics)
    if result.ok:
        result.plan = plan
    return result


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    return line, len(raw[start:offset].decode("utf-8", "replace")) + 1
