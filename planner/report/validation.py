"""Render ``PlanResult`` lists as text, JSON or GitHub workflow annotations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from planner.plan.model import PlanResult

FORMATS = ("text", "json", "github")


def lines(results: list[PlanResult], fmt: str) -> Iterator[str]:
    if fmt == "json":
        yield json.dumps(as_json(results), indent=2)
        return
    for result in results:
        for diag in result.diagnostics:
            if fmt == "github":
                yield _annotation(str(result.path), diag.line, diag.col, diag.text(), diag.severity)
            else:
                yield f"{result.path}:{diag.line}:{diag.col}: {diag.text()}"
    yield summary(results)


def summary(results: Iterable[PlanResult]) -> str:
    results = list(results)
    bad = [r for r in results if not r.ok]
    errors = sum(len(r.diagnostics) for r in bad)
    plans = "plan" if len(results) == 1 else "plans"
    if not bad:
        return f"{len(results)} {plans} valid"
    noun = "error" if errors == 1 else "errors"
    return f"{errors} {noun} in {len(bad)} of {len(results)} {plans}"


def as_json(results: list[PlanResult]) -> dict[str, object]:
    return {
        "valid": all(r.ok for r in results),
        "plans": [
            {
                "path": str(r.path),
                "valid": r.ok,
                "name": r.plan.name if r.plan else None,
                "steps": len(r.plan.steps) if r.plan else None,
                "diagnostics": [d.as_dict() for d in r.diagnostics],
            }
            for r in results
        ],
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(path: str, line: int, col: int, message: str, severity: str) -> str:
    kind = "warning" if severity == "warning" else "error"
    props = f"file={_escape_property(path)},line={line},col={col},title=planner validate"
    return f"::{kind} {props}::{_escape_data(message)}"
