"""Generate ``schemas/plan.schema.json`` from the OpenAPI documents in ``schemas/openapi/``.

Each API action's step is the operation's request schema, with three changes:

* ``session_id`` is optional (the runner fills it in from the latest init step);
* any typed or constrained value may instead be a string holding a ``${{ }}`` expression,
  which is checked again once resolved;
* the step's own keys (``action``, ``id``, ``name``, ``timeout``, ``retry``) are added.

The runner actions ``wait`` and ``download`` are defined here. The output is committed;
``planner schema --check`` and a test fail when it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from planner import yamlload
from planner.actions import ACTIONS, API_ACTIONS

EXPRESSION_REF = "#/$defs/expression"
DURATION_PATTERN = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$"
ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
MAX_STEPS = 200

_KEEP = {
    "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "pattern", "minItems", "maxItems", "required", "properties",
    "additionalProperties", "items", "oneOf", "anyOf", "allOf", "if", "then", "not",
    "description", "default", "x-hint",
}  # fmt: skip


def load_openapi(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yamlload.load(path.read_text(encoding="utf-8")).data
    return data


def operation(doc: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The one (route, METHOD, operation object) of a per-operation document."""
    ((route, item),) = doc["paths"].items()
    ((method, op),) = ((m, o) for m, o in item.items() if m in {"get", "post", "put", "delete"})
    return route, method.upper(), op


def request_schema(doc: dict[str, Any]) -> dict[str, Any]:
    """The request body schema, or an object schema built from the path parameters."""
    _, _, op = operation(doc)
    if "requestBody" in op:
        schema: dict[str, Any] = op["requestBody"]["content"]["application/json"]["schema"]
        return schema
    params = [p for p in op.get("parameters", []) if p["in"] == "path"]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [p["name"] for p in params if p.get("required")],
        "properties": {p["name"]: {**p["schema"], "description": p.get("description", "")}
                       for p in params},
    }  # fmt: skip


def _clean(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_clean(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _KEEP:
            continue
        if key == "properties":
            out[key] = {name: _clean(sub) for name, sub in value.items()}
        elif key in {"items", "if", "then", "not", "additionalProperties"} or key.endswith("Of"):
            out[key] = _clean(value)
        else:
            out[key] = value
    return out


def allow_expressions(schema: dict[str, Any]) -> dict[str, Any]:
    """Let a value be a ``${{ }}`` expression wherever a typed or constrained value goes."""
    s = dict(schema)
    if isinstance(s.get("properties"), dict):
        s["properties"] = {k: allow_expressions(v) for k, v in s["properties"].items()}
    if isinstance(s.get("items"), dict):
        s["items"] = allow_expressions(s["items"])
    plain_string = s.get("type") == "string" and not ({"enum", "const", "pattern", "minLength", "maxLength"} & s.keys())
    if plain_string or "type" not in s:
        return s
    outer: dict[str, Any] = {k: s.pop(k) for k in ("description", "default") if k in s}
    return {**outer, "anyOf": [s, {"$ref": EXPRESSION_REF}]}


def _common(action: str) -> dict[str, Any]:
    return {
        "action": {"const": action},
        "id": {
            "type": "string",
            "pattern": ID_PATTERN,
            "description": "Name later steps use in ${{ steps.<id>.<output> }}.",
            "x-hint": "ids start with a letter or _, then letters, digits, _ or -",
        },
        "name": {"type": "string", "maxLength": 200, "description": "Shown in logs."},
        "timeout": {"$ref": "#/$defs/duration", "description": "Deadline for the whole step."},
        "retry": {"$ref": "#/$defs/retry"},
    }


def api_step(action: str, request: dict[str, Any]) -> dict[str, Any]:
    body = _clean(request)
    body["properties"] = {k: allow_expressions(v) for k, v in body["properties"].items()}
    required = [r for r in body.get("required", []) if r != "session_id"]
    step = {
        "type": "object",
        "description": f"{action}: the request fields of {ACTIONS[action].route}",
        "additionalProperties": False,
        "required": ["action", *required],
        "properties": {**_common(action), **body["properties"]},
    }
    for key in ("oneOf", "anyOf", "allOf"):
        if key in body:
            step[key] = body[key]
    return step


def runner_steps() -> dict[str, dict[str, Any]]:
    task_ref = {
        "type": "string",
        "pattern": r"\$\{\{",
        "description": "${{ steps.<id>.task_id }} of an earlier step; defaults to the latest.",
        "x-hint": "write ${{ steps.<create-task step id>.task_id }}",
    }
    return {
        "wait": {
            "type": "object",
            "description": "Poll a task until it is succeed or failed.",
            "additionalProperties": False,
            "required": ["action"],
            "properties": {
                **_common("wait"),
                "task_id": task_ref,
                "poll": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "initial": {"$ref": "#/$defs/duration"},
                        "max": {"$ref": "#/$defs/duration"},
                    },
                },
            },
        },
        "download": {
            "type": "object",
            "description": "Download a finished task's result videos into the run folder.",
            "additionalProperties": False,
            "required": ["action"],
            "properties": {
                **_common("download"),
                "task_id": task_ref,
                "filename": {
                    "type": "string",
                    "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                    "description": "Base name of the saved files (no folders).",
                    "x-hint": "a plain file name: letters, digits, '.', '_' or '-', no '/'",
                },
                "max_bytes": {"type": "integer", "minimum": 1, "maximum": 10 * 2**30},
            },
        },
    }


