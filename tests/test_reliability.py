"""Runs that survive faults: the retry table, exactly-once task creation, replay, resume."""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from planner.run.client import Reply, judge
from planner.run.retry import RetryPolicy
from planner.sandbox import SandboxConfig
from planner.sandbox.config import Schedule, fault_from_dict, parse_fault

from .conftest import ROOT, run_cli

REMOVAL = ROOT / "plans/examples/remove-lamp-post.yaml"
FAST = ("--retry-max-delay", "20ms", "--poll-initial", "10ms", "--poll-max", "20ms")


def reply(status: int | None, body: object = None, *, transport: str | None = None, ambiguous: bool = False) -> Reply:
    return Reply("POST", "http://x", http_status=status, body=body, transport_error=transport, ambiguous=ambiguous)


def kling(code: int, data: object = None) -> dict:
    return {"code": code, "message": "m", "request_id": "r", "data": data}


@pytest.mark.parametrize(
    "code", [1000, 1001, 1002, 1003, 1004, 1100, 1101, 1102, 1103, 1200, 1201, 1202, 1203, 1300, 1301, 1304]
)
def test_codes_that_are_never_retried(code: int) -> None:
    assert judge(reply(400, kling(code)), selection=False).outcome == "fail"


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(1302, "retry"), (1303, "retry"), (5000, "ambiguous"), (5001, "ambiguous"), (5002, "ambiguous")],
)
def test_codes_that_are_retried(code: int, outcome: str) -> None:
    # 1302/1303 say the request was refused; 5000-5002 may come after it was handled.
    assert judge(reply(429 if code < 5000 else 500, kling(code)), selection=False).outcome == outcome


@pytest.mark.parametrize(
    ("status", "error_code", "outcome"),
    [
        (429, "", "retry"),
        (500, "", "ambiguous"),
        (503, "model_not_found", "ambiguous"),
        (504, "", "ambiguous"),
        (524, "", "ambiguous"),
        (500, "invalid_request", "fail"),
        (400, "", "fail"),
        (401, "", "fail"),
    ],
)
def test_gateway_errors(status: int, error_code: str, outcome: str) -> None:
    body = {"error": {"message": "x (request id: abc)", "type": "comet_api_error", "code": error_code}}
    verdict = judge(reply(status, body), selection=False)
    assert (verdict.outcome, verdict.kind) == (outcome, "gateway")
    assert reply(status, body).request_id == "abc"


def test_transport_errors_and_broken_answers() -> None:
    assert judge(reply(None, transport="refused"), selection=False).outcome == "retry"
    assert judge(reply(None, transport="timed out", ambiguous=True), selection=False).outcome == "ambiguous"
    assert judge(reply(200, None), selection=False).outcome == "ambiguous"  # not JSON
    assert judge(reply(502, None), selection=False).outcome == "ambiguous"
    assert judge(reply(404, None), selection=False).outcome == "fail"


def test_selection_success_needs_data_status_0() -> None:
    assert judge(reply(200, kling(0, {"status": 0})), selection=True).outcome == "ok"
    assert judge(reply(200, kling(0, {"status": 3})), selection=True).kind == "rejected"
    assert judge(reply(200, kling(0, {"status": 3})), selection=False).outcome == "ok"


def test_backoff_has_full_jitter_and_honours_retry_after() -> None:
    policy, rng = RetryPolicy(attempts=5, base=1.0, max_delay=8.0), random.Random(1)
    delays = [policy.delay(n, None, rng) for n in range(1, 6) for _ in range(200)]
    assert min(delays) >= 0 and max(delays) <= 8.0
    assert max(policy.delay(1, None, rng) for _ in range(200)) <= 1.0
    assert all(policy.delay(1, 3.0, rng) >= 3.0 for _ in range(50))


# -- exactly-once task creation -------------------------------------------------------------


def run_with(tmp_path: Path, sandbox, *args: str, plan: Path = REMOVAL):
    return run_cli("run", "--base-url", sandbox.base_url, str(plan), "--run-dir", "run", *FAST, *args, cwd=tmp_path)


def steps(tmp_path: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((tmp_path / "run/steps").glob("*.json"))}


