"""Seeded, repeatable choice of which request gets which fault."""

from __future__ import annotations

import random
import threading

from planner.sandbox.config import FaultRule


class FaultPlan:
    def __init__(
        self, rules: tuple[FaultRule, ...], seed: int, injected: list[tuple[str, int, str]] | None = None
    ) -> None:
        self.rules = rules
        # One generator per rule: a rule's choices depend only on the requests it sees.
        self._rngs = [random.Random(f"{seed}:{i}") for i in range(len(rules))]
        self._fired = [0] * len(rules)
        self._lock = threading.Lock()
        self.injected = injected if injected is not None else []
        """(route, n, kind) for every fault injected, for tests and inspection."""

    def pick(self, route: str, n: int) -> FaultRule | None:
        """The fault for the ``n``-th request (1-based) to ``route``, if any."""
        with self._lock:
            for i, rule in enumerate(self.rules):
                if rule.route not in (route, "*"):
                    continue
                if rule.times is not None and self._fired[i] >= rule.times:
                    continue
                hit = n in rule.nth if rule.nth else self._rngs[i].random() < rule.probability
                if hit:
                    self._fired[i] += 1
                    self.injected.append((route, n, rule.kind))
                    return rule
        return None
