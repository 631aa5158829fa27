"""Diagnostics: what is wrong in a plan, and where. Data, rendered by reporters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def one_line(text: str) -> str:
    """Escape newlines and other control characters: a diagnostic is always one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Diagnostic:
    line: int
    col: int
    message: str
    hint: str | None = None
    path: JsonPath = field(default=(), compare=False)
    severity: str = field(default="error", compare=False)

    def text(self) -> str:
        return one_line(f"{self.message} ({self.hint})" if self.hint else self.message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "message": one_line(self.message),
            "hint": one_line(self.hint) if self.hint else None,
            "path": display_path(self.path),
        }


def display_path(path: Iterable[str | int]) -> str:
    """``('steps', 2, 'points', 0, 'x')`` → ``steps[2].points[0].x``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.match(part):
            out += f"[{one_line(repr(part))}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A "did you mean" hint for a misspelt name, or None."""
    import difflib

    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
