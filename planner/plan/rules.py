"""Checks across steps that know the API; they run once the plan fits its schema.

* references point at declared inputs, at earlier steps, and at outputs those steps have;
* selection steps follow an init step or carry an explicit ``session_id``;
* at most 10 distinct frames per session and 10 points per frame, and a delete names
  exactly points added earlier on that frame (see docs/api-decisions.md for the counting);
* prompt placeholders such as ``<<<image_2>>>`` name images that exist;
* wait and download steps refer to a create-task step (and download to a waited one);
* one task per session.

Values that come from ``inputs`` are checked with their default (or the command line's
value); values that come from earlier steps are checked when the run resolves them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from planner import expressions
from planner.actions import ACTIONS
from planner.diagnostics import Diagnostic, JsonPath, did_you_mean, display_path
from planner.errors import ExpressionError
from planner.plan.model import STEP_KEYS, InputSpec, Plan, Step
from planner.yamlload import Document

MAX_FRAMES = 10
MAX_POINTS = 10
PLACEHOLDER = re.compile(r"<<<\s*([A-Za-z0-9_]+)\s*>>>")
_PY_TYPES: dict[str, type | tuple[type, ...]] = {"string": str, "integer": int, "number": (int, float), "boolean": bool}


@dataclass
class _Session:
    origin: int | None
    """Index of the init step, or None for an explicit session_id."""
    frames: set[int] = field(default_factory=set)
    points: dict[int, dict[tuple[float, float], int]] = field(default_factory=dict)
    """frame -> {point: line where it was added}"""
    task_step: int | None = None


class _Checker:
    def __init__(self, doc: Document, overrides: dict[str, Any]) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.overrides = overrides
        self.diagnostics: list[Diagnostic] = []

    def error(self, path: JsonPath, message: str, hint: str | None = None, *, key: bool = False) -> None:
        line, col = self.doc.position(path, key=key)
        where = display_path(path)
        self.diagnostics.append(Diagnostic(line, col, f"{where}: {message}", hint, path))

    # -- inputs ---------------------------------------------------------------------------

    def inputs(self) -> dict[str, InputSpec]:
        specs: dict[str, InputSpec] = {}
        for name, raw in (self.data.get("inputs") or {}).items():
            raw = raw or {}
            default = raw.get("default")
            kind = raw.get("type") or _type_of(default)
            if default is not None and not _fits(default, kind):
                self.error(("inputs", name, "default"), f"{default!r} is not of type {kind}")
            specs[name] = InputSpec(name, kind, default, default is None, raw.get("description", ""))
        return specs

    def input_value(self, spec: InputSpec) -> Any:
        return self.overrides.get(spec.name, spec.default)

    # -- steps ----------------------------------------------------------------------------

    def run(self) -> Plan:
        specs = self.inputs()
        raw_steps: list[dict[str, Any]] = self.data["steps"]
        ids: dict[str, int] = {}
        steps: list[Step] = []
        sessions: dict[Any, _Session] = {}
        current: _Session | None = None
        creates: list[int] = []
        waited: set[int] = set()
        waits: list[tuple[int, int]] = []  # (wait step index, create step index)

        for index, raw in enumerate(raw_steps):
            action = ACTIONS[raw["action"]]
            base: JsonPath = ("steps", index)
            step_id = raw.get("id")
            if step_id is not None:
                if step_id in ids:
                    self.error((*base, "id"), f"id '{step_id}' is already used by steps[{ids[step_id]}]")
                ids.setdefault(step_id, index)
            fields = {k: v for k, v in raw.items() if k not in STEP_KEYS}
            resolved = self.references(base, fields, raw_steps, ids, specs, index)

            session_step: int | None = None
            session: _Session | None = None
            if action.name == "init-selection":
                current = session = sessions[index] = _Session(origin=index)
                session_step = index
            elif action.uses_session:
                if "session_id" in fields:
                    session_step = _ref_step(fields["session_id"], ids, raw_steps, "init-selection")
                    key = session_step if session_step is not None else repr(fields["session_id"])
                    session = sessions.setdefault(key, _Session(origin=session_step))
                elif current is not None:
                    session, session_step = current, current.origin
                else:
                    self.error(
                        (*base, "action"),
                        f"{action.name} needs a session, but no init-selection step comes before it",
                        "add an init-selection step earlier, or set session_id to continue a session",
                    )
            if session is not None and action.name in ("add-selection", "delete-selection", "clear-selection"):
                self.selection(base, action.name, resolved, session)

            task_step: int | None = None
            if action.name == "create-task":
                self.create_task(base, resolved, session)
                if session is not None:
                    session.task_step = index
                creates.append(index)
            elif action.name == "wait":
                task_step = self.task_ref(base, fields, raw_steps, ids, creates, "create-task")
                if task_step is not None:
                    waited.add(task_step)
                    waits.append((index, task_step))
            elif action.name == "download":
                task_step = self.download_ref(base, fields, raw_steps, ids, waits, waited)
            elif action.name == "query-task":
                task_step = _ref_step(fields.get("task_id"), ids, raw_steps, "create-task")

            options: dict[str, Any] = {k: raw[k] for k in ("name", "timeout", "retry") if k in raw}
            line = self.doc.position(base)[0]
            steps.append(Step(index, action.name, step_id, fields, options, line, session_step, task_step))
        return Plan(
            name=self.data["name"],
            description=self.data.get("description", ""),
            inputs=specs,
            steps=tuple(steps),
            data=self.data,
        )

    def references(
        self,
        base: JsonPath,
        fields: dict[str, Any],
        raw_steps: list[dict[str, Any]],
        ids: dict[str, int],
        specs: dict[str, InputSpec],
        index: int,
    ) -> dict[str, Any]:
        """Check every reference in the step; return the fields with inputs substituted."""
        later = {s.get("id"): i for i, s in enumerate(raw_steps) if s.get("id") and i > index}
        ok = True
        for sub, text in expressions.walk(fields):
            path = (*base, *sub)
            try:
                refs = expressions.refs(text)
            except ExpressionError as exc:
                self.error(path, exc.message, exc.hint)
                ok = False
                continue
            for ref in refs:
                if ref.step is None:
                    if ref.name not in specs:
                        self.error(
                            path,
                            f"unknown input '{ref.name}'",
                            did_you_mean(ref.name, specs) or "declare it under inputs:",
                        )
                        ok = False
                    continue
                if ref.step == raw_steps[index].get("id"):
                    self.error(path, f"step '{ref.step}' refers to itself")
                    ok = False
                    continue
                if ref.step not in ids or ids[ref.step] == index:
                    if ref.step in later:
                        self.error(
                            path,
                            f"step '{ref.step}' runs later (steps[{later[ref.step]}])",
                            "a step can only use outputs of steps before it",
                        )
                    else:
                        self.error(path, f"no step has id '{ref.step}'", did_you_mean(ref.step, ids))
                    ok = False
                    continue
                target = ACTIONS[raw_steps[ids[ref.step]]["action"]]
                if ref.name not in target.outputs:
                    self.error(
                        path,
                        f"step '{ref.step}' ({target.name}) has no output '{ref.name}'",
                        did_you_mean(ref.name, target.outputs) or "outputs: " + ", ".join(target.outputs),
                    )
                    ok = False
        if not ok:
            return {}

        def lookup(ref: expressions.Ref) -> Any:
            if ref.step is None:
                value = self.input_value(specs[ref.name])
                if value is not None:
                    return value
            raise LookupError

        out: dict[str, Any] = {}
        for key, value in fields.items():
            try:
                out[key] = expressions.resolve(value, lookup)
            except (LookupError, KeyError):
                out[key] = _UNKNOWN
        return out

    def selection(self, base: JsonPath, action: str, fields: dict[str, Any], session: _Session) -> None:
        if action == "clear-selection":
            session.points.clear()
            return
        frame, points = fields.get("frame_index", _UNKNOWN), fields.get("points", _UNKNOWN)
        if not isinstance(frame, int) or not isinstance(points, list):
            return
        current = session.points.setdefault(frame, {})
        if action == "add-selection":
            if frame not in session.frames and len(session.frames) >= MAX_FRAMES:
                self.error(
                    (*base, "frame_index"),
                    f"frame {frame} would be the 11th marked frame; a session marks at most {MAX_FRAMES}",
                    "frames marked earlier count even after a delete or clear (docs/api-decisions.md)",
                )
                return
            session.frames.add(frame)
            for i, point in enumerate(points):
                key = _point(point)
                if key is None:
                    continue
                path = (*base, "points", i)
                if key in current:
                    self.error(path, f"point {_fmt(key)} is already selected on frame {frame} (line {current[key]})")
                    continue
                if len(current) >= MAX_POINTS:
                    self.error(
                        path, f"frame {frame} would hold {len(current) + 1} points; at most {MAX_POINTS} per frame"
                    )
                    return
                current[key] = self.doc.position(path)[0]
        else:
            for i, point in enumerate(points):
                key = _point(point)
                if key is None:
                    continue
                if key in current:
                    del current[key]
                    continue
                nearest = min(current, key=lambda p: abs(p[0] - key[0]) + abs(p[1] - key[1]), default=None)
                hint = (
                    f"did you mean {_fmt(nearest)} from line {current[nearest]}? "
                    "deleted points must repeat the added values exactly"
                    if nearest is not None
                    else f"frame {frame} has no selected points here"
                )
                self.error((*base, "points", i), f"point {_fmt(key)} was not added to frame {frame}", hint)

    def create_task(self, base: JsonPath, fields: dict[str, Any], session: _Session | None) -> None:
        if session is not None and session.task_step is not None:
            self.error(
                (*base, "action"),
                f"this session already has a task (steps[{session.task_step}])",
                "start a new session with init-selection; reusing one is undocumented",
            )
        prompt = fields.get("prompt")
        if not isinstance(prompt, str):
            return
        images = fields.get("image_list")
        count = len(images) if isinstance(images, list) else 0
        known = ["video_1", *(f"image_{n}" for n in range(1, max(count, 2) + 1))]
        for match in PLACEHOLDER.finditer(prompt):
            name = match.group(1)
            image = re.fullmatch(r"image_(\d+)", name)
            if image and isinstance(images, list):
                n = int(image.group(1))
                if not 1 <= n <= count:
                    have = f"{count} image{'s' if count != 1 else ''}" if count else "no image_list"
                    self.error((*base, "prompt"), f"<<<{name}>>> refers to image {n}, but the step has {have}")
            elif name != "video_1" and not image:
                self.error(
                    (*base, "prompt"),
                    f"unknown placeholder <<<{name}>>>",
                    did_you_mean(name, known) or "placeholders are <<<video_1>>> and <<<image_N>>>",
                )

    def task_ref(
        self,
        base: JsonPath,
        fields: dict[str, Any],
        raw_steps: list[dict[str, Any]],
        ids: dict[str, int],
        candidates: list[int],
        kind: str,
    ) -> int | None:
        if "task_id" not in fields:
            if not candidates:
                self.error((*base, "action"), f"{raw_steps[base[1]]['action']} needs a {kind} step before it")  # type: ignore[index]
                return None
            return candidates[-1]
        target = _ref_step(fields["task_id"], ids, raw_steps, None)
        if target is not None and raw_steps[target]["action"] != kind:
            self.error(
                (*base, "task_id"),
                f"refers to step '{raw_steps[target].get('id')}' ({raw_steps[target]['action']}); "
                f"it must refer to a {kind} step",
            )
            return None
        if target is None or not _is_task_ref(fields["task_id"]):
            self.error((*base, "task_id"), "must be exactly ${{ steps.<id>.task_id }}")
            return None
        return target

    def download_ref(
        self,
        base: JsonPath,
        fields: dict[str, Any],
        raw_steps: list[dict[str, Any]],
        ids: dict[str, int],
        waits: list[tuple[int, int]],
        waited: set[int],
    ) -> int | None:
        if "task_id" not in fields:
            if not waits:
                self.error(
                    (*base, "action"), "download needs a wait step before it", "add a wait step after create-task"
                )
                return None
            return waits[-1][1]
        target = _ref_step(fields["task_id"], ids, raw_steps, None)
        if target is None or not _is_task_ref(fields["task_id"]):
            self.error((*base, "task_id"), "must be exactly ${{ steps.<id>.task_id }}")
            return None
        action = raw_steps[target]["action"]
        if action == "wait":
            return dict(waits).get(target)
        if action == "create-task" and target in waited:
            return target
        if action == "create-task":
            self.error(
                (*base, "task_id"), "this task is never waited for", "add a wait step for it before the download"
            )
            return None
        self.error((*base, "task_id"), f"refers to a {action} step; it must refer to a wait or create-task step")
        return None


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown until run time>"


_UNKNOWN: Any = _Unknown()


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _fits(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    return isinstance(value, _PY_TYPES.get(kind, str))


def _point(point: Any) -> tuple[float, float] | None:
    if isinstance(point, dict):
        x, y = point.get("x"), point.get("y")
        if isinstance(x, int | float) and isinstance(y, int | float) and not isinstance(x, bool):
            return (float(x), float(y))
    return None


def _fmt(point: tuple[float, float]) -> str:
    return f"(x={point[0]:g}, y={point[1]:g})"


def _is_task_ref(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        refs = expressions.refs(value)
    except ExpressionError:
        return False
    return (
        len(refs) == 1
        and refs[0].name == "task_id"
        and value.strip().startswith("${{")
        and value.strip().endswith("}}")
    )


def _ref_step(value: Any, ids: dict[str, int], raw_steps: list[dict[str, Any]], kind: str | None) -> int | None:
    """The index of the step a single ``${{ steps.X.* }}`` reference points at."""
    if not isinstance(value, str):
        return None
    try:
        refs = [r for r in expressions.refs(value) if r.step is not None]
    except ExpressionError:
        return None
    if len(refs) != 1 or refs[0].step not in ids:
        return None
    index = ids[refs[0].step]
    if kind is not None and raw_steps[index]["action"] != kind:
        return None
    return index


def check(doc: Document, overrides: dict[str, Any] | None = None) -> tuple[Plan, list[Diagnostic]]:
    checker = _Checker(doc, overrides or {})
    plan = checker.run()
    return plan, sorted(checker.diagnostics)
