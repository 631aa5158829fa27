"""Execute a checked plan, step by step, emitting events. No printing, no click."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from planner import expressions
from planner.actions import ACTIONS, SELECTION_EDITS
from planner.errors import ExpressionError
from planner.exitcodes import ExitCode
from planner.plan.model import Plan, Step
from planner.plan.structure import request_problem
from planner.run import events as ev
from planner.run.client import ApiClient, Reply, judge
from planner.run.folder import utc_now
from planner.run.results import StepFailure, failure, outputs_of, problem_of
from planner.run.retry import RetryPolicy, seconds
from planner.secrets import Redactor

Emit = Callable[[ev.Event], None]
API_STEP_TIMEOUT = 120.0
NON_IDEMPOTENT = frozenset({"add-selection", "delete-selection", "create-task"})
"""Resending these after an answer was lost could change state twice."""
REQUIRED_OUTPUTS = {"init-selection": ("session_id",), "create-task": ("task_id",), "query-task": ("task_status",)}
"""Outputs without which a step's answer is unusable, even with code 0."""


@dataclass
class RunOptions:
    base_url: str
    key: str
    inputs: dict[str, Any] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_initial: float | None = None
    poll_max: float | None = None
    request_timeout: float = 60.0
    seed: int | None = None
    sandbox: bool = False
    """The base URL is the in-process sandbox."""
    lookup_by_external_id: bool = False
    """The API finds tasks by external_task_id, so a 404 proves a task does not exist."""


class Context:
    """Values expressions can see: inputs, and the outputs of finished steps."""

    def __init__(self, inputs: dict[str, Any]) -> None:
        self.inputs = inputs
        self.outputs: dict[int, dict[str, Any]] = {}
        self.ids: dict[str, int] = {}
        self.extra: dict[int, dict[str, Any]] = {}

    def lookup(self, ref: expressions.Ref) -> Any:
        if ref.step is None:
            if ref.name not in self.inputs:
                raise ExpressionError(f"input '{ref.name}' has no value")
            return self.inputs[ref.name]
        index = self.ids.get(ref.step)
        value = self.outputs.get(index, {}).get(ref.name) if index is not None else None
        if value is None:
            raise ExpressionError(f"steps.{ref.step}.{ref.name} has no value")
        return value

    def resolve(self, value: Any) -> Any:
        return expressions.resolve(value, self.lookup)

    def publish(self, step: Step, outputs: dict[str, Any], extra: dict[str, Any]) -> None:
        """Make a finished step's outputs visible to the steps after it."""
        self.outputs[step.index] = outputs
        self.extra[step.index] = extra
        if step.id:
            self.ids[step.id] = step.index


