"""`planner run` end to end: the CLI as a subprocess against a sandbox on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from planner.sandbox import SandboxConfig
from planner.sandbox.config import Schedule, parse_fault

from .conftest import ROOT, SENTINEL_KEY, run_cli

EXAMPLES = sorted((ROOT / "plans/examples").glob("*.yaml"))
REMOVAL = ROOT / "plans/examples/remove-lamp-post.yaml"


def run_dir(tmp_path: Path) -> Path:
    (found,) = [p for p in (tmp_path / "runs").glob("*/*") if p.is_dir()]
    return found


def step_files(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((folder / "steps").glob("*.json"))}


def write_plan(tmp_path: Path, steps: str, name: str = "t") -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(f"version: 1\nname: {name}\nsteps:\n{steps}")
    return path


INIT = """  - id: init
    action: init-selection
    video_url: https://cdn.example.com/clips/street-5s.mp4
  - action: add-selection
    frame_index: 0
    points: [{x: 0.5, y: 0.5}]
"""


@pytest.mark.parametrize("plan", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_runs_green_on_the_sandbox(tmp_path: Path, plan: Path) -> None:
    done = run_cli("run", "--sandbox", str(plan), cwd=tmp_path)
    assert done.code == 0, done.out + done.err
    folder = run_dir(tmp_path)
    steps = step_files(folder)
    n_steps = len(plan.read_text().split("\n  - ")) - 1
    assert len(steps) == n_steps
    assert all(s["status"] == "succeeded" for s in steps.values())
    meta = json.loads((folder / "run.json").read_text())
    assert (meta["status"], meta["exit_code"]) == ("succeeded", 0)
    assert meta["plan_sha256"] and meta["git"]["commit"]
    assert (folder / "plan.yaml").read_text() == plan.read_text()
    download = next(s for s in steps.values() if s["action"] == "download")
    saved = folder / download["outputs"]["path"]
    import hashlib

    assert hashlib.sha256(saved.read_bytes()).hexdigest() == download["outputs"]["sha256"]
    assert "succeeded in" in done.out and "\nstep  id" in done.out
    assert "against the sandbox at http://127.0.0.1:" in done.out.splitlines()[0]


def test_key_goes_to_the_api_only_and_appears_nowhere(tmp_path: Path, sandbox) -> None:
    done = run_cli(
        "run",
        "--base-url",
        sandbox.base_url,
        str(REMOVAL),
        "--json",
        "--junit",
        str(tmp_path / "junit.xml"),
        cwd=tmp_path,
    )
    assert done.code == 0, done.err
    downloads = sandbox.state.snapshot()["downloads"]
    assert downloads and not any(d["authorization"] for d in downloads)
    assert SENTINEL_KEY not in done.out + done.err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SENTINEL_KEY.encode() not in path.read_bytes(), path


def test_json_prints_only_a_summary_on_stdout(tmp_path: Path) -> None:
    done = run_cli("run", "--sandbox", "--json", str(REMOVAL), cwd=tmp_path)
    summary = json.loads(done.out)
    assert (summary["status"], summary["exit_code"], summary["not_run"]) == ("succeeded", 0, 0)
    assert [s["status"] for s in summary["steps"]] == ["succeeded"] * 7
    assert summary["steps"][4]["outputs"]["task_id"]
    assert "planner: run" in done.err


def test_junit_has_one_case_per_step(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        INIT
        + """  - action: create-task
    edit_mode: removal
    prompt: remove it, sandbox-unsafe
  - action: wait
""",
    )
    done = run_cli("run", "--sandbox", str(plan), "--junit", "report.xml", cwd=tmp_path)
    assert done.code == 1
    suite = ET.parse(tmp_path / "report.xml").getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "01 init (init-selection)",
        "02 add-selection (add-selection)",
        "03 create-task (create-task)",
        "04 wait (wait)",
    ]
    assert cases[2].find("failure") is not None and "1301" in (cases[2].find("failure").get("message") or "")
    assert cases[3].find("skipped") is not None
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "1")


def assert_failed_step(tmp_path: Path, done, stem: str, kind: str, fragment: str) -> dict:
    assert done.code == 1, done.out + done.err
    steps = step_files(run_dir(tmp_path))
    failed = steps[f"{stem}.json"]
    assert failed["status"] == "failed"
    assert failed["error"]["kind"] == kind
    assert fragment in failed["error"]["message"], failed["error"]
    assert fragment in done.out
    assert json.loads((run_dir(tmp_path) / "run.json").read_text())["exit_code"] == 1
    return failed


def test_api_error_code_fails_the_step_with_its_meaning(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        INIT
        + """  - id: edit
    action: create-task
    edit_mode: removal
    prompt: remove the sign, sandbox-unsafe
""",
    )
    done = run_cli("run", "--sandbox", str(plan), cwd=tmp_path)
    failed = assert_failed_step(tmp_path, done, "03-edit", "api", "content-safety")
    assert (failed["error"]["http_status"], failed["error"]["code"]) == (400, 1301)
    assert failed["error"]["meaning"] == "content-safety policy triggered"
    assert failed["error"]["request_id"]
    assert len(failed["attempts"]) == 1, "1301 is never retried"


def test_gateway_error_is_retried_then_reported(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(SandboxConfig(faults=(parse_fault("init-selection:gateway-error%1"),)))
    plan = write_plan(tmp_path, INIT + "    retry: {attempts: 3, max_delay: 100ms}\n".replace("    retry", "    retry"))
    plan.write_text(
        plan.read_text().replace(
            "  - action: add-selection", "    retry: {attempts: 3, max_delay: 100ms}\n  - action: add-selection", 1
        )
    )
    done = run_cli("run", "--base-url", sandbox.base_url, str(plan), cwd=tmp_path)
    failed = assert_failed_step(tmp_path, done, "01-init", "gateway", "CometAPI gateway error")
    assert len(failed["attempts"]) == 3
    assert failed["error"]["http_status"] == 503
    assert sandbox.state.snapshot()["requests"]["init-selection"] == 3


def test_failed_task_fails_the_wait_with_task_status_msg(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        INIT
        + """  - action: create-task
    edit_mode: removal
    prompt: sandbox-fail
  - id: wait
    action: wait
""",
    )
    done = run_cli("run", "--sandbox", str(plan), cwd=tmp_path)
    failed = assert_failed_step(tmp_path, done, "04-wait", "task-failed", "did not pass review")
    assert failed["outputs"]["task_status"] == "failed"


def test_recognition_failure_fails_a_selection_step(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(fail_recognition=("add-selection",))
    done = run_cli("run", "--base-url", sandbox.base_url, str(write_plan(tmp_path, INIT)), cwd=tmp_path)
    failed = assert_failed_step(tmp_path, done, "02-add-selection", "rejected", "could not recognise")
    assert failed["response"]["body"]["code"] == 0


def test_runtime_check_sends_nothing(tmp_path: Path, sandbox) -> None:
    plan = write_plan(tmp_path, INIT.replace("frame_index: 0", "frame_index: 5000"))
    done = run_cli("run", "--base-url", sandbox.base_url, str(plan), cwd=tmp_path)
    failed = assert_failed_step(tmp_path, done, "02-add-selection", "check", "past the end of the clip")
    assert failed["attempts"] == []
    assert sandbox.state.snapshot()["requests"] == {"init-selection": 1}


def test_duration_is_checked_against_the_source(tmp_path: Path, sandbox) -> None:
    plan = write_plan(
        tmp_path,
        INIT
        + """  - action: create-task
    edit_mode: removal
    prompt: remove it
    duration: "10"
""",
    )
    done = run_cli("run", "--base-url", sandbox.base_url, str(plan), cwd=tmp_path)
    assert_failed_step(tmp_path, done, "03-create-task", "check", 'use duration: "5"')
    assert "create-task" not in sandbox.state.snapshot()["requests"]


def test_wait_times_out(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(SandboxConfig(schedule=Schedule("seconds", 600, 600)))
    plan = write_plan(
        tmp_path,
        INIT
        + """  - action: create-task
    edit_mode: removal
    prompt: remove it
  - action: wait
    timeout: 1s
    poll: {initial: 200ms, max: 300ms}
""",
    )
    done = run_cli("run", "--base-url", sandbox.base_url, str(plan), cwd=tmp_path)
    failed = assert_failed_step(tmp_path, done, "04-wait", "timeout", "still 'submitted' after 1 s")
    assert len(failed["attempts"]) >= 3


def test_a_failed_poll_does_not_fail_the_wait(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(
        SandboxConfig(faults=(parse_fault("query-task:server-error@2"), parse_fault("query-task:reset@3")))
    )
    plan = write_plan(
        tmp_path,
        INIT
        + """  - action: create-task
    edit_mode: removal
    prompt: remove it
  - action: wait
    poll: {initial: 10ms, max: 20ms}
