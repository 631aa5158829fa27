"""The runner's own actions: wait for a task, download its results."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from planner.actions import ACTIONS
from planner.plan.model import Step
from planner.run import events as ev
from planner.run.client import judge
from planner.run.folder import temp_path, utc_now
from planner.run.results import StepFailure, failure, task_outputs
from planner.run.retry import seconds

if TYPE_CHECKING:
    from planner.run.runner import Runner

WAIT_TIMEOUT = 20 * 60.0
POLL_INITIAL = 2.0
POLL_MAX = 30.0
POLL_GROWTH = 1.5
MAX_POLL_FAILURES = 10
"""Consecutive failed polls (each already retried) before the wait gives up."""
DOWNLOAD_CAP = 2 << 30
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _task_id(runner: Runner, step: Step) -> str:

    if "task_id" in step.fields:
        return str(runner.resolve_fields(step)["task_id"])
    if step.task_step is None or "task_id" not in runner.context.outputs.get(step.task_step, {}):
        raise StepFailure(ev.StepError("check", "no task to refer to"))
    return str(runner.context.outputs[step.task_step]["task_id"])


def wait(runner: Runner, step: Step, state: dict[str, Any], attempts: list[dict[str, Any]]) -> None:
    task_id = _task_id(runner, step)
    poll = step.fields.get("poll") or {}
    interval = (
        runner.options.poll_initial
        if runner.options.poll_initial is not None
        else seconds(poll.get("initial"), POLL_INITIAL)
    )
    ceiling = runner.options.poll_max if runner.options.poll_max is not None else seconds(poll.get("max"), POLL_MAX)
    timeout = seconds(step.options.get("timeout"), WAIT_TIMEOUT)
    path = (ACTIONS["query-task"].route or "").replace("{task_id}", quote(task_id, safe=""))
    state["request"] = {"method": "GET", "url": runner.client.base_url + path, "body": None}
    runner.emit(ev.StepStarted(step.index, step.label, step.action, state["request"], utc_now()))
    started = time.monotonic()
    deadline = started + timeout
    polls = failures = 0
    status = "unknown"
    while True:
        pause = min(interval, max(0.0, deadline - time.monotonic()))
        runner.sleep(pause)
        interval = min(ceiling, max(interval * POLL_GROWTH, 0.0))
        polls += 1
        when = utc_now()
        reply = runner.client.send(
            "GET", path, timeout=min(runner.options.request_timeout, max(0.1, deadline - time.monotonic()))
        )
        verdict = judge(reply, selection=False)
        runner.record(step, attempts, polls, reply, when, None)
        if verdict.outcome == "ok":
            failures = 0
            data = reply.data if isinstance(reply.data, dict) else {}
            status = str(data.get("task_status"))
            state["reply"] = reply
            runner.emit(ev.Progress(step.index, step.label, status, time.monotonic() - started, polls))
            if status == "succeed":
                outputs = task_outputs(data)
                videos = (data.get("task_result") or {}).get("videos") or []
                outputs["video_count"] = len(videos)
                state["outputs"] = outputs
                state["extra"] = {"videos": videos}
                return
            if status == "failed":
                state["outputs"] = task_outputs(data)
                raise StepFailure(
                    ev.StepError(
                        "task-failed",
                        f"task {task_id} failed: {data.get('task_status_msg') or 'no reason given'}",
                        reply.http_status,
                        reply.code,
                        None,
                        reply.request_id,
                    ),
                    reply,
                )
        elif verdict.outcome in ("retry", "ambiguous"):
            failures += 1  # a failed poll does not fail the task
            if failures >= MAX_POLL_FAILURES:
                raise StepFailure(failure(reply, verdict.kind, "retry", failures), reply)
            after = reply.retry_after()
            if after is not None:
                interval = max(interval, after)
        else:
            raise StepFailure(failure(reply, verdict.kind, verdict.outcome, 1), reply)
        if time.monotonic() >= deadline:
            raise StepFailure(
                ev.StepError(
                    "timeout",
                    f"task {task_id} is still '{status}' after {timeout:g} s; it keeps running "
                    "on the server, so `planner run --resume` can wait for it again",
                )
            )


def download(runner: Runner, step: Step, state: dict[str, Any], attempts: list[dict[str, Any]]) -> None:
    import requests

    task_id = _task_id(runner, step)
    videos: list[dict[str, Any]] = []
    for index, extra in runner.context.extra.items():
        if runner.context.outputs[index].get("task_id") == task_id and extra.get("videos"):
            videos = extra["videos"]
    state["request"] = {"task_id": task_id, "urls": [v.get("url") for v in videos]}
    runner.emit(ev.StepStarted(step.index, step.label, step.action, state["request"], utc_now()))
    if not videos:
        raise StepFailure(ev.StepError("check", f"task {task_id} has no result videos to download"))
    if runner.run_dir is None:
        raise StepFailure(ev.StepError("check", "there is no run folder to download into"))
    cap = int(step.fields.get("max_bytes", DOWNLOAD_CAP))
    base = step.fields.get("filename") or step.label
    deadline = time.monotonic() + seconds(step.options.get("timeout"), 600.0)
    files: list[dict[str, Any]] = []
    session = requests.Session()
    session.trust_env = False
    try:
        for number, video in enumerate(videos, 1):
            url = str(video.get("url") or "")
            name = safe_name(base, url, number if len(videos) > 1 else None)
            target = runner.run_dir / name
            files.append(_fetch(runner, step, session, url, target, cap, deadline, attempts))
    finally:
        session.close()
    state["outputs"] = {
        "path": files[0]["path"],
        "paths": [f["path"] for f in files],
        "sha256": files[0]["sha256"],
        "bytes": sum(f["bytes"] for f in files),
        "count": len(files),
    }
    state["extra"] = {"files": files}


def safe_name(base: str, url: str, number: int | None) -> str:
    """A plain file name inside the run folder: no folders, no dot files, no traversal."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        suffix = ".mp4"
    stem = _SAFE.sub("-", PurePosixPath(base).name).strip(".-") or "result"
    if stem.lower().endswith(suffix):
        stem = stem[: -len(suffix)] or "result"
    if number is not None:
        stem = f"{stem}-{number}"
    return f"{stem[:100]}{suffix}"


