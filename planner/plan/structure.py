"""Check a plan against ``schemas/plan.schema.json`` and word each error for a person.

jsonschema's own messages are written for schema authors; each keyword here gets a
sentence for the plan's author, placed at the offending key or value, with a hint
from the schema's ``x-hint`` or a "did you mean" where one exists.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from planner.diagnostics import Diagnostic, JsonPath, did_you_mean, display_path, short
from planner.resources import fast_validator, plan_schema
from planner.yamlload import Document

EXPRESSION_REF = "#/$defs/expression"
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(plan_schema())


def request_problem(action: str, fields: dict[str, Any]) -> str | None:
    """The first way a *resolved* request breaks its action's step schema, or None.

    The step definitions are the OpenAPI request schemas plus the step's own keys, so
    this is the API contract without loading the OpenAPI documents at run time.
    """
    instance = {"action": action, **fields}
    if fast_verdict({"version": 1, "name": "request", "steps": [instance]}) is None:
        return None
    validator = _validator()
    step_schema = validator.schema["$defs"][f"step-{action}"]
    for error in validator.evolve(schema=step_schema).iter_errors(instance):
        for diag in _describe(error, Document(data=instance)):
            return diag.text()
    return None


def fast_verdict(data: Any) -> str | None:
    """None if the generated fast validator accepts ``data``, else its complaint.

    Valid plans, the common case, never import jsonschema (about 70 ms). A rejection is
    explained by jsonschema below; the fast validator never decides that a plan is valid
    on its own if it could not be loaded.
    """
    module = fast_validator()
    if module is None:
        return "fast validator unavailable"
    try:
        module.validate(data)
    except Exception as exc:  # JsonSchemaValueException and anything unexpected
        return str(exc) or type(exc).__name__
    return None


def check(doc: Document, *, limit: int = 50) -> list[Diagnostic]:
    """Every schema error in ``doc`` as a diagnostic, sorted by position."""
    complaint = fast_verdict(doc.data)
    if complaint is None:
        return []
    found: dict[tuple[int, int, str], Diagnostic] = {}
    for error in _validator().iter_errors(doc.data):
        for diag in _describe(error, doc):
            found.setdefault((diag.line, diag.col, diag.message), diag)
        if len(found) >= limit:
            break
    if not found and complaint != "fast validator unavailable":
        # The validators disagree: refuse rather than let a doubtful plan through.
        found[(1, 1, complaint)] = Diagnostic(1, 1, f"plan: {complaint}")
    return sorted(found.values())


def _where(path: JsonPath) -> str:
    return display_path(path) or "plan"


def _hint(error: Any) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    hint = schema.get("x-hint")
    return hint if isinstance(hint, str) else None


def _type_name(expected: Any) -> str:
    if isinstance(expected, list):
        return " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in expected)
    return _TYPE_NAMES.get(str(expected), str(expected))


def _describe(error: Any, doc: Document) -> Iterator[Diagnostic]:
    path: JsonPath = tuple(error.absolute_path)
    keyword = error.validator
    value = error.instance
    hint = _hint(error)

    def at(message: str, *, key: bool = False, hint: str | None = hint, sub: JsonPath = ()) -> Diagnostic:
        # Lists and mappings are pointed at by their key; scalars by their value.
        full = (*path, *sub)
        container = not sub and isinstance(value, dict | list)
        line, col = doc.position(full, key=key or container)
        return Diagnostic(line, col, f"{_where(full)}: {message}", hint, full)

    if keyword == "anyOf" and _allows_expression(error.validator_value):
        # A typed value that may also be an expression: explain the typed branch only.
        typed = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == 0]
        if typed:
            for sub in typed:
                yield from _describe(sub, doc)
            return
    if keyword == "additionalProperties" and isinstance(value, dict):
        allowed = list(error.schema.get("properties", {}))
        for name in value:
            if name not in allowed:
                yield at(
                    f"unknown field '{name}'",
                    key=True,
                    sub=(name,),
                    hint=did_you_mean(name, allowed) or _allowed_hint(allowed),
                )
        return
    if keyword == "required" and isinstance(value, dict):
        for name in error.validator_value:
            if name not in value:
                yield at(f"missing required field '{name}'", key=True)
        return
    if keyword == "oneOf" and _only_required(error.validator_value) and isinstance(value, dict):
        names = [s["required"][0] for s in error.validator_value]
        given = [n for n in names if n in value]
        if given:
            yield at(f"give only one of {_or(names)}, not both", key=True)
        else:
            yield at(f"needs one of {_or(names)}", key=True)
        return
    if keyword == "enum":
        choices = [str(c) for c in error.validator_value]
        if path and path[-1] == "action":
            message = f"unknown action {short(value)}"
        else:
            message = f"{short(value)} is not one of {', '.join(repr(c) for c in choices)}"
        yield at(message, hint=did_you_mean(str(value), choices) or hint)
        return
    if keyword == "const":
        yield at(f"must be {error.validator_value!r}, not {short(value)}")
        return
    if keyword == "type":
        yield at(f"expected {_type_name(error.validator_value)}, got {short(value)}")
        return
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "less than",
            "maximum": "greater than",
            "exclusiveMinimum": "less than or equal to",
            "exclusiveMaximum": "greater than or equal to",
        }[keyword]
        yield at(f"{value!r} is {words} {error.validator_value!r}")
        return
    if keyword in ("minItems", "maxItems") and isinstance(value, list):
        bound = error.validator_value
        n = len(value)
        if keyword == "maxItems":
            yield at(f"has {n} items; at most {bound} allowed")
        else:
            yield at("must not be empty" if bound == 1 else f"has {n} items; needs at least {bound}")
        return
    if keyword in ("minLength", "maxLength") and isinstance(value, str):
        bound = error.validator_value
        if keyword == "maxLength":
            yield at(f"is {len(value)} characters long; at most {bound} allowed")
        else:
            yield at("must not be empty")
        return
    if keyword == "pattern":
        yield at(f"{short(value)} is not in the expected form", hint=hint or f"pattern {error.validator_value}")
        return
    if keyword == "not" and isinstance(value, dict) and isinstance(error.validator_value, dict):
        for name in error.validator_value.get("required", []):
            yield at(f"field '{name}' is not allowed here", key=True, sub=(name,))
        return
    if keyword == "maxProperties" and isinstance(value, dict):
        yield at(f"has {len(value)} entries; at most {error.validator_value} allowed")
        return
    if keyword == "propertyNames":
        yield at(
            f"{short(value)} is not a valid name", hint="names start with a letter or _, then letters, digits, _ or -"
        )
        return
    yield at(error.message)


def _allows_expression(branches: Any) -> bool:
    return isinstance(branches, list) and any(isinstance(b, dict) and b.get("$ref") == EXPRESSION_REF for b in branches)


def _only_required(branches: Any) -> bool:
    return isinstance(branches, list) and all(
        isinstance(b, dict) and set(b) == {"required"} and len(b["required"]) == 1 for b in branches
    )


def _or(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return " or ".join(quoted)


def _allowed_hint(allowed: list[str]) -> str | None:
    if not allowed or len(allowed) > 12:
        return None
    return "allowed: " + ", ".join(allowed)
