"""The API contract from ``schemas/openapi/``: routes and request schemas.

The sandbox enforces it on every request; the runner checks resolved requests against it
before sending them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from planner.actions import ACTIONS, API_ACTIONS
from planner.diagnostics import display_path
from planner.resources import openapi_dir


@dataclass(frozen=True)
class Route:
    action: str
    method: str
    pattern: re.Pattern[str]
    validator: Any
    response_schema: dict[str, Any]
    error_schema: dict[str, Any]


@functools.cache
def routes() -> tuple[Route, ...]:
    from jsonschema import Draft202012Validator

    from planner.schema import load_openapi, operation, request_schema

    out = []
    for action in API_ACTIONS:
        doc = load_openapi(openapi_dir() / f"{action}.yaml")
        route, method, op = operation(doc)
        components = doc.get("components", {})

        def resolved(schema: dict[str, Any], components: dict[str, Any] = components) -> dict[str, Any]:
            return {**schema, "components": components}

        ok = op["responses"]["200"]["content"]["application/json"]["schema"]
        err = op["responses"]["default"]["content"]["application/json"]["schema"]
        regex = "^" + re.sub(r"\\\{[a-z_]+\\\}", "(?P<task_id>[^/]+)", re.escape(route)) + "$"
        out.append(
            Route(
                action=action,
                method=method,
                pattern=re.compile(regex),
                validator=Draft202012Validator(request_schema(doc)),
                response_schema=resolved(ok),
                error_schema=resolved(err),
            )
        )
        assert ACTIONS[action].route == route
    return tuple(out)


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path parameters, path known with another method)."""
    # Fixed paths win over the parameterised query route: GET .../init-selection is a
    # wrong method on init-selection, not a query for a task named "init-selection".
    ordered = sorted(routes(), key=lambda r: "(?P<" in r.pattern.pattern)
    for route in ordered:
        found = route.pattern.match(path)
        if found:
            if route.method == method:
                return route, found.groupdict(), True
            if not found.groupdict():
                return None, {}, True
    return None, {}, False


def body_error(route: Route, body: Any) -> str | None:
    """The first contract violation in a request body, naming the field, or None."""
    from jsonschema.exceptions import best_match

    error = best_match(route.validator.iter_errors(body))
    if error is None:
        return None
    where = display_path(error.absolute_path) or "body"
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        return f"{where}: unknown field {', '.join(repr(e) for e in extra)}"
    branches = error.validator_value if error.validator == "oneOf" else None
    if isinstance(branches, list) and all(set(b) == {"required"} for b in branches):
        names = " or ".join(repr(b["required"][0]) for b in branches)
        return f"{where}: give exactly one of {names}"
    return f"{where}: {error.message}"