class Runner:
    def __init__(
        self,
        plan: Plan,
        options: RunOptions,
        emit: Emit,
        *,
        run_id: str,
        redactor: Redactor,
        run_dir: Path | None = None,
        kept: dict[int, dict[str, Any]] | None = None,
        in_doubt: dict[int, str] | None = None,
    ) -> None:
        self.plan = plan
        self.kept = kept or {}
        """--resume: step index -> its step file, for steps that succeeded earlier."""
        self.in_doubt = in_doubt or {}
        """--resume: create-task step index -> external_task_id of a task that may exist."""
        self.options = options
        self.emit = emit
        self.run_id = run_id
        self.redactor = redactor
        self.run_dir = run_dir
        self.client = ApiClient(options.base_url, options.key, read_timeout=options.request_timeout)
        self.context = Context(options.inputs)
        self.rng = random.Random(options.seed)
        self.sleep: Callable[[float], None] = time.sleep
        self.edits: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        """init step index -> selection edits sent since (add/delete bodies, in order)."""
        self.resume_at: int | None = None

    def restore(self, step: Step, record: dict[str, Any]) -> ev.StepResult:
        """A step that succeeded in the earlier run: its outputs, as recorded."""
        outputs = record.get("outputs") or {}
        extra: dict[str, Any] = {k: record[k] for k in ("videos", "files") if k in record}
        self.context.publish(step, outputs, extra)
        request = record.get("request") or {}
        if step.session_step is not None and step.action in SELECTION_EDITS:
            self.remember_edit(step.session_step, step.action, dict(request.get("body") or {}))
        return step_result(
            step,
            status="succeeded",
            started_at=str(record.get("started_at", "")),
            ended_at=str(record.get("ended_at", "")),
            elapsed=float(record.get("elapsed_s") or 0.0),
            request=request or None,
            response=record.get("response"),
            outputs=outputs,
            attempts=list(record.get("attempts") or []),
            extra=extra,
            kept=True,
        )

    # -- the run -------------------------------------------------------------------------

    def run(self) -> ev.RunFinished:
        started, t0 = utc_now(), time.monotonic()
        self.emit(
            ev.RunStarted(
                self.run_id,
                self.plan.name,
                str(self.run_dir) if self.run_dir else None,
                self.options.base_url,
                len(self.plan.steps),
                started,
                self.options.sandbox,
            )
        )
        results: list[ev.StepResult] = []
        status, code = "succeeded", ExitCode.OK
        first = True
        try:
            for step in self.plan.steps:
                if step.index in self.kept:
                    result = self.restore(step, self.kept[step.index])
                    self.emit(ev.StepFinished(result))
                    continue
                if first and self.kept:
                    self.resume_at = step.index
                first = False
                result = self.step(step)
                results.append(result)
                self.emit(ev.StepFinished(result))
                if not result.ok:
                    status, code = (
                        ("interrupted", ExitCode.INTERRUPTED)
                        if result.status == "interrupted"
                        else ("failed", ExitCode.FAILED)
                    )
                    break
        except KeyboardInterrupt:  # between steps: every finished step is already recorded
            status, code = "interrupted", ExitCode.INTERRUPTED
        finally:
            self.client.close()
        finished = ev.RunFinished(
            self.run_id,
            status,
            int(code),
            tuple(results),
            started,
            utc_now(),
            time.monotonic() - t0,
            str(self.run_dir) if self.run_dir else None,
        )
        self.emit(finished)
        return finished

    def step(self, step: Step) -> ev.StepResult:
        started, t0 = utc_now(), time.monotonic()
        attempts: list[dict[str, Any]] = []
        state: dict[str, Any] = {"request": None, "reply": None, "outputs": {}, "extra": {}}
        status, error = "succeeded", None
        try:
            if step.action == "wait":
                from planner.run.tasks import wait

                wait(self, step, state, attempts)
            elif step.action == "download":
                from planner.run.tasks import download

                download(self, step, state, attempts)
            else:
                self.api_step(step, state, attempts)
        except StepFailure as failure:
            status, error = "failed", failure.error
            if failure.reply is not None:
                state["reply"] = failure.reply
        except KeyboardInterrupt:
            status = "interrupted"
            error = ev.StepError("interrupted", "interrupted by a signal; `planner run --resume` continues")
        reply: Reply | None = state["reply"]
        if status == "succeeded":
            self.context.publish(step, state["outputs"], state["extra"])
        return step_result(
            step,
            status=status,
            started_at=started,
            ended_at=utc_now(),
            elapsed=time.monotonic() - t0,
            request=state["request"],
            response=reply.record() if reply else None,
            outputs=state["outputs"],
            attempts=attempts,
            error=error,
            extra=state["extra"],
        )

    # -- API steps -----------------------------------------------------------------------

    def resolve_fields(self, step: Step) -> dict[str, Any]:
        try:
            body: dict[str, Any] = self.context.resolve(step.fields)
        except ExpressionError as exc:
            raise StepFailure(ev.StepError("check", exc.message)) from exc
        return body

    def api_step(self, step: Step, state: dict[str, Any], attempts: list[dict[str, Any]]) -> None:
        action = ACTIONS[step.action]
        body = self.resolve_fields(step)
        if action.uses_session and "session_id" not in body and step.session_step is not None:
            body["session_id"] = self.context.outputs[step.session_step]["session_id"]
        if step.action == "create-task":
            body.setdefault("external_task_id", self.external_task_id(step))
        path = action.route or ""
        method = action.method or "POST"
        send: Any = body
        if method == "GET":
            path = path.replace("{task_id}", quote(str(body.get("task_id", "")), safe=""))
            send = None
        state["request"] = self.redactor.scrub({"method": method, "url": self.client.base_url + path, "body": send})
        self.emit(ev.StepStarted(step.index, step.label, step.action, state["request"], utc_now()))
        # Fields without expressions were checked with the plan; check again what was resolved.
        problem = request_problem(step.action, body) if expressions.has_expression(step.fields) else None
        if problem:
            raise StepFailure(ev.StepError("check", f"the resolved request breaks the API contract: {problem}"))
        self.runtime_checks(step, body)
        found = None
        if step.index == self.resume_at or step.index in self.in_doubt:
            from planner.run import recovery

            if step.session_step is not None and step.action in (*SELECTION_EDITS, "preview-selection"):
                # The killed run may have sent this step already: start from the recorded selection.
                recovery.replay(self, step, step.session_step, str(body["session_id"]), attempts)
            if step.index in self.in_doubt:
                found = recovery.resolve_in_doubt(self, step, body, attempts)
        try:
            reply = found or self.call(step, method, path, send, attempts)
        except StepFailure as failed:
            if not failed.ambiguous:
                raise
            from planner.run import recovery

            if step.action == "create-task":
                reply = recovery.reconcile_task(self, step, body, attempts, failed)
            elif step.action in ("add-selection", "delete-selection"):
                reply = recovery.reestablish_selection(self, step, body, attempts, failed)
            else:
                raise
        state["reply"] = reply
        state["outputs"] = outputs = outputs_of(step.action, reply.data, body)
        missing = [k for k in REQUIRED_OUTPUTS.get(step.action, ()) if not outputs.get(k)]
        if missing:
            raise StepFailure(
                ev.StepError(
                    "response",
                    f"the answer has code 0 but no data.{missing[0]}",
                    reply.http_status,
                    reply.code,
                    None,
                    reply.request_id,
                ),
                reply,
            )
        if step.session_step is not None and step.action in SELECTION_EDITS:
            self.remember_edit(step.session_step, step.action, body)

    def remember_edit(self, session_step: int, action: str, body: dict[str, Any]) -> None:
        """Keep the selection edits of a session, to replay them after an ambiguous failure."""
        edits = self.edits.setdefault(session_step, [])
        if action == "clear-selection":
            edits.clear()
        else:
            edits.append((action, {k: v for k, v in body.items() if k != "session_id"}))

    def external_task_id(self, step: Step) -> str:
        return f"planner-{self.run_id}-{step.index + 1:02d}"

    def runtime_checks(self, step: Step, body: dict[str, Any]) -> None:
        """Checks that need values from the API; they fail before anything is sent."""
        init = self.context.outputs.get(step.session_step) if step.session_step is not None else None
        if not init:
            return
        total = init.get("total_frame")
        frame = body.get("frame_index")
        if isinstance(total, int) and isinstance(frame, int) and frame >= total:
            raise StepFailure(
                ev.StepError(
                    "check", f"frame_index {frame} is past the end of the clip: it has {total} frames (0-{total - 1})"
                )
            )
        length = init.get("original_duration")
        if step.action == "create-task" and isinstance(length, int | float):
            secs = length / 1000
            duration = body.get("duration", "5")
            if (duration == "5" and not 2 <= secs <= 5) or (duration == "10" and not 7 <= secs <= 10):
                want = '"5"' if secs <= 5 else '"10"'
                raise StepFailure(
                    ev.StepError(
                        "check", f'duration "{duration}" does not fit the {secs:g} s source; use duration: {want}'
                    )
                )

    def call(
        self,
        step: Step,
        method: str,
        path: str,
        body: Any,
        attempts: list[dict[str, Any]],
        *,
        deadline: float | None = None,
        action: str | None = None,
        note: str | None = None,
    ) -> Reply:
        """Send with retries; return the successful reply or raise StepFailure.

        ``action`` is the operation being sent when it is not the step's own (a lookup or a
        replay during recovery); it decides how the answer is judged and whether a lost
        answer may be resent.
        """
        action = action or step.action
        policy = self.options.retry.with_step(step.options.get("retry"))
        if deadline is None:
            deadline = time.monotonic() + seconds(step.options.get("timeout"), API_STEP_TIMEOUT)
        selection = ACTIONS[action].selection
        idempotent = action not in NON_IDEMPOTENT
        tries = 0
        while True:
            tries += 1
            number = len(attempts) + 1
            started = utc_now()
            remaining = max(0.1, deadline - time.monotonic())
            reply = self.client.send(method, path, body, timeout=min(self.options.request_timeout, remaining))
            verdict = judge(reply, selection=selection)
            retryable = verdict.outcome == "retry" or (verdict.outcome == "ambiguous" and idempotent)
            wait = None
            if verdict.outcome != "ok" and retryable and tries < policy.attempts:
                wait = policy.delay(tries, reply.retry_after(), self.rng)
                if time.monotonic() + wait > deadline:
                    wait = None
            self.record(step, attempts, number, reply, started, wait, note)
            if verdict.outcome == "ok":
                return reply
            if wait is None:
                ambiguous = verdict.outcome == "ambiguous"
                raise StepFailure(failure(reply, verdict.kind, verdict.outcome, tries), reply, ambiguous=ambiguous)
            self.sleep(wait)

    def record(
        self,
        step: Step,
        attempts: list[dict[str, Any]],
        number: int,
        reply: Reply,
        started: str,
        wait: float | None,
        note: str | None = None,
    ) -> None:
        attempt = ev.Attempt(
            step.index,
            number,
            reply.method,
            reply.url,
            started,
            round(reply.elapsed_ms, 1),
            reply.http_status,
            reply.code,
            reply.transport_error or problem_of(reply),
            round(wait, 3) if wait is not None else None,
            note,
        )
        attempts.append({k: v for k, v in attempt.__dict__.items() if k != "index" and (k != "note" or v)})
        self.emit(attempt)


def step_result(step: Step, **fields: Any) -> ev.StepResult:
    """A step's result, with the step's identity filled in."""
    return ev.StepResult(
        index=step.index, id=step.id, label=step.label, action=step.action, name=step.options.get("name"), **fields
    )
