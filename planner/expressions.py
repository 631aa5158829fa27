"""``${{ ... }}`` expressions: substitution only, never code.

Grammar (whitespace inside the braces is ignored)::

    expression := "${{" reference "}}"
    reference  := "inputs." NAME  |  "steps." ID "." OUTPUT

A value that is exactly one expression takes the referenced value with its type
(``frame_index: ${{ inputs.frame }}`` stays an integer). Expressions inside a longer
string are interpolated as text. ``$${{`` writes a literal ``${{``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from planner.errors import ExpressionError

_OPEN = "${{"
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_REF = re.compile(rf"^(?:inputs\.({_NAME})|steps\.({_NAME})\.([A-Za-z_][A-Za-z0-9_]*))$")


@dataclass(frozen=True)
class Ref:
    """One reference: ``inputs.<name>`` or ``steps.<step>.<name>``."""

    kind: str
    """``inputs`` or ``steps``."""
    name: str
    """The input's name, or the output's name."""
    step: str | None
    offset: int
    """Where the expression starts inside the string."""

    def __str__(self) -> str:
        return f"inputs.{self.name}" if self.step is None else f"steps.{self.step}.{self.name}"


def _scan(text: str) -> Iterator[tuple[int, int, Ref | None]]:
    """Yield (start, end, ref) for each expression; ref is None for a ``$${{`` escape."""
    i = 0
    while True:
        start = text.find(_OPEN, i)
        if start < 0:
            return
        if start > 0 and text[start - 1] == "$":
            yield start - 1, start + len(_OPEN), None
            i = start + len(_OPEN)
            continue
        end = text.find("}}", start + len(_OPEN))
        if end < 0:
            raise ExpressionError(
                "unterminated expression: '${{' without a closing '}}'",
                hint="write ${{ inputs.<name> }} or ${{ steps.<id>.<output> }}",
            )
        body = text[start + len(_OPEN) : end].strip()
        match = _REF.match(body)
        if not match:
            raise ExpressionError(
                f"'{body}' is not a reference",
                hint="expressions are ${{ inputs.<name> }} or ${{ steps.<id>.<output> }}",
            )
        if match.group(1):
            ref = Ref("inputs", match.group(1), None, start)
        else:
            ref = Ref("steps", match.group(3), match.group(2), start)
        yield start, end + 2, ref
        i = end + 2


def refs(text: str) -> list[Ref]:
    """Every reference in ``text``; raises ``ExpressionError`` for a malformed one."""
    return [ref for _, _, ref in _scan(text) if ref is not None]


def walk(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside ``value`` with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, sub in value.items():
            yield from walk(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from walk(sub, (*path, index))


def has_expression(value: Any) -> bool:
    return any(_OPEN in text for _, text in walk(value))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def resolve_string(text: str, lookup: Any) -> Any:
    """Resolve the expressions in one string; ``lookup(ref)`` returns the value."""
    if _OPEN not in text:
        return text
    parts = list(_scan(text))
    if len(parts) == 1 and parts[0][2] is not None and parts[0][:2] == (0, len(text)):
        return lookup(parts[0][2])
    out, pos = [], 0
    for start, end, ref in parts:
        out.append(text[pos:start])
        out.append(_OPEN if ref is None else _text(lookup(ref)))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def resolve(value: Any, lookup: Any) -> Any:
    """Resolve every expression in ``value`` (a JSON-like tree); returns a new tree."""
    if isinstance(value, str):
        return resolve_string(value, lookup)
    if isinstance(value, Mapping):
        return {key: resolve(sub, lookup) for key, sub in value.items()}
    if isinstance(value, list):
        return [resolve(sub, lookup) for sub in value]
    return value
