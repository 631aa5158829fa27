"""``planner run --dry-run``: every request that would be sent, resolved as far as possible."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from planner import expressions
from planner.actions import ACTIONS
from planner.plan.model import Plan


def describe(plan: Plan, inputs: dict[str, Any], base_url: str) -> list[str]:
    def lookup(ref: expressions.Ref) -> Any:
        if ref.step is None:
            return inputs[ref.name]
        return f"${{{{ steps.{ref.step}.{ref.name} }}}}"

    lines = [f"planner: dry run of '{plan.name}' against {base_url}; nothing is sent"]
    for step in plan.steps:
        head = f"{step.index + 1:02d} {step.label} ({step.action})"
        body = expressions.resolve(step.fields, lookup)
        action = ACTIONS[step.action]
        if action.uses_session and "session_id" not in body and step.session_step is not None:
            init = plan.steps[step.session_step]
            body["session_id"] = f"${{{{ steps.{init.id or f'#{init.index + 1}'}.session_id }}}}"
        if step.action == "create-task":
            body.setdefault("external_task_id", f"planner-<run id>-{step.index + 1:02d}")
        task = body.pop("task_id", None)
        if task is None and step.task_step is not None:
            origin = plan.steps[step.task_step]
            task = f"${{{{ steps.{origin.id or f'#{origin.index + 1}'}.task_id }}}}"
        if step.action == "wait":
            lines.append(f"{head}: poll GET {base_url}{_route('query-task', task)} until succeed or failed")
        elif step.action == "download":
            lines.append(f"{head}: download the result videos of task {task} into the run folder")
        elif action.method == "GET":
            lines.append(f"{head}: GET {base_url}{_route(step.action, task)}")
        else:
            lines.append(f"{head}: {action.method} {base_url}{action.route}")
            lines.append("   " + json.dumps(body, ensure_ascii=False))
    return lines


def _route(action: str, task: Any) -> str:
    route = ACTIONS[action].route or ""
    text = str(task)
    return route.replace("{task_id}", text if text.startswith("${{") else quote(text, safe=""))
