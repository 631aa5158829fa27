"""Machine-readable outputs of a run: the --json summary and JUnit XML."""

from __future__ import annotations

from typing import Any

from planner.run import events as ev
from planner.secrets import Redactor


def as_json(event: ev.RunFinished, plan_name: str, total: int, redactor: Redactor) -> dict[str, Any]:
    data = {
        "run_id": event.run_id,
        "plan": plan_name,
        "status": event.status,
        "exit_code": event.exit_code,
        "run_dir": event.run_dir,
        "started_at": event.started_at,
        "ended_at": event.ended_at,
        "elapsed_s": round(event.elapsed, 3),
        "steps": [
            {
                "index": r.index + 1,
                "id": r.id,
                "action": r.action,
                "status": r.status,
                "elapsed_s": round(r.elapsed, 3),
                "attempts": len(r.attempts),
                "outputs": r.outputs,
                "error": r.error.as_dict() if r.error else None,
            }
            for r in event.results
        ],
        "not_run": total - len(event.results),
    }
    scrubbed: dict[str, Any] = redactor.scrub(data)
    return scrubbed


def junit_xml(event: ev.RunFinished, plan_name: str, labels: list[tuple[str, str]], redactor: Redactor) -> bytes:
    """One test case per step; steps that never ran are skipped."""
    from xml.etree import ElementTree as ET

    failures = sum(1 for r in event.results if r.status == "failed")
    errors = sum(1 for r in event.results if r.status == "interrupted")
    suite = ET.Element(
        "testsuite",
        name=f"planner.{plan_name}",
        tests=str(len(labels)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(len(labels) - len(event.results)),
        time=f"{event.elapsed:.3f}",
        timestamp=event.started_at,
    )
    for index, (label, action) in enumerate(labels):
        case = ET.SubElement(
            suite, "testcase", classname=f"planner.{plan_name}", name=f"{index + 1:02d} {label} ({action})"
        )
        result = event.results[index] if index < len(event.results) else None
        if result is None:
            ET.SubElement(case, "skipped", message="not run: an earlier step failed")
            continue
        case.set("time", f"{result.elapsed:.3f}")
        if result.error is not None:
            tag = "error" if result.status == "interrupted" else "failure"
            node = ET.SubElement(case, tag, message=redactor.text(result.error.line()), type=result.error.kind)
            node.text = redactor.text(result.error.line())
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml
