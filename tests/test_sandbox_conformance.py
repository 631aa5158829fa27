"""The sandbox follows the contract: every route, the happy path and each rejection, over raw HTTP."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from planner import contract
from planner.sandbox import media
from planner.sandbox.state import SESSION_TTL

from .sandbox_http import BASE, Raw, Reply

POINT = {"x": 0.25, "y": 0.5}


def conforms(action: str, reply: Reply) -> dict[str, Any]:
    """Assert the reply matches the route's response schema; return the body."""
    route = next(r for r in contract.routes() if r.action == action)
    schema = route.response_schema if reply.status == 200 else route.error_schema
    errors = list(Draft202012Validator(schema).iter_errors(reply.body))
    assert errors == [], [e.message for e in errors]
    body: dict[str, Any] = reply.body
    return body


def test_full_flow_on_one_keep_alive_connection(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    init = conforms("init-selection", raw.post("init-selection", {"video_url": "https://cdn.example.com/a-5s.mp4"}))
    data = init["data"]
    assert (init["code"], data["status"], data["original_duration"]) == (0, 0, 5000)
    assert data["total_frame"] == round(5 * data["fps"])
    sid = data["session_id"]
    sock = raw.conn.sock

    add = conforms(
        "add-selection",
        raw.post("add-selection", {"session_id": sid, "frame_index": 3, "points": [POINT, {"x": 0.3, "y": 0.6}]}),
    )
    assert add["data"]["res"]["frame_index"] == 3 and len(add["data"]["res"]["rle_mask_list"]) == 1
    delete = conforms(
        "delete-selection",
        raw.post("delete-selection", {"session_id": sid, "frame_index": 3, "points": [{"x": 0.3, "y": 0.6}]}),
    )
    assert delete["data"]["status"] == 0
    preview = conforms("preview-selection", raw.post("preview-selection", {"session_id": sid}))
    create = conforms(
        "create-task",
        raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "remove it from <<<video_1>>>"}),
    )
    task_id = create["data"]["task_id"]
    assert create["data"]["task_status"] == "submitted"
    statuses = [conforms("query-task", raw.query(task_id))["data"]["task_status"] for _ in range(3)]
    assert statuses == ["submitted", "processing", "succeed"]
    assert raw.conn.sock is sock, "keep-alive: all requests went over one connection"

    final = conforms("query-task", raw.query(task_id))["data"]
    video = final["task_result"]["videos"][0]
    with urllib.request.urlopen(video["url"]) as response:
        assert response.read().startswith(media.MP4_HEADER)
    for url in preview["data"]["res"].values():
        with urllib.request.urlopen(url) as response:
            assert response.status == 200
    clear = conforms("clear-selection", raw.post("clear-selection", {"session_id": sid}))
    assert clear["data"]["session_id"] == sid
    assert sandbox.state.snapshot()["requests"]["query-task"] == 4


def test_masks_are_well_formed_rle_covering_the_points(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    sid = raw.init()
    body = raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]}).body
    mask = body["data"]["res"]["rle_mask_list"][0]["rle_mask"]
    height, width = mask["size"]
    counts = media.decode_counts(mask["counts"])
    assert sum(counts) == height * width
    # Column-major: the pixel under the click must fall in an odd (object) run.
    x, y = int(POINT["x"] * width), int(POINT["y"] * height)
    position, total = x * height + y, 0
    for index, run in enumerate(counts):
        if position < total + run:
            assert index % 2 == 1
            break
        total += run


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, 1001),
        ({"Authorization": "Basic abc"}, 401, 1002),
        ({"Authorization": "Bearer "}, 401, 1002),
        ({"Authorization": "Bearer sk-revoked"}, 401, 1000),
    ],
)
def test_authentication(sandbox_factory, headers: dict[str, str], status: int, code: int) -> None:
    sandbox = sandbox_factory(invalid_tokens=("sk-revoked",))
    raw = Raw(sandbox.base_url, key=None)
    reply = raw.request("POST", f"{BASE}/init-selection", {"video_url": "https://a/b-5s.mp4"}, headers=headers)
    assert (reply.status, reply.body["code"]) == (status, code)
    conforms("init-selection", reply)


