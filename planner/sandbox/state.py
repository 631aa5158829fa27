"""The sandbox's model of the API: sessions, selections, tasks, on an injectable clock.

Every handler takes the caller's key and a validated body and returns
``(http_status, envelope)``. The rules follow ../shared/api/kling-multi-elements.md and
the choices in docs/api-decisions.md.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from planner.sandbox import media
from planner.sandbox.config import SandboxConfig

SESSION_TTL = 24 * 3600.0
MAX_FRAMES = 10
MAX_POINTS = 10
_DURATION_HINT = re.compile(r"(?<![0-9.])(\d+(?:\.\d+)?)s(?![a-z])")
_SIZES = ((1280, 720), (1920, 1080), (720, 1280), (1080, 1920))


class Clock:
    """Wall time plus an offset that tests move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Session:
    id: str
    key: str
    source: str
    created: float
    fps: float
    total_frame: int
    original_duration: int
    width: int
    height: int
    frames: set[int] = field(default_factory=set)
    points: dict[int, list[tuple[float, float]]] = field(default_factory=dict)

    def selected(self) -> int:
        return sum(len(p) for p in self.points.values())


@dataclass
class Task:
    id: str
    key: str
    session_id: str
    external_task_id: str | None
    edit_mode: str
    prompt: str
    created: float
    polls: int = 0
    fail_reason: str | None = None
    status: str = "submitted"
    updated: float = 0.0


