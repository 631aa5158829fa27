"""A hardened YAML loader that keeps line and column for every value.

Plans are untrusted input, reviewed in diffs, so the loader is strict and bounded:

* Scalars follow the YAML 1.2 core schema: ``on``/``yes``/``no`` and dates stay strings,
  only ``true``/``false`` are booleans.
* Duplicate keys are errors (PyYAML silently keeps the last one).
* Nesting depth and alias expansion are bounded, so an alias bomb fails fast.
* Only one document per file; mapping keys must be scalars.

It builds values straight from parser events (libyaml when available), so nothing is
constructed before the bounds are checked, and PyYAML's global state is never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from planner.errors import PlanSyntaxError

Path = tuple[str | int, ...]

MAX_DEPTH = 64
MAX_NODES = 100_000

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")

_CORE = "tag:yaml.org,2002:"


@dataclass
class Document:
    """Loaded YAML: the plain data plus 1-based (line, col) positions by path."""

    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The best known position for ``path``: its key or value, else its nearest parent."""
        p = tuple(path)
        while True:
            if key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            if p in self.keys:
                return self.keys[p]
            if not p:
                return (1, 1)
            p = p[:-1]


def _pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def resolve_plain(value: str) -> Any:
    """Resolve an untagged plain scalar with the YAML 1.2 core schema."""
    if _NULL.match(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.match(value):
        return int(value)
    if _INT_OCT.match(value):
        return int(value[2:], 8)
    if _INT_HEX.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value):
        return float(value)
    if _INF.match(value):
        return float("-inf") if value.startswith("-") else float("inf")
    if _NAN.match(value):
        return float("nan")
    return value


def _scalar(event: Any) -> Any:
    tag = event.tag
    if tag in (None, "!"):
        plain = event.implicit[0] and not event.style
        return resolve_plain(event.value) if plain else event.value
    if tag == _CORE + "str":
        return event.value
    if tag in (_CORE + "int", _CORE + "float", _CORE + "bool", _CORE + "null"):
        value = resolve_plain(event.value)
        want = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[tag[len(_CORE) :]]
        if isinstance(value, bool) and tag != _CORE + "bool":
            value = event.value
        if not isinstance(value, want):  # type: ignore[arg-type]
            raise _raise_at(f"{event.value!r} is not a valid {tag[len(_CORE) :]}", event.start_mark)
        return float(value) if tag == _CORE + "float" else value
    raise _raise_at(
        f"YAML tag {tag!r} is not supported",
        event.start_mark,
        hint="plans use plain values; remove the tag",
    )


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_pos", "path", "size")

    def __init__(self, container: Any, path: Path, anchor: str | None) -> None:
        self.container = container
        self.path = path
        self.anchor = anchor
        self.key: str | None = None
        self.key_pos: tuple[int, int] | None = None
        self.size = 1


def _raise_at(message: str, mark: Any, hint: str | None = None) -> PlanSyntaxError:
    line, col = _pos(mark)
    return PlanSyntaxError(message, line=line, col=col, hint=hint)


def load(text: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Document:
    """Load one YAML document from ``text``; raise ``PlanSyntaxError`` on any problem."""
    doc = Document(data=None)
    anchors: dict[str, tuple[Any, int]] = {}
    open_anchors: set[str] = set()
    stack: list[_Frame] = []
    total = 0
    documents = 0
    root_set = False

    def place(value: Any, size: int, mark: Any, anchor: str | None) -> None:
        nonlocal root_set
        if anchor is not None:
            anchors[anchor] = (value, size)
        if not stack:
            doc.data = value
            doc.values[()] = _pos(mark)
            root_set = True
            return
        top = stack[-1]
        top.size += size
        if isinstance(top.container, list):
            path = (*top.path, len(top.container))
            top.container.append(value)
            doc.values.setdefault(path, _pos(mark))
            return
        if top.key is None:
            if not isinstance(value, str | int | float | bool) and value is not None:
                raise _raise_at("mapping keys must be plain scalars", mark)
            key = "" if value is None else str(value)
            if key in top.container:
                first = doc.keys.get((*top.path, key), (0, 0))[0]
                raise _raise_at(
                    f"duplicate key {key!r} (first defined at line {first})",
                    mark,
                    hint="each key may appear once in a mapping",
                )
            if key == "<<":
                raise _raise_at("merge keys ('<<') are not supported", mark, hint="write the keys out")
            top.key = key
            top.key_pos = _pos(mark)
            return
        path = (*top.path, top.key)
        top.container[top.key] = value
        doc.keys[path] = top.key_pos or _pos(mark)
        doc.values.setdefault(path, _pos(mark))
        top.key = None

    def child_path() -> Path:
        if not stack:
            return ()
        top = stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        return (*top.path, top.key or "")

    try:
        event: Any
        for event in yaml.parse(text, Loader=_Parser):
            kind = type(event)
            if kind is yaml.ScalarEvent:
                total += 1
                if stack and isinstance(stack[-1].container, dict) and stack[-1].key is None:
                    value: Any = event.value  # keys are always strings
                    if event.tag not in (None, "!", _CORE + "str"):
                        value = _scalar(event)
                else:
                    value = _scalar(event)
                place(value, 1, event.start_mark, event.anchor)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                total += 1
                if len(stack) >= max_depth:
                    raise _raise_at(f"nesting is deeper than {max_depth} levels", event.start_mark)
                if event.tag not in (None, "!", _CORE + "map", _CORE + "seq"):
                    raise _raise_at(f"YAML tag {event.tag!r} is not supported", event.start_mark)
                if stack and isinstance(stack[-1].container, dict) and stack[-1].key is None:
                    raise _raise_at("mapping keys must be plain scalars", event.start_mark)
                path = child_path()
                container: Any = {} if kind is yaml.MappingStartEvent else []
                if event.anchor:
                    open_anchors.add(event.anchor)
                stack.append(_Frame(container, path, event.anchor))
                doc.values.setdefault(path, _pos(event.start_mark))
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                frame = stack.pop()
                if frame.anchor:
                    open_anchors.discard(frame.anchor)
                line, col = doc.values[frame.path]
                place(frame.container, frame.size, _Mark(line - 1, col - 1), frame.anchor)
            elif kind is yaml.AliasEvent:
                name = event.anchor
                if name in open_anchors:
                    raise _raise_at(f"alias *{name} refers to itself", event.start_mark)
                if name not in anchors:
                    raise _raise_at(f"alias *{name} has no anchor &{name} before it", event.start_mark)
                value, size = anchors[name]
                total += size
                if total > max_nodes:
                    raise _raise_at(
                        f"aliases expand to more than {max_nodes} values",
                        event.start_mark,
                        hint="an alias bomb? plans need no aliases",
                    )
                place(value, size, event.start_mark, None)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _raise_at(
                        "a plan file holds one YAML document; found a second",
                        event.start_mark,
                        hint="remove the '---' separator or split the file",
                    )
            if total > max_nodes:
                raise _raise_at(f"more than {max_nodes} values", event.start_mark)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise PlanSyntaxError(f"YAML syntax error: {problem}", line=line, col=col) from exc
    except yaml.YAMLError as exc:
        raise PlanSyntaxError(f"YAML error: {exc}", line=1, col=1) from exc
    if not root_set:
        doc.data = None
    return doc


class _Mark:
    """A minimal stand-in for a yaml Mark (0-based), used for container ends."""

    __slots__ = ("column", "line")

    def __init__(self, line: int, column: int) -> None:
        self.line = line
        self.column = column
