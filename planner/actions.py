"""The catalogue of step actions: the seven API operations and the two runner actions.

Request fields come from ``schemas/openapi/<action>.yaml``; this module says what the
runner needs beyond the OpenAPI documents: the route, what a step exposes as outputs
to later steps, and how the step relates to sessions and tasks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    name: str
    method: str | None
    """HTTP method, or None for a runner action that is not one API call."""
    route: str | None
    outputs: tuple[str, ...]
    uses_session: bool = False
    """The request carries ``session_id``, filled in from the latest init step."""
    selection: bool = False
    """A selection route: success also needs ``data.status == 0``."""

    @property
    def is_api(self) -> bool:
        return self.method is not None


_BASE = "/kling/v1/videos/multi-elements"
_TASK_OUTPUTS = ("task_id", "task_status", "task_status_msg", "external_task_id", "video_url")

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "init-selection",
            "POST",
            f"{_BASE}/init-selection",
            (
                "session_id",
                "fps",
                "total_frame",
                "original_duration",
                "width",
                "height",
                "normalized_video",
            ),
            selection=True,
        ),
        Action(
            "add-selection",
            "POST",
            f"{_BASE}/add-selection",
            ("session_id", "frame_index", "object_count"),
            uses_session=True,
            selection=True,
        ),
        Action(
            "delete-selection",
            "POST",
            f"{_BASE}/delete-selection",
            ("session_id", "frame_index", "object_count"),
            uses_session=True,
            selection=True,
        ),
        Action(
            "clear-selection",
            "POST",
            f"{_BASE}/clear-selection",
            ("session_id",),
            uses_session=True,
            selection=True,
        ),
        Action(
            "preview-selection",
            "POST",
            f"{_BASE}/preview-selection",
            ("session_id", "video", "video_cover", "tracking_output"),
            uses_session=True,
            selection=True,
        ),
        Action(
            "create-task",
            "POST",
            _BASE,
            ("task_id", "task_status", "external_task_id"),
            uses_session=True,
        ),
        Action("query-task", "GET", f"{_BASE}/{{task_id}}", _TASK_OUTPUTS),
        Action("wait", None, None, (*_TASK_OUTPUTS, "video_count")),
        Action("download", None, None, ("path", "paths", "sha256", "bytes", "count")),
    )
}

API_ACTIONS = tuple(name for name, a in ACTIONS.items() if a.is_api)
SELECTION_EDITS = ("add-selection", "delete-selection", "clear-selection")
