"""Schemathesis drives the sandbox from schemas/openapi/: no generated request gets a 5xx
(no faults are configured) and no response breaks its schema.

Generated bodies are schema-valid (positive) and schema-breaking (negative). A drawn flag
swaps the generated session_id or task_id for a real one, so requests also reach the
stateful rules instead of stopping at "unknown session".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from planner.schema import load_openapi

from .conftest import ROOT
from .sandbox_http import KEY

POINT = {"x": 0.5, "y": 0.5}
DOCS = sorted((ROOT / "schemas/openapi").glob("*.yaml"))


def _operation(path: Path) -> Any:
    schema = schemathesis.openapi.from_dict(load_openapi(path))
    (result,) = list(schema.get_all_operations())
    return result.ok()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_generated_requests_never_get_5xx_and_responses_conform(sandbox, path: Path, mode: GenerationMode) -> None:
    operation = _operation(path)
    state = sandbox.state
    _, init = state.init_selection(KEY, {"video_url": "https://cdn.example.com/clips/prop-5s.mp4"})
    session_id = init["data"]["session_id"]
    state.add_selection(KEY, {"session_id": session_id, "frame_index": 0, "points": [POINT]})
    _, task = state.create_task(KEY, {"session_id": session_id, "edit_mode": "removal", "prompt": "p"})
    statuses: list[int] = []

    @settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    def check(case: Any, real: bool) -> None:
        if real and isinstance(case.body, dict) and "session_id" in case.body:
            case.body["session_id"] = session_id
            if path.stem == "delete-selection" and mode is GenerationMode.POSITIVE:
                with state.lock:  # make sure the point is selected, then delete exactly it
                    state.add_selection(KEY, {"session_id": session_id, "frame_index": 0, "points": [POINT]})
                case.body.update(frame_index=0, points=[POINT])
        if real and path.stem == "init-selection" and mode is GenerationMode.POSITIVE:
            case.body = {"video_url": "https://cdn.example.com/clips/generated-5s.mp4"}
        if real and case.path_parameters and "task_id" in case.path_parameters:
            case.path_parameters["task_id"] = task["data"]["task_id"]
        response = case.call(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {KEY}"})
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    check()
    assert statuses and max(statuses) < 500
    if mode is GenerationMode.POSITIVE:
        assert 200 in statuses, "some generated requests must succeed"
    else:
        assert 400 in statuses or 404 in statuses