""",
    )
    done = run_cli("run", "--base-url", sandbox.base_url, str(plan), cwd=tmp_path)
    assert done.code == 0, done.out
    wait = step_files(run_dir(tmp_path))["04-wait.json"]
    assert [a["http_status"] for a in wait["attempts"]] == [200, 500, None, 200, 200]


def test_dry_run_sends_nothing(tmp_path: Path, sandbox) -> None:
    done = run_cli("run", "--dry-run", "--base-url", sandbox.base_url, str(REMOVAL), cwd=tmp_path)
    assert done.code == 0
    assert sandbox.state.snapshot()["requests"] == {}
    assert not (tmp_path / "runs").exists()
    assert f"POST {sandbox.base_url}/kling/v1/videos/multi-elements/init-selection" in done.out
    assert '"video_url": "https://cdn.example.com/clips/street-5s.mp4"' in done.out
    assert '"session_id": "${{ steps.init.session_id }}"' in done.out


def test_inputs_override_defaults_and_are_type_checked(tmp_path: Path) -> None:
    plan = REMOVAL
    done = run_cli(
        "run", "--sandbox", str(plan), "--input", "video_url=https://cdn.example.com/other-3s.mp4", cwd=tmp_path
    )
    assert done.code == 0
    assert json.loads((run_dir(tmp_path) / "inputs.json").read_text()) == {
        "video_url": "https://cdn.example.com/other-3s.mp4"
    }
    unknown = run_cli("run", "--sandbox", str(plan), "--input", "video=x", cwd=tmp_path)
    assert unknown.code == 2 and "did you mean 'video_url'" in unknown.err


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (
            ["run", "plan.yaml"],
            {"COMETAPI_KEY": ""},
            "COMETAPI_KEY is not set (export your CometAPI key, or try the plan offline with --sandbox)",
        ),
        (["run", "--base-url", "http://api.example.com", "plan.yaml"], {}, "must use https"),
        (["run", "--sandbox", "--base-url", "http://127.0.0.1:1", "plan.yaml"], {}, "exclude each other"),
        (["run", "--sandbox", "missing.yaml"], {}, "no such file"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], env: dict[str, str], fragment: str) -> None:
    write_plan(tmp_path, INIT)
    done = run_cli(*args, cwd=tmp_path, env=env)
    assert done.code == 2
    assert fragment in done.err
    assert "Traceback" not in done.err


def test_invalid_plan_exits_2_with_the_validate_messages(tmp_path: Path, sandbox) -> None:
    invalid = ROOT / "tests/plans/invalid/point-out-of-range.yaml"
    done = run_cli("run", "--base-url", sandbox.base_url, str(invalid), cwd=tmp_path)
    assert done.code == 2
    assert f"{invalid}:11:13: steps[1].points[1].x: 1.4 is greater than 1" in done.err
    assert sandbox.state.snapshot()["requests"] == {}


def test_interrupt_records_the_step_and_exits_130(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory(SandboxConfig(schedule=Schedule("seconds", 600, 600)))
    plan = write_plan(
        tmp_path,
        INIT
        + """  - action: create-task
    edit_mode: removal
    prompt: remove it
  - action: wait
    poll: {initial: 50ms, max: 100ms}
""",
    )
    env = {**os.environ, "COMETAPI_KEY": SENTINEL_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner", "run", "--base-url", sandbox.base_url, str(plan)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sandbox.state.snapshot()["requests"].get("query-task", 0) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, out + err
    steps = step_files(run_dir(tmp_path))
    assert steps["04-wait.json"]["status"] == "interrupted"
    assert json.loads((run_dir(tmp_path) / "run.json").read_text())["status"] == "interrupted"
    assert "Traceback" not in err
    # A later --resume completes the run, re-attaching to the task it already created.
    sandbox.clock.advance(1200)
    resumed = run_cli("run", "--resume", str(run_dir(tmp_path)), "--poll-initial", "10ms", cwd=tmp_path)
    assert resumed.code == 0, resumed.out + resumed.err
    assert len(sandbox.state.tasks) == 1


def test_download_size_cap(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        INIT
        + """  - action: create-task
    edit_mode: removal
    prompt: remove it
  - action: wait
  - action: download
    max_bytes: 1000
""",
    )
    done = run_cli("run", "--sandbox", str(plan), cwd=tmp_path)
    assert_failed_step(tmp_path, done, "05-download", "download", "larger than the 1000-byte cap")
    assert not [p for p in run_dir(tmp_path).iterdir() if p.suffix in (".mp4", ".tmp")]
