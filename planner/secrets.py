"""Keep the API key out of everything planner writes or prints.

The key is only ever read from ``COMETAPI_KEY``. Anything leaving planner (step logs,
run.json, console lines, JSON and JUnit output, error messages) passes through
``Redactor.scrub`` so that, even by accident, the key's value is never written.
Result URLs are left alone: users need them.
"""

from __future__ import annotations

from typing import Any

REDACTED = "[REDACTED]"


class Redactor:
    def __init__(self, *secrets: str) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def scrub(self, value: Any) -> Any:
        """A copy of a JSON-like tree with every secret replaced; Authorization headers dropped."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                self.text(str(k)): (REDACTED if str(k).lower() == "authorization" else self.scrub(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value