def envelope(code: int, message: str, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": str(uuid.uuid4())}
    if data is not None:
        body["data"] = data
    return body


def fail(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, envelope(code, message)


def clip_metadata(source: str) -> tuple[float, int, int, int] | str:
    """(fps, duration ms, width, height) for a source, or why the API would refuse it.

    Derived from a hash of the URL or id, so the same clip always gets the same numbers. A
    ``<N>s`` in the file name (``street-5s.mp4``) sets the duration, so users can pick one.
    """
    digest = hashlib.sha256(source.encode()).digest()
    try:
        path = urlsplit(source).path if "://" in source else ""
    except ValueError:
        return "video_url is not a valid URL"
    if path and not path.lower().endswith((".mp4", ".mov")):
        return "video_url must point at an .mp4 or .mov file"
    hint = _DURATION_HINT.search(path.rsplit("/", 1)[-1]) if path else None
    seconds = float(hint.group(1)) if hint else (3.0 + digest[0] % 3, 7.0 + digest[0] % 4)[digest[1] % 2]
    if not (2 <= seconds <= 5 or 7 <= seconds <= 10):
        return f"the clip is {seconds:g} s long; Kling accepts 2-5 s or 7-10 s"
    fps = (24.0, 30.0, 60.0)[digest[2] % 3]
    width, height = _SIZES[digest[3] % len(_SIZES)]
    return fps, int(seconds * 1000), width, height


class State:
    def __init__(self, config: SandboxConfig, files_url: str = "") -> None:
        self.config = config
        self.clock = Clock()
        self.files_url = files_url
        self.lock = threading.RLock()
        self.sessions: dict[str, Session] = {}
        self.tasks: dict[str, Task] = {}
        self.requests: Counter[str] = Counter()
        self.files: dict[str, bytes] = {}
        self.downloads: list[dict[str, Any]] = []
        self.injected: list[tuple[str, int, str]] = []
        """(route, n, kind) of every fault injected."""
        self._ids = itertools.count(862514203317530624, 7919)

    def next_id(self) -> str:
        return str(next(self._ids))

    # -- inspection ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            self.refresh()
            return {
                "requests": dict(self.requests),
                "sessions": [self._session_view(s) for s in self.sessions.values()],
                "tasks": [self._task_view(t) for t in self.tasks.values()],
                "downloads": list(self.downloads),
                "faults": list(self.injected),
            }

    def _session_view(self, s: Session) -> dict[str, Any]:
        return {
            "session_id": s.id,
            "source": s.source,
            "expired": self.expired(s),
            "frames": sorted(s.frames),
            "points": {str(f): [list(p) for p in pts] for f, pts in sorted(s.points.items())},
        }

    def _task_view(self, t: Task) -> dict[str, Any]:
        return {
            "task_id": t.id,
            "session_id": t.session_id,
            "external_task_id": t.external_task_id,
            "edit_mode": t.edit_mode,
            "task_status": t.status,
            "polls": t.polls,
        }

    # -- sessions ------------------------------------------------------------------------

    def expired(self, session: Session) -> bool:
        return self.clock.now() - session.created >= SESSION_TTL

    def _session(self, key: str, session_id: str) -> Session | tuple[int, dict[str, Any]]:
        session = self.sessions.get(session_id)
        if session is None or session.key != key:
            return fail(400, 1201, f"session_id {session_id!r} does not exist for this account")
        if self.expired(session):
            return fail(400, 1201, f"session_id {session_id!r} has expired (sessions last 24 hours)")
        return session

    def _selection_data(self, session: Session, **extra: Any) -> dict[str, Any]:
        status = 1 if extra.pop("_recognition_failed", False) else 0
        return {"status": status, "session_id": session.id, "final_unit_deduction": "0", **extra}

    def init_selection(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        source = body.get("video_url") or body.get("video_id") or ""
        meta = clip_metadata(source)
        if isinstance(meta, str):
            return fail(400, 1201, meta)
        fps, duration_ms, width, height = meta
        session = Session(
            id=self.next_id(),
            key=key,
            source=source,
            created=self.clock.now(),
            fps=fps,
            total_frame=round(duration_ms / 1000 * fps),
            original_duration=duration_ms,
            width=width,
            height=height,
        )
        self.sessions[session.id] = session
        name = f"normalized/{session.id}.mp4"
        self.files[name] = media.fake_video(name)
        data = self._selection_data(
            session,
            fps=fps,
            original_duration=duration_ms,
            width=width,
            height=height,
            total_frame=session.total_frame,
            normalized_video=f"{self.files_url}/{name}",
        )
        return 200, envelope(0, "SUCCEED", data)

    def _frame_session(self, key: str, body: dict[str, Any]) -> tuple[Session, int] | tuple[int, dict[str, Any]]:
        """The session and frame an add or delete names, or the rejection."""
        session = self._session(key, body["session_id"])
        if not isinstance(session, Session):
            return session
        frame: int = body["frame_index"]
        problem = self._frame_check(session, frame)
        return problem if problem else (session, frame)

    def _frame_check(self, session: Session, frame: int) -> tuple[int, dict[str, Any]] | None:
        if frame >= session.total_frame:
            return fail(
                400,
                1201,
                f"frame_index {frame} is out of range: the clip has {session.total_frame} frames "
                f"(0-{session.total_frame - 1})",
            )
        return None

    def _mask_result(self, session: Session, frame: int) -> dict[str, Any]:
        points = session.points.get(frame, [])
        masks = []
        if points:
            masks.append({"object_id": 0, "rle_mask": media.mask_for_points(session.height, session.width, points)})
        return {"frame_index": frame, "rle_mask_list": masks}

    def add_selection(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = self._frame_session(key, body)
        if not isinstance(found, tuple) or not isinstance(found[0], Session):
            return found
        session, frame = found
        if frame not in session.frames and len(session.frames) >= MAX_FRAMES:
            return fail(400, 1201, f"a session can mark at most {MAX_FRAMES} frames; frame {frame} would be the 11th")
        current = session.points.setdefault(frame, [])
        new = [(float(p["x"]), float(p["y"])) for p in body["points"]]
        for point in new:
            if point in current:
                return fail(400, 1201, f"point {point} is already selected on frame {frame}")
        if len(current) + len(new) > MAX_POINTS:
            return fail(400, 1201, f"frame {frame} would hold {len(current) + len(new)} points; at most {MAX_POINTS}")
        failed = "add-selection" in self.config.fail_recognition
        if not failed:
            session.frames.add(frame)
            current.extend(new)
        data = self._selection_data(session, res=self._mask_result(session, frame), _recognition_failed=failed)
        return 200, envelope(0, "SUCCEED", data)

    def delete_selection(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = self._frame_session(key, body)
        if not isinstance(found, tuple) or not isinstance(found[0], Session):
            return found
        session, frame = found
        current = session.points.get(frame, [])
        gone = [(float(p["x"]), float(p["y"])) for p in body["points"]]
        for point in gone:
            if point not in current:
                return fail(400, 1201, f"point {point} was never added on frame {frame}")
        failed = "delete-selection" in self.config.fail_recognition
        if not failed:
            session.points[frame] = [p for p in current if p not in gone]
        data = self._selection_data(session, res=self._mask_result(session, frame), _recognition_failed=failed)
        return 200, envelope(0, "SUCCEED", data)

    def clear_selection(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        session = self._session(key, body["session_id"])
        if not isinstance(session, Session):
            return session
        session.points.clear()
        return 200, envelope(0, "SUCCEED", self._selection_data(session))

    def preview_selection(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        session = self._session(key, body["session_id"])
        if not isinstance(session, Session):
            return session
        base = f"preview/{session.id}-{session.selected()}"
        self.files[f"{base}.mp4"] = media.fake_video(base)
        self.files[f"{base}.jpg"] = media.JPEG_BYTES
        self.files[f"{base}.zip"] = b"PK\x05\x06" + b"\0" * 18
        res = {
            "video": f"{self.files_url}/{base}.mp4",
            "video_cover": f"{self.files_url}/{base}.jpg",
            "tracking_output": f"{self.files_url}/{base}.zip",
        }
        failed = "preview-selection" in self.config.fail_recognition
        return 200, envelope(0, "SUCCEED", self._selection_data(session, res=res, _recognition_failed=failed))

    # -- tasks ---------------------------------------------------------------------------

    def running(self, key: str) -> int:
        self.refresh()
        return sum(1 for t in self.tasks.values() if t.key == key and t.status in ("submitted", "processing"))

    def create_task(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        session = self._session(key, body["session_id"])
        if not isinstance(session, Session):
            return session
        prompt: str = body["prompt"]
        lowered = f"{prompt} {body.get('negative_prompt', '')}".lower()
        for word in self.config.unsafe_words:
            if word.lower() in lowered:
                return fail(400, 1301, "content-safety policy triggered: the prompt was refused")
        mode = body["edit_mode"]
        if mode in ("swap", "removal") and session.selected() == 0:
            return fail(400, 1201, f"{mode} needs a selection: mark the element with add-selection first")
        duration = body.get("duration", "5")
        seconds = session.original_duration / 1000
        if (duration == "5" and seconds > 5) or (duration == "10" and seconds < 7):
            return fail(
                400,
                1201,
                f"duration {duration!r} does not fit the {seconds:g} s source ('5' for 2-5 s, '10' for 7-10 s)",
            )
        external = body.get("external_task_id")
        if external is not None and any(t.key == key and t.external_task_id == external for t in self.tasks.values()):
            return fail(400, 1201, f"external_task_id {external!r} is already used by another task")
        if self.running(key) >= self.config.max_concurrent_tasks:
            return fail(429, 1303, "parallel task over resource pack limit")
        now = self.clock.now()
        task = Task(
            id=self.next_id(),
            key=key,
            session_id=session.id,
            external_task_id=external,
            edit_mode=mode,
            prompt=prompt,
            created=now,
            updated=now,
        )
        for word in self.config.fail_words:
            if word.lower() in prompt.lower():
                task.fail_reason = f"the task failed: the generated video did not pass review ({word!r})"
        self.tasks[task.id] = task
        return 200, envelope(0, "SUCCEED", self._task_data(task))

    def refresh(self) -> None:
        """Move tasks along a time-based schedule."""
        if self.config.schedule.unit != "seconds":
            return
        now = self.clock.now()
        for task in self.tasks.values():
            self._advance(task, now - task.created)

    def _advance(self, task: Task, progress: float) -> None:
        schedule = self.config.schedule
        before = task.status
        if progress >= schedule.submitted + schedule.processing:
            task.status = "failed" if task.fail_reason else "succeed"
        elif progress >= schedule.submitted:
            task.status = "processing"
        if task.status != before:
            task.updated = self.clock.now()

    def query_task(self, key: str, task_id: str) -> tuple[int, dict[str, Any]]:
        task = self.tasks.get(task_id)
        if task is None and self.config.query_by_external_id:
            task = next((t for t in self.tasks.values() if t.key == key and t.external_task_id == task_id), None)
        if task is None or task.key != key:
            return fail(404, 1203, f"task {task_id!r} does not exist")
        if self.config.schedule.unit == "polls":
            self._advance(task, task.polls)
            task.polls += 1
        else:
            task.polls += 1
            self.refresh()
        return 200, envelope(0, "SUCCEED", self._task_data(task))

    def _task_data(self, task: Task) -> dict[str, Any]:
        data: dict[str, Any] = {
            "task_id": task.id,
            "task_status": task.status,
            "task_status_msg": task.fail_reason if task.status == "failed" else "",
            "task_info": {"external_task_id": task.external_task_id} if task.external_task_id else {},
            "task_result": {},
            "created_at": int(task.created * 1000),
            "updated_at": int(task.updated * 1000),
        }
        if task.status == "succeed":
            name = f"results/{task.id}.mp4"
            self.files.setdefault(name, media.fake_video(name, self.config.result_bytes))
            data["task_result"] = {
                "videos": [
                    {
                        "id": str(int(task.id) + 1),
                        "session_id": task.session_id,
                        "url": f"{self.files_url}/{name}",
                        "duration": "5.0",
                    }
                ]
            }
            data["final_unit_deduction"] = "2"
        return data