def test_unknown_route_and_wrong_method(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    assert (raw.request("GET", "/kling/v1/videos/other").status, raw.request("GET", "/x").body["code"]) == (404, 1203)
    wrong = raw.request("GET", f"{BASE}/init-selection")
    assert (wrong.status, wrong.body["code"]) == (404, 1202)
    assert sandbox.state.snapshot()["requests"] == {}


@pytest.mark.parametrize(
    ("route", "body", "fragment"),
    [
        ("add-selection", {"session_id": "1", "frame_index": 0, "points": [{"x": 1.5, "y": 0.5}]}, "points[0].x"),
        ("add-selection", {"session_id": "1", "frame_index": 0}, "'points' is a required property"),
        ("init-selection", {"video_url": "https://a/b.mp4", "video_id": "1"}, "exactly one of"),
        ("", {"session_id": "1", "edit_mode": "swap", "prompt": "p"}, "'image_list' is a required property"),
        ("", {"session_id": "1", "edit_mode": "replace", "prompt": "p"}, "edit_mode"),
        ("", {"session_id": "1", "edit_mode": "removal", "prompt": "p", "duration": 5}, "duration"),
        ("clear-selection", {"session_id": "1", "extra": True}, "unknown field 'extra'"),
    ],
)
def test_bad_bodies_get_1201_naming_the_field(sandbox, route: str, body: dict[str, Any], fragment: str) -> None:
    reply = Raw(sandbox.base_url).post(route, body)
    assert (reply.status, reply.body["code"]) == (400, 1201)
    assert fragment in reply.body["message"]


def test_body_that_is_not_json_gets_1200(sandbox) -> None:
    reply = Raw(sandbox.base_url).request("POST", f"{BASE}/init-selection", raw=b"{not json")
    assert (reply.status, reply.body["code"]) == (400, 1200)


def reject(reply: Reply, status: int, code: int, fragment: str) -> None:
    assert (reply.status, reply.body["code"]) == (status, code), reply.body
    assert fragment in reply.body["message"]


def test_frame_index_out_of_range(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    sid = raw.init("https://cdn.example.com/a-5s.mp4")
    total = sandbox.state.sessions[sid].total_frame
    reject(
        raw.post("add-selection", {"session_id": sid, "frame_index": total, "points": [POINT]}),
        400,
        1201,
        f"the clip has {total} frames",
    )


def test_eleventh_frame_and_eleventh_point(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    sid = raw.init()
    for frame in range(10):
        assert raw.post("add-selection", {"session_id": sid, "frame_index": frame, "points": [POINT]}).status == 200
    raw.post("clear-selection", {"session_id": sid})
    reject(
        raw.post("add-selection", {"session_id": sid, "frame_index": 10, "points": [POINT]}),
        400,
        1201,
        "at most 10 frames",
    )
    nine = [{"x": i / 10, "y": 0.1} for i in range(9)]
    assert raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": nine}).status == 200
    reject(
        raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT, {"x": 0.9, "y": 0.9}]}),
        400,
        1201,
        "would hold 11 points",
    )


def test_delete_of_points_never_added(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    sid = raw.init()
    raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [{"x": 0.42, "y": 0.61}]})
    reject(
        raw.post("delete-selection", {"session_id": sid, "frame_index": 0, "points": [{"x": 0.42, "y": 0.6}]}),
        400,
        1201,
        "was never added on frame 0",
    )


def test_task_on_unknown_or_expired_session(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    task = {"edit_mode": "removal", "prompt": "remove it from <<<video_1>>>"}
    reject(raw.post("", {"session_id": "404", **task}), 400, 1201, "does not exist")
    sid = raw.init()
    raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
    sandbox.clock.advance(SESSION_TTL)
    reject(raw.post("", {"session_id": sid, **task}), 400, 1201, "has expired")
    reject(raw.post("preview-selection", {"session_id": sid}), 400, 1201, "has expired")


def test_session_of_another_key_is_unknown(sandbox) -> None:
    sid = Raw(sandbox.base_url).init()
    other = Raw(sandbox.base_url, key="sk-someone-else")
    reject(other.post("clear-selection", {"session_id": sid}), 400, 1201, "does not exist for this account")


def test_concurrency_limit_gives_429_1303(sandbox_factory) -> None:
    sandbox = sandbox_factory(max_concurrent_tasks=2)
    raw = Raw(sandbox.base_url)
    for _ in range(2):
        sid = raw.init()
        raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
        assert raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "p"}).status == 200
    sid = raw.init()
    raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
    reject(raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "p"}), 429, 1303, "parallel task")
    assert len(sandbox.state.tasks) == 2


