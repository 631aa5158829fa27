"""Fault injection: each class, by Nth request or by seeded probability, over raw HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path

import pytest

from planner.errors import UsageError
from planner.sandbox.config import SandboxConfig, fault_from_dict, load_config, parse_fault

from .sandbox_http import Raw

POINT = {"x": 0.5, "y": 0.5}


def with_faults(factory, *specs: str, seed: int = 0):
    return factory(SandboxConfig(seed=seed, faults=tuple(parse_fault(s) for s in specs)))


def ready_session(raw: Raw) -> str:
    sid = raw.init()
    assert raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]}).status == 200
    return sid


@pytest.mark.parametrize("code", [1302, 1303])
def test_rate_limit_has_code_and_retry_after_and_changes_nothing(sandbox_factory, code: int) -> None:
    sandbox = sandbox_factory(
        SandboxConfig(
            faults=(
                fault_from_dict(
                    {"route": "init-selection", "kind": "rate-limit", "nth": [1], "code": code, "retry_after": 2}
                ),
            )
        )
    )
    raw = Raw(sandbox.base_url)
    reply = raw.post("init-selection", {"video_url": "https://a/b-5s.mp4"})
    assert (reply.status, reply.body["code"], reply.headers["Retry-After"]) == (429, code, "2")
    assert sandbox.state.sessions == {}
    assert raw.post("init-selection", {"video_url": "https://a/b-5s.mp4"}).status == 200


@pytest.mark.parametrize(("code", "status"), [(5000, 500), (5001, 503), (5002, 504)])
def test_server_errors(sandbox_factory, code: int, status: int) -> None:
    sandbox = sandbox_factory(
        SandboxConfig(
            faults=(fault_from_dict({"route": "query-task", "kind": "server-error", "nth": [1], "code": code}),)
        )
    )
    reply = Raw(sandbox.base_url).query("123")
    assert (reply.status, reply.body["code"]) == (status, code)


@pytest.mark.parametrize("status", [429, 500, 503, 504, 524])
def test_gateway_error_uses_cometapi_shape(sandbox_factory, status: int) -> None:
    sandbox = sandbox_factory(
        SandboxConfig(
            faults=(
                fault_from_dict(
                    {
                        "route": "*",
                        "kind": "gateway-error",
                        "nth": [1],
                        "status": status,
                        "error_code": "model_not_found",
                    }
                ),
            )
        )
    )
    reply = Raw(sandbox.base_url).post("init-selection", {"video_url": "https://a/b-5s.mp4"})
    assert reply.status == status
    error = reply.body["error"]
    assert (error["type"], error["code"]) == ("comet_api_error", "model_not_found")
    assert "request id:" in error["message"]
    assert sandbox.state.sessions == {}


def test_reset_drops_the_connection_before_handling(sandbox_factory) -> None:
    sandbox = with_faults(sandbox_factory, "init-selection:reset@1")
    raw = Raw(sandbox.base_url)
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        raw.post("init-selection", {"video_url": "https://a/b-5s.mp4"})
    assert sandbox.state.sessions == {}
    assert Raw(sandbox.base_url).post("init-selection", {"video_url": "https://a/b-5s.mp4"}).status == 200


def test_delay_outlasts_the_client_but_the_request_is_handled(sandbox_factory) -> None:
    sandbox = sandbox_factory(
        SandboxConfig(faults=(fault_from_dict({"route": "init-selection", "kind": "delay", "nth": [1], "delay": 0.6}),))
    )
    raw = Raw(sandbox.base_url, timeout=0.2)
    with pytest.raises(socket.timeout):
        raw.post("init-selection", {"video_url": "https://a/b-5s.mp4"})
    deadline = time.monotonic() + 5
    while not sandbox.state.sessions and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sandbox.state.sessions) == 1


def test_malformed_json_after_the_state_changed(sandbox_factory) -> None:
    sandbox = with_faults(sandbox_factory, "create-task:malformed-json@1")
    raw = Raw(sandbox.base_url)
    sid = ready_session(raw)
    reply = raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "p"})
    assert reply.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.raw)
    assert len(sandbox.state.tasks) == 1


def test_lost_response_on_create_task_still_creates_the_task(sandbox_factory) -> None:
    sandbox = with_faults(sandbox_factory, "create-task:lost-response@1")
    raw = Raw(sandbox.base_url)
    sid = ready_session(raw)
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "p", "external_task_id": "e1"})
    tasks = sandbox.state.snapshot()["tasks"]
    assert [t["external_task_id"] for t in tasks] == ["e1"]
    assert sandbox.state.snapshot()["faults"] == [("create-task", 1, "lost-response")]


def test_file_downloads_can_fail_too(sandbox_factory) -> None:
    sandbox = with_faults(sandbox_factory, "files:server-error@1")
    raw = Raw(sandbox.base_url)
    url = raw.post("init-selection", {"video_url": "https://a/b-5s.mp4"}).body["data"]["normalized_video"]
    files = Raw(url.rsplit("/", 2)[0])
    path = "/" + url.split("/", 3)[3]
    assert files.request("GET", path).status == 500
    assert files.request("GET", path).status == 200
    assert [d["authorization"] for d in sandbox.state.downloads] == [True, True]


def _statuses(factory, seed: int) -> list[int]:
    sandbox = with_faults(factory, "init-selection:server-error%0.5", seed=seed)
    raw = Raw(sandbox.base_url)
    return [raw.post("init-selection", {"video_url": "https://a/b-5s.mp4"}).status for _ in range(24)]


def test_probabilistic_faults_are_seeded_and_repeatable(sandbox_factory) -> None:
    first, again, other = (_statuses(sandbox_factory, s) for s in (7, 7, 8))
    assert first == again
    assert first != other
    assert {500, 200} == set(first)


def test_nth_targets_exact_requests_and_times_bounds_a_rule(sandbox_factory) -> None:
    sandbox = sandbox_factory(
        SandboxConfig(
            faults=(
                fault_from_dict({"route": "init-selection", "kind": "server-error", "nth": [2, 4]}),
                fault_from_dict({"route": "*", "kind": "rate-limit", "probability": 1.0, "times": 1}),
            )
        )
    )
    raw = Raw(sandbox.base_url)
    statuses = [raw.post("init-selection", {"video_url": "https://a/b-5s.mp4"}).status for _ in range(5)]
    assert statuses == [429, 500, 200, 500, 200]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("create-task:explode@1", "not one of"),
        ("nowhere:reset@1", "not one of"),
        ("create-task:reset", "@N or %P"),
        ("query-task:rate-limit%2", "probability"),
        ("query-task:reset@x", "bad fault rule"),
    ],
)
def test_bad_fault_specs_are_usage_errors(spec: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_fault(spec)


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.yaml"
    path.write_text(
        "seed: 3\nmax_concurrent_tasks: 1\nunsafe_words: [gore]\n"
        "schedule: {unit: seconds, submitted: 2, processing: 4}\n"
        "faults:\n  - {route: create-task, kind: lost-response, nth: [1]}\n"
    )
    config = load_config(path, faults=(parse_fault("query-task:reset@2"),))
    assert (config.seed, config.max_concurrent_tasks, config.unsafe_words) == (3, 1, ("gore",))
    assert config.schedule.unit == "seconds"
    assert [(f.route, f.kind) for f in config.faults] == [("create-task", "lost-response"), ("query-task", "reset")]
    path.write_text("sead: 3\n")
    with pytest.raises(UsageError, match="unknown sandbox setting"):
        load_config(path)