def build(openapi_dir: Path) -> dict[str, Any]:
    steps: dict[str, dict[str, Any]] = {}
    for action in API_ACTIONS:
        doc = load_openapi(openapi_dir / f"{action}.yaml")
        steps[action] = api_step(action, request_schema(doc))
    steps.update(runner_steps())
    names = list(ACTIONS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "planner plan, version 1",
        "description": "Generated by `planner schema` from schemas/openapi/. Do not edit.",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "name", "steps"],
        "properties": {
            "version": {"const": 1, "x-hint": "write version: 1"},
            "name": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                "description": "Names the run folder: runs/<name>/...",
                "x-hint": "letters, digits, '.', '_' or '-'; it names a folder",
            },
            "description": {"type": "string"},
            "inputs": {
                "type": "object",
                "maxProperties": 100,
                "propertyNames": {"pattern": ID_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/input"},
            },
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_STEPS,
                "items": {"$ref": "#/$defs/step"},
            },
        },
        "$defs": {
            "expression": {
                "type": "string",
                "pattern": r"\$\{\{",
                "description": "${{ inputs.<name> }} or ${{ steps.<id>.<output> }}",
            },
            "duration": {
                "type": "string",
                "pattern": DURATION_PATTERN,
                "x-hint": "a number with a unit: 500ms, 90s, 20m, 1h",
            },
            "retry": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "attempts": {"type": "integer", "minimum": 1, "maximum": 20},
                    "max_delay": {"$ref": "#/$defs/duration"},
                },
            },
            "input": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "description": {"type": "string"},
                    "type": {"enum": ["string", "integer", "number", "boolean"]},
                    "default": {"type": ["string", "integer", "number", "boolean"]},
                },
            },
            "step": {
                "type": "object",
                "required": ["action"],
                "properties": {"action": {"enum": names}},
                "allOf": [
                    {
                        "if": {"properties": {"action": {"const": n}}, "required": ["action"]},
                        "then": {"$ref": f"#/$defs/step-{n}"},
                    }
                    for n in names
                ],
            },
            **{f"step-{n}": steps[n] for n in names},
        },
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def generate(openapi_dir: Path) -> str:
    return render(build(openapi_dir))


VALIDATOR_HEADER = (
    "# Generated by `planner schema` from schemas/plan.schema.json with fastjsonschema.\n"
    "# Do not edit: `planner schema --check` fails when it is stale.\n"
    "# ruff: noqa\n"
    "# mypy: ignore-errors\n"
)


def schema_digest(schema_text: str) -> str:
    import hashlib

    return hashlib.sha256(schema_text.encode()).hexdigest()


def generate_validator(schema_text: str) -> str:
    """Python source of a fast validator for the plan schema (the valid-plan fast path).

    fastjsonschema speaks draft-07; every keyword the plan schema uses means the same there.
    The module records the sha256 of the schema it was made from: a validator made from
    another schema is never used, and ``planner schema --check`` reports it as stale.
    """
    import fastjsonschema

    schema = json.loads(schema_text)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    # Only the verdict is used (jsonschema explains a rejection), so the exceptions need no
    # copies of the schema, and the module defines them itself: at run time planner loads
    # this file and nothing of fastjsonschema.
    code: str = fastjsonschema.compile_to_code(schema, use_formats=False)
    code = _without_definitions(code.replace(_FASTJSONSCHEMA_IMPORT, _LOCAL_EXCEPTIONS))
    return f"{VALIDATOR_HEADER}{code}\n\nSCHEMA_SHA256 = {schema_digest(schema_text)!r}\n"


def _without_definitions(code: str) -> str:
    """Drop the copy of the schema each raise carries (``definition=...``): 366 KB -> a fraction.

    fastjsonschema's own ``detailed_exceptions=False`` fails on this schema (KeyError
    'definition_rule'), so the generated code is edited through its syntax tree instead.
    """
    import ast

    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "JsonSchemaValueException":
            node.keywords = [k for k in node.keywords if k.arg != "definition"]
    return ast.unparse(tree) + "\n"


_FASTJSONSCHEMA_IMPORT = "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException\n"
_LOCAL_EXCEPTIONS = """

class JsonSchemaValueException(ValueError):
    def __init__(self, message, value=None, name=None, definition=None, rule=None):
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule


class JsonSchemaValuesException(ValueError):
    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors

"""


def validator_digest(code: str) -> str | None:
    """The schema sha256 a generated validator records, or None."""
    marker = "\nSCHEMA_SHA256 = '"
    at = code.rfind(marker)
    return code[at + len(marker) : at + len(marker) + 64] if at >= 0 else None