def _fetch(
    runner: Runner,
    step: Step,
    session: Any,
    url: str,
    target: Path,
    cap: int,
    deadline: float,
    attempts: list[dict[str, Any]],
) -> dict[str, Any]:
    import requests

    if urlsplit(url).scheme not in ("http", "https"):
        raise StepFailure(ev.StepError("download", f"result URL {url!r} is not http(s)"))
    # The key goes to the API's own origin only; result hosts never see it.
    headers = {"Authorization": f"Bearer {runner.options.key}"} if runner.client.same_origin(url) else {}
    policy = runner.options.retry.with_step(step.options.get("retry"))
    number = 0
    while True:
        number += 1
        started, t0 = utc_now(), time.perf_counter()
        error, status = None, None
        digest, size = hashlib.sha256(), 0
        tmp = temp_path(target)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with (
                os.fdopen(fd, "wb") as fh,
                session.get(
                    url,
                    headers=headers,
                    stream=True,
                    allow_redirects=True,
                    timeout=(10, runner.options.request_timeout),
                ) as response,
            ):
                status = response.status_code
                if status != 200:
                    error = f"HTTP {status} from the result host"
                else:
                    for chunk in response.iter_content(1 << 16):
                        size += len(chunk)
                        if size > cap:
                            raise StepFailure(
                                ev.StepError("download", f"{url} is larger than the {cap}-byte cap (max_bytes)")
                            )
                        digest.update(chunk)
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
        except requests.exceptions.RequestException as exc:
            error = f"download failed: {type(exc).__name__}"
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        retryable = error is not None and (status is None or status >= 500 or status == 429)
        wait = policy.delay(number, None, runner.rng) if retryable and number < policy.attempts else None
        if wait is not None and time.monotonic() + wait > deadline:
            wait = None
        attempt = ev.Attempt(
            step.index,
            number,
            "GET",
            url,
            started,
            round((time.perf_counter() - t0) * 1000, 1),
            status,
            None,
            error,
            wait,
        )
        attempts.append({k: v for k, v in attempt.__dict__.items() if k != "index"})
        runner.emit(attempt)
        if error is None:
            os.replace(tmp, target)
            return {"path": target.name, "url": url, "bytes": size, "sha256": digest.hexdigest()}
        Path(tmp).unlink(missing_ok=True)
        if wait is None:
            raise StepFailure(ev.StepError("download", f"{error} for {url}", status))
        runner.sleep(wait)
