"""Where the bundled schemas live: ``schemas/`` in a checkout, ``planner/_schemas`` in a wheel."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent


@functools.cache
def schemas_dir() -> Path:
    for candidate in (_HERE / "_schemas", _HERE.parent / "schemas"):
        if (candidate / "openapi").is_dir():
            return candidate
    raise FileNotFoundError("planner's schemas folder is missing from this installation")


def openapi_dir() -> Path:
    return schemas_dir() / "openapi"


def plan_schema_path() -> Path:
    return schemas_dir() / "plan.schema.json"


@functools.cache
def plan_schema() -> dict[str, Any]:
    with plan_schema_path().open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@functools.cache
def fast_validator() -> Any:
    """The generated fastjsonschema validator module, or None if it cannot be loaded."""
    import hashlib
    import importlib.util

    path = schemas_dir() / "plan_validator.py"
    spec = importlib.util.spec_from_file_location("planner._plan_validator", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:  # a broken artefact only costs speed; jsonschema still decides
        return None
    schema = hashlib.sha256(plan_schema_path().read_bytes()).hexdigest()
    if getattr(module, "SCHEMA_SHA256", None) != schema:
        return None  # made from another schema: not to be trusted
    return module
