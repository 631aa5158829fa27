"""What an answer means for a step: the error it reports, and the outputs it exposes."""

from __future__ import annotations

from typing import Any

from planner import codes
from planner.run import events as ev
from planner.run.client import Reply


class StepFailure(Exception):
    """Internal: ends a step with an error (never escapes the runner)."""

    def __init__(self, error: ev.StepError, reply: Reply | None = None, *, ambiguous: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        self.reply = reply
        self.ambiguous = ambiguous
        """The request may have been processed although no usable answer came back."""


def problem_of(reply: Reply) -> str | None:
    if reply.gateway_error is not None or (reply.code not in (0, None)):
        return reply.message or None
    if reply.code is None and reply.http_status is not None:
        return "the answer is not the API's JSON envelope"
    return None


def failure(reply: Reply, kind: str, outcome: str, attempts: int) -> ev.StepError:
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    if kind == "transport":
        message = reply.transport_error or "no answer"
        if outcome == "ambiguous":
            message += "; the request may have been processed, so planner does not send it again"
        return ev.StepError("transport", message + tries)
    if kind == "rejected":
        status = reply.data.get("status") if isinstance(reply.data, dict) else None
        return ev.StepError(
            "rejected",
            f"the API could not recognise the selection (data.status {status})",
            reply.http_status,
            reply.code,
            None,
            reply.request_id,
        )
    if kind == "gateway":
        error = reply.gateway_error or {}
        detail = f" [{error.get('code')}]" if error.get("code") else ""
        return ev.StepError(
            "gateway",
            f"CometAPI gateway error{detail}: {reply.message}{tries}",
            reply.http_status,
            None,
            None,
            reply.request_id,
        )
    if kind == "shape":
        return ev.StepError(
            "response",
            "the answer has code 0 but no data.status",
            reply.http_status,
            reply.code,
            None,
            reply.request_id,
        )
    if kind == "response":
        what = reply.text[:120] if reply.text else "no JSON envelope"
        return ev.StepError(
            "response",
            f"the answer is not the API's JSON envelope: {what!r}{tries}",
            reply.http_status,
            None,
            None,
            reply.request_id,
        )
    return ev.StepError(
        "api",
        (reply.message or "request refused") + tries,
        reply.http_status,
        reply.code,
        codes.meaning(reply.code),
        reply.request_id,
    )


def outputs_of(action: str, data: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The outputs a step exposes to later steps, from its response data."""
    data = _mapping(data)
    res = _mapping(data.get("res"))
    if action == "init-selection":
        keys = ("session_id", "fps", "total_frame", "original_duration", "width", "height", "normalized_video")
        return {k: data.get(k) for k in keys}
    if action in ("add-selection", "delete-selection"):
        masks = res.get("rle_mask_list")
        return {
            "session_id": data.get("session_id"),
            "frame_index": res.get("frame_index", body.get("frame_index")),
            "object_count": len(masks) if isinstance(masks, list) else 0,
        }
    if action == "clear-selection":
        return {"session_id": data.get("session_id")}
    if action == "preview-selection":
        return {
            "session_id": data.get("session_id"),
            **{k: res.get(k) for k in ("video", "video_cover", "tracking_output")},
        }
    if action == "create-task":
        info = data.get("task_info") if isinstance(data.get("task_info"), dict) else {}
        return {
            "task_id": data.get("task_id"),
            "task_status": data.get("task_status"),
            "external_task_id": info.get("external_task_id") or body.get("external_task_id"),
        }
    return task_outputs(data)


def task_outputs(data: dict[str, Any]) -> dict[str, Any]:
    info = _mapping(data.get("task_info"))
    result = _mapping(data.get("task_result"))
    videos = [v for v in result.get("videos") or [] if isinstance(v, dict)]
    return {
        "task_id": data.get("task_id"),
        "task_status": data.get("task_status"),
        "task_status_msg": data.get("task_status_msg") or "",
        "external_task_id": info.get("external_task_id"),
        "video_url": videos[0].get("url") if videos else None,
    }


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
