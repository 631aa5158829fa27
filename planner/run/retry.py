"""Retry timing: exponential backoff with full jitter, Retry-After honoured, bounded twice."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(text: str | None, default: float) -> float:
    """``"90s"`` → 90.0; None → default. The schema guarantees the form."""
    if text is None:
        return default
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    """Attempts in all, the first included."""
    base: float = 1.0
    max_delay: float = 30.0

    def with_step(self, raw: dict[str, Any] | None) -> RetryPolicy:
        if not raw:
            return self
        return RetryPolicy(
            attempts=int(raw.get("attempts", self.attempts)),
            base=self.base,
            max_delay=seconds(raw.get("max_delay"), self.max_delay),
        )

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before attempt ``attempt + 1``: full jitter, but never before Retry-After."""
        ceiling = min(self.max_delay, self.base * 2 ** (attempt - 1))
        wait = rng.uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay * 4))
        return wait