def test_unsafe_prompt_gives_1301(sandbox_factory) -> None:
    sandbox = sandbox_factory(unsafe_words=("gore",))
    raw = Raw(sandbox.base_url)
    sid = raw.init()
    raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
    reject(
        raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "add GORE to <<<video_1>>>"}),
        400,
        1301,
        "content-safety",
    )


def test_recognition_failure_is_code_0_with_status_1(sandbox_factory) -> None:
    sandbox = sandbox_factory(fail_recognition=("add-selection",))
    raw = Raw(sandbox.base_url)
    sid = raw.init()
    reply = raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
    body = conforms("add-selection", reply)
    assert (reply.status, body["code"], body["data"]["status"]) == (200, 0, 1)
    assert sandbox.state.sessions[sid].selected() == 0


def test_external_task_id_is_unique_per_key(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    for attempt in range(2):
        sid = raw.init()
        raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
        reply = raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "p", "external_task_id": "job-1"})
        if attempt:
            reject(reply, 400, 1201, "already used")
    other = Raw(sandbox.base_url, key="sk-other")
    sid = other.init()
    other.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
    assert (
        other.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "p", "external_task_id": "job-1"}).status
        == 200
    )


def test_duration_must_fit_the_source(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    sid = raw.init("https://cdn.example.com/a-5s.mp4")
    raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
    reject(
        raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "p", "duration": "10"}),
        400,
        1201,
        "does not fit the 5 s source",
    )


@pytest.mark.parametrize(
    ("url", "fragment"), [("https://a/clip-6s.mp4", "6 s long"), ("https://a/clip.avi", ".mp4 or .mov")]
)
def test_clips_the_api_would_refuse(sandbox, url: str, fragment: str) -> None:
    reject(Raw(sandbox.base_url).post("init-selection", {"video_url": url}), 400, 1201, fragment)


def test_metadata_is_deterministic(sandbox_factory) -> None:
    first = Raw(sandbox_factory().base_url).post("init-selection", {"video_id": "862514599283572736"}).body["data"]
    second = Raw(sandbox_factory().base_url).post("init-selection", {"video_id": "862514599283572736"}).body["data"]
    keys = ("fps", "total_frame", "original_duration", "width", "height")
    assert [first[k] for k in keys] == [second[k] for k in keys]


def test_failed_task_reports_task_status_msg(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    sid = raw.init()
    raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
    task_id = raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "sandbox-fail"}).body["data"][
        "task_id"
    ]
    final = [raw.query(task_id).body["data"] for _ in range(3)][-1]
    assert final["task_status"] == "failed" and "did not pass review" in final["task_status_msg"]


def test_time_based_schedule(sandbox_factory) -> None:
    from planner.sandbox.config import SandboxConfig, Schedule

    sandbox = sandbox_factory(SandboxConfig(schedule=Schedule("seconds", 10, 20)))
    raw = Raw(sandbox.base_url)
    sid = raw.init()
    raw.post("add-selection", {"session_id": sid, "frame_index": 0, "points": [POINT]})
    task_id = raw.post("", {"session_id": sid, "edit_mode": "removal", "prompt": "p"}).body["data"]["task_id"]
    assert raw.query(task_id).body["data"]["task_status"] == "submitted"
    sandbox.clock.advance(10)
    assert raw.query(task_id).body["data"]["task_status"] == "processing"
    sandbox.clock.advance(20)
    assert raw.query(task_id).body["data"]["task_status"] == "succeed"


def test_unknown_task_is_404_1203(sandbox) -> None:
    reply = Raw(sandbox.base_url).query("123")
    conforms("query-task", reply)
    assert (reply.status, reply.body["code"]) == (404, 1203)


def test_inspection_routes_are_read_only(sandbox) -> None:
    raw = Raw(sandbox.base_url)
    raw.init()
    assert raw.request("GET", "/_sandbox/requests").body == {"init-selection": 1}
    assert len(raw.request("GET", "/_sandbox/sessions").body) == 1
    assert raw.request("POST", "/_sandbox/tasks", {}).status == 405
    assert raw.request("GET", "/_sandbox/tasks").body == []
