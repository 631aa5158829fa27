"""The OpenAPI documents are valid, and plan.schema.json is what they generate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from planner import schema as plan_schema
from planner.actions import ACTIONS, API_ACTIONS

from .conftest import ROOT, run_cli

DOCS = sorted((ROOT / "schemas/openapi").glob("*.yaml"))


def test_one_document_per_api_action() -> None:
    assert sorted(p.stem for p in DOCS) == sorted(API_ACTIONS)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_openapi_document_is_valid(path: Path) -> None:
    doc = plan_schema.load_openapi(path)
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "https://api.cometapi.com"}]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_catalogue_routes_match_the_documents(path: Path) -> None:
    route, method, _ = plan_schema.operation(plan_schema.load_openapi(path))
    action = ACTIONS[path.stem]
    assert (action.route, action.method) == (route, method)


def test_committed_schema_is_current() -> None:
    done = run_cli("schema", "--check")
    assert done.code == 0, done.err


def test_check_fails_after_an_openapi_document_is_edited(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    doc = tmp_path / "schemas/openapi/add-selection.yaml"
    doc.write_text(doc.read_text().replace("maxItems: 10", "maxItems: 12"))
    args = ["--openapi-dir", str(tmp_path / "schemas/openapi"), "--output", str(tmp_path / "schemas/plan.schema.json")]
    stale = run_cli("schema", "--check", *args)
    assert stale.code == 1
    assert "is stale" in stale.err
    assert run_cli("schema", *args).code == 0
    assert run_cli("schema", "--check", *args).code == 0


def test_check_fails_when_the_fast_validator_was_made_from_another_schema(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    validator = tmp_path / "schemas/plan_validator.py"
    validator.write_text(validator.read_text().replace("SCHEMA_SHA256 = '", "SCHEMA_SHA256 = '0"))
    args = ["--openapi-dir", str(tmp_path / "schemas/openapi"), "--output", str(tmp_path / "schemas/plan.schema.json")]
    stale = run_cli("schema", "--check", *args)
    assert stale.code == 1
    assert "plan_validator.py is stale" in stale.err


def test_a_fast_validator_made_from_another_schema_is_never_used(tmp_path: Path, monkeypatch) -> None:
    from planner import resources

    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    schema = tmp_path / "schemas/plan.schema.json"
    schema.write_text(schema.read_text().replace('"maxItems": 200', '"maxItems": 201'))
    monkeypatch.setattr(resources, "schemas_dir", lambda: tmp_path / "schemas")
    resources.fast_validator.cache_clear()
    try:
        assert resources.fast_validator() is None
    finally:
        resources.fast_validator.cache_clear()
