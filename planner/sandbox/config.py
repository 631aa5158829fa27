"""Sandbox settings and fault rules, from a YAML/JSON file or command-line specs.

A config file::

    seed: 7
    max_concurrent_tasks: 2
    unsafe_words: [gore]
    fail_words: [sandbox-fail]
    fail_recognition: [add-selection]
    invalid_tokens: [sk-revoked]
    schedule: {unit: polls, submitted: 1, processing: 1}   # or unit: seconds
    query_by_external_id: false
    faults:
      - {route: create-task, kind: lost-response, nth: [1]}
      - {route: query-task, kind: rate-limit, probability: 0.3, code: 1302, retry_after: 1}

A command-line fault spec is ``ROUTE:KIND[@N,N...|%P]``, e.g. ``create-task:lost-response@1``
or ``query-task:server-error%0.25``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.actions import API_ACTIONS
from planner.errors import UsageError

FAULT_KINDS = (
    "rate-limit",       # 429 with code 1302/1303 and Retry-After; nothing happens
    "server-error",     # 500/503/504 with code 5000/5001/5002; nothing happens
    "gateway-error",    # CometAPI's {"error": {...}} shape; nothing happens
    "reset",            # connection reset before the request is handled
    "delay",            # the answer comes `delay` seconds late (the request is handled)
    "malformed-json",   # handled, then a 200 whose body is not JSON
    "lost-response",    # handled, then the connection is dropped with no answer
)  # fmt: skip
ROUTES = (*API_ACTIONS, "files", "*")
_SERVER_CODES = {5000: 500, 5001: 503, 5002: 504}


@dataclass(frozen=True)
class FaultRule:
    route: str
    kind: str
    nth: tuple[int, ...] = ()
    probability: float = 0.0
    code: int | None = None
    status: int | None = None
    retry_after: float = 1.0
    delay: float = 5.0
    error_code: str = ""
    times: int | None = None

    def http_status(self) -> int:
        if self.kind == "rate-limit":
            return 429
        if self.kind == "server-error":
            return _SERVER_CODES.get(self.kind_code(), 500)
        if self.kind == "gateway-error":
            return self.status or 503
        return 200

    def kind_code(self) -> int:
        if self.kind == "rate-limit":
            return self.code or 1303
        return self.code or 5000


@dataclass(frozen=True)
class Schedule:
    unit: str = "polls"
    """``polls``: status moves on with each query; ``seconds``: with the clock."""
    submitted: float = 1
    processing: float = 1


@dataclass(frozen=True)
class SandboxConfig:
    seed: int = 0
    max_concurrent_tasks: int = 5
    unsafe_words: tuple[str, ...] = ("sandbox-unsafe",)
    fail_words: tuple[str, ...] = ("sandbox-fail",)
    fail_recognition: tuple[str, ...] = ()
    invalid_tokens: tuple[str, ...] = ()
    schedule: Schedule = field(default_factory=Schedule)
    query_by_external_id: bool = False
    result_bytes: int = 64 * 1024
    faults: tuple[FaultRule, ...] = ()


def fault_from_dict(raw: dict[str, Any]) -> FaultRule:
    try:
        rule = FaultRule(
            route=str(raw["route"]),
            kind=str(raw["kind"]),
            nth=tuple(int(n) for n in raw.get("nth", ())),
            probability=float(raw.get("probability", 0.0)),
            code=int(raw["code"]) if raw.get("code") is not None else None,
            status=int(raw["status"]) if raw.get("status") is not None else None,
            retry_after=float(raw.get("retry_after", 1.0)),
            delay=float(raw.get("delay", 5.0)),
            error_code=str(raw.get("error_code", "")),
            times=int(raw["times"]) if raw.get("times") is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"bad fault rule {raw!r}: {exc}") from exc
    if rule.route not in ROUTES:
        raise UsageError(f"fault route {rule.route!r} is not one of {', '.join(ROUTES)}")
    if rule.kind not in FAULT_KINDS:
        raise UsageError(f"fault kind {rule.kind!r} is not one of {', '.join(FAULT_KINDS)}")
    if not rule.nth and not 0 < rule.probability <= 1:
        raise UsageError(f"fault rule for {rule.route} needs nth or a probability in (0, 1]")
    if rule.kind == "rate-limit" and rule.kind_code() not in (1302, 1303):
        raise UsageError("a rate-limit fault has code 1302 or 1303")
    if rule.kind == "server-error" and rule.kind_code() not in _SERVER_CODES:
        raise UsageError("a server-error fault has code 5000, 5001 or 5002")
    return rule


def parse_fault(spec: str) -> FaultRule:
    """``ROUTE:KIND[@N,N|%P]``"""
    route, _, rest = spec.partition(":")
    raw: dict[str, Any] = {"route": route}
    if "@" in rest:
        kind, _, nth = rest.partition("@")
        raw["nth"] = [n for n in nth.split(",") if n]
    elif "%" in rest:
        kind, _, probability = rest.partition("%")
        raw["probability"] = probability
    else:
        raise UsageError(f"fault spec {spec!r} needs @N or %P, e.g. create-task:lost-response@1")
    raw["kind"] = kind
    return fault_from_dict(raw)


def load_config(path: Path | None, **overrides: Any) -> SandboxConfig:
    raw: dict[str, Any] = {}
    if path is not None:
        from planner import yamlload
        from planner.errors import PlanSyntaxError

        try:
            raw = yamlload.load(path.read_text(encoding="utf-8")).data or {}
        except (OSError, PlanSyntaxError) as exc:
            raise UsageError(f"cannot read sandbox config {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise UsageError(f"{path}: a sandbox config is a mapping")
    known = set(SandboxConfig.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise UsageError(f"{path}: unknown sandbox setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "faults":
            values[key] = tuple(fault_from_dict(f) for f in value or ())
        elif key == "schedule":
            values[key] = Schedule(**value)
        elif isinstance(value, list):
            values[key] = tuple(value)
        else:
            values[key] = value
    for key, value in overrides.items():
        if value in (None, ()):
            continue
        if key == "faults":
            values[key] = (*values.get("faults", ()), *value)
        else:
            values[key] = value
    try:
        return SandboxConfig(**values)
    except TypeError as exc:
        raise UsageError(f"bad sandbox config: {exc}") from exc