def test_lost_create_answer_is_found_by_lookup_not_sent_again(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(
        SandboxConfig(faults=(parse_fault("create-task:lost-response@1"),), query_by_external_id=True)
    )
    done = run_with(tmp_path, sandbox)
    assert done.code == 0, done.out
    assert len(sandbox.state.tasks) == 1
    assert sandbox.state.snapshot()["requests"]["create-task"] == 1
    notes = [a.get("note") for a in steps(tmp_path)["05-edit"]["attempts"]]
    assert notes == [None, "lookup by external_task_id"]


def test_without_lookup_support_a_lost_create_stops_safely(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(SandboxConfig(faults=(parse_fault("create-task:lost-response@1"),)))
    done = run_with(tmp_path, sandbox)
    assert done.code == 1
    edit = steps(tmp_path)["05-edit"]
    assert edit["error"]["kind"] == "unknown-outcome"
    external = edit["request"]["body"]["external_task_id"]
    assert external in edit["error"]["message"]
    assert len(sandbox.state.tasks) == 1, "exactly the one the lost request created"


def test_refused_create_is_created_again_once_the_lookup_proves_it_absent(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(
        SandboxConfig(faults=(parse_fault("create-task:server-error@1"),), query_by_external_id=True)
    )
    done = run_with(tmp_path, sandbox, "--lookup-by-external-id")
    assert done.code == 0, done.out
    assert len(sandbox.state.tasks) == 1
    notes = [a.get("note") for a in steps(tmp_path)["05-edit"]["attempts"]]
    assert notes == [None, "lookup by external_task_id", "created again: the lookup proved it absent"]


def test_rate_limited_create_is_simply_retried(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(
        SandboxConfig(
            faults=(
                fault_from_dict({"route": "create-task", "kind": "rate-limit", "nth": [1, 2], "retry_after": 0.05}),
            )
        )
    )
    done = run_with(tmp_path, sandbox)
    assert done.code == 0
    assert [a["http_status"] for a in steps(tmp_path)["05-edit"]["attempts"]] == [429, 429, 200]
    assert steps(tmp_path)["05-edit"]["attempts"][0]["retry_in"] >= 0.05
    assert len(sandbox.state.tasks) == 1


def test_external_task_id_is_derived_from_run_and_step(tmp_path: Path, sandbox) -> None:
    assert run_with(tmp_path, sandbox).code == 0
    run_id = json.loads((tmp_path / "run/run.json").read_text())["run_id"]
    (task,) = sandbox.state.snapshot()["tasks"]
    assert task["external_task_id"] == f"planner-{run_id}-05"


@pytest.mark.parametrize(
    "fault",
    [
        "add-selection:lost-response@1",
        "delete-selection:lost-response@1",
        "delete-selection:reset@1",
        "add-selection:malformed-json@1",
    ],
)
def test_lost_selection_answers_are_repaired_by_replay(tmp_path: Path, sandbox_factory, fault: str) -> None:
    sandbox = sandbox_factory(SandboxConfig(faults=(parse_fault(fault),)))
    done = run_with(tmp_path, sandbox)
    assert done.code == 0, done.out
    (session,) = sandbox.state.snapshot()["sessions"]
    assert session["points"] == {"0": [[0.21, 0.35], [0.22, 0.62]]}, "the selection the plan describes"
    assert sandbox.state.snapshot()["requests"]["clear-selection"] == 1


def test_per_run_retry_setting(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(SandboxConfig(faults=(parse_fault("init-selection:server-error%1"),)))
    done = run_with(tmp_path, sandbox, "--retries", "2")
    assert done.code == 1
    assert len(steps(tmp_path)["01-init"]["attempts"]) == 2


# -- resume --------------------------------------------------------------------------------

WAIT_PLAN = """version: 1
name: resumable
steps:
  - id: init
    action: init-selection
    video_url: https://cdn.example.com/clips/street-5s.mp4
  - action: add-selection
    frame_index: 0
    points: [{x: 0.5, y: 0.5}]
  - id: edit
    action: create-task
    edit_mode: removal
    prompt: remove it
  - action: wait
    timeout: 500ms
    poll: {initial: 100ms, max: 100ms}
  - action: download
"""


def test_resume_reattaches_to_the_submitted_task(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(SandboxConfig(schedule=Schedule("seconds", 60, 60)))
    plan = tmp_path / "plan.yaml"
    plan.write_text(WAIT_PLAN)
    first = run_with(tmp_path, sandbox, plan=plan)
    assert first.code == 1 and steps(tmp_path)["04-wait"]["error"]["kind"] == "timeout"
    sandbox.clock.advance(120)
    again = run_cli("run", "--resume", "run", *FAST, cwd=tmp_path)
    assert again.code == 0, again.out
    assert len(sandbox.state.tasks) == 1
    assert sandbox.state.snapshot()["requests"]["create-task"] == 1
    assert again.out.count("kept") == 3
    meta = json.loads((tmp_path / "run/run.json").read_text())
    assert (meta["status"], meta["resumed"][0]["from_step"]) == ("succeeded", 4)
    assert (tmp_path / "run/download.mp4").exists()


def test_resume_continues_a_session_with_the_recorded_selection(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(SandboxConfig(faults=(parse_fault("delete-selection:rate-limit@1"),)))
    first = run_with(tmp_path, sandbox, "--retries", "1")
    assert first.code == 1
    again = run_cli("run", "--resume", "run", *FAST, cwd=tmp_path)
    assert again.code == 0, again.out
    (session,) = sandbox.state.snapshot()["sessions"]
    assert session["points"] == {"0": [[0.21, 0.35], [0.22, 0.62]]}
    assert len(sandbox.state.tasks) == 1


def test_resume_refuses_a_changed_plan_unless_forced(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(SandboxConfig(faults=(parse_fault("preview-selection:rate-limit@1"),)))
    plan = tmp_path / "plan.yaml"
    plan.write_text(REMOVAL.read_text())
    assert run_with(tmp_path, sandbox, "--retries", "1", plan=plan).code == 1
    plan.write_text(plan.read_text().replace("fill in the wall", "fill in the brick wall"))
    refused = run_cli("run", "--resume", "run", *FAST, cwd=tmp_path)
    assert refused.code == 2 and "changed since the run" in refused.err and "--force" in refused.err
    forced = run_cli("run", "--resume", "run", "--force", *FAST, cwd=tmp_path)
    assert forced.code == 0, forced.out
    (task,) = sandbox.state.snapshot()["tasks"]
    assert sandbox.state.tasks[task["task_id"]].prompt.endswith("fill in the wall behind it.")


def test_resume_refuses_an_expired_session(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(SandboxConfig(faults=(parse_fault("preview-selection:rate-limit@1"),)))
    assert run_with(tmp_path, sandbox, "--retries", "1").code == 1
    record = tmp_path / "run/steps/01-init.json"
    data = json.loads(record.read_text())
    data["ended_at"] = "2020-01-01T00:00:00Z"
    record.write_text(json.dumps(data))
    refused = run_cli("run", "--resume", "run", *FAST, cwd=tmp_path)
    assert refused.code == 2 and "has expired" in refused.err


def test_finished_runs_have_nothing_to_resume(tmp_path: Path) -> None:
    assert run_cli("run", "--sandbox", str(REMOVAL), "--run-dir", "done", cwd=tmp_path).code == 0
    done = run_cli("run", "--resume", "done", cwd=tmp_path)
    assert done.code == 0 and "already succeeded; nothing to do" in done.out
    missing = run_cli("run", "--resume", "nowhere", cwd=tmp_path)
    assert missing.code == 2 and "not a run folder" in missing.err


# -- hostile answers -----------------------------------------------------------------------


class _Fixed(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<html>gateway</html>", "not the API's JSON envelope"),
        (b'{"code": 0, "data": ' + b'"' + b"x" * (9 << 20) + b'"}', "larger than"),
        (b'{"code": 0, "message": "ok", "data": []}', "no data.status"),
        (b'{"code": 0, "message": "ok", "data": {"status": 0}}', "no data.session_id"),
        (b'{"code": "0", "data": {}}', "not the API's JSON envelope"),
        (b"[1, 2, 3]", "not the API's JSON envelope"),
    ],
)
def test_answers_of_the_wrong_shape_fail_the_step_cleanly(tmp_path: Path, body: bytes, fragment: str) -> None:
    handler = type("H", (_Fixed,), {"body": body})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        done = run_cli(
            "run", "--base-url", url, str(REMOVAL), "--run-dir", "run", "--retries", "2", *FAST, cwd=tmp_path
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.code == 1, done.out + done.err
    assert "Traceback" not in done.err
    assert fragment in steps(tmp_path)["01-init"]["error"]["message"]


def test_a_run_killed_before_it_began_leaves_a_folder_that_can_be_used(tmp_path: Path, sandbox) -> None:
    """Killed after making the folder but before run.json: nothing was sent, so reuse it."""
    (tmp_path / "run/steps").mkdir(parents=True)
    (tmp_path / "run/.run.json.4242.0.tmp").write_text('{"half": ')
    done = run_with(tmp_path, sandbox)
    assert done.code == 0, done.err
    assert not list((tmp_path / "run").glob("*.tmp"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other/notes.txt").write_text("mine")
    refused = run_cli("run", "--base-url", sandbox.base_url, str(REMOVAL), "--run-dir", "other", cwd=tmp_path)
    assert refused.code == 2 and "is not empty" in refused.err
