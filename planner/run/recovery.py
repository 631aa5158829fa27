"""What the runner does when an answer was lost after the request may have been processed.

A retry of add-selection, delete-selection or create-task could change state twice, so
these are never simply resent (see docs/reliability.md):

* **create-task**: look the task up by its ``external_task_id``. Found: adopt it. Not
  found: that proves nothing unless the API is known to support the lookup
  (``--lookup-by-external-id``); only then is the task created again, with the same
  ``external_task_id``, which the API keeps unique per account: if the lost request was
  still in flight and lands first, the new one is refused and the next lookup finds the
  task. Otherwise the step stops, and ``--resume`` looks again later.
* **add-selection / delete-selection**: re-establish the selection: clear it, replay the
  session's recorded edits, then send this edit again. The result is the same whether or
  not the lost request had been applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from planner.actions import ACTIONS
from planner.plan.model import Step
from planner.run import events as ev
from planner.run.client import Reply
from planner.run.results import StepFailure

if TYPE_CHECKING:
    from planner.run.runner import Runner

QUERY = ACTIONS["query-task"].route or ""


def lookup_task(runner: Runner, step: Step, external_id: str, attempts: list[dict[str, Any]]) -> Reply | None:
    """The task with this ``external_task_id``, or None if the API answered that it has none."""

    path = QUERY.replace("{task_id}", quote(external_id, safe=""))
    try:
        reply = runner.call(step, "GET", path, None, attempts, action="query-task", note="lookup by external_task_id")
    except StepFailure as failed:
        if failed.reply is not None and failed.reply.http_status == 404:
            return None
        raise
    data: dict[str, Any] = reply.data if isinstance(reply.data, dict) else {}
    info: dict[str, Any] = data["task_info"] if isinstance(data.get("task_info"), dict) else {}
    if info.get("external_task_id") not in (None, external_id):
        return None  # some other task answered to this id: not ours
    return reply


def reconcile_task(
    runner: Runner, step: Step, body: dict[str, Any], attempts: list[dict[str, Any]], failed: StepFailure
) -> Reply:

    external_id = str(body["external_task_id"])
    path = ACTIONS["create-task"].route or ""
    for _ in range(3):
        found = lookup_task(runner, step, external_id, attempts)
        if found is not None:
            return found
        if not runner.options.lookup_by_external_id:
            raise StepFailure(
                ev.StepError(
                    "unknown-outcome",
                    f"{failed.error.message}. The task may exist: the API did not find external_task_id "
                    f"{external_id}, but it is not known to support that lookup, so planner does not create it "
                    "again. Look for it in your CometAPI task list; `planner run --resume` looks again.",
                ),
                failed.reply,
            )
        try:
            return runner.call(step, "POST", path, body, attempts, note="created again: the lookup proved it absent")
        except StepFailure as again:
            # The same external_task_id is unique per account: if the first request was still in
            # flight and got there first, this one is refused, and the next lookup finds the task.
            if not again.ambiguous and (again.reply is None or again.reply.code not in (1200, 1201)):
                raise
            failed = again
    raise StepFailure(ev.StepError("unknown-outcome", f"{failed.error.message}; gave up after three lookups"))


def resolve_in_doubt(runner: Runner, step: Step, body: dict[str, Any], attempts: list[dict[str, Any]]) -> Reply | None:
    """--resume of a create-task step that may have created its task: find it first.

    Returns the task when found; None when the lookup proves it absent (create it now);
    raises when absence cannot be proved.
    """

    external_id = str(body["external_task_id"])
    found = lookup_task(runner, step, external_id, attempts)
    if found is not None:
        return found
    if runner.options.lookup_by_external_id:
        return None
    raise StepFailure(
        ev.StepError(
            "unknown-outcome",
            f"the earlier run may have created this task (external_task_id {external_id}); the API did not find "
            "it, but it is not known to support that lookup, so planner does not create it again. Look for it in "
            "your CometAPI task list.",
        )
    )


def reestablish_selection(
    runner: Runner, step: Step, body: dict[str, Any], attempts: list[dict[str, Any]], failed: StepFailure
) -> Reply:
    if step.session_step is None:
        raise failed
    replay(runner, step, step.session_step, str(body["session_id"]), attempts)
    return runner.call(step, "POST", ACTIONS[step.action].route or "", body, attempts, note="sent again after replay")


def replay(runner: Runner, step: Step, session_step: int, session_id: str, attempts: list[dict[str, Any]]) -> None:
    """Clear the session's selection and send its recorded edits again, in order."""
    clear = ACTIONS["clear-selection"].route or ""
    runner.call(step, "POST", clear, {"session_id": session_id}, attempts, action="clear-selection", note="replay")
    for action, edit in runner.edits.get(session_step, []):
        route = ACTIONS[action].route or ""
        runner.call(step, "POST", route, {**edit, "session_id": session_id}, attempts, action=action, note="replay")
