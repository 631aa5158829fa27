"""The run's folder: a record of every call that can be checked later.

    runs/<plan name>/<UTC time>-<short id>/
        plan.yaml          the plan exactly as it was run
        inputs.json        the resolved inputs
        run.json           planner version, plan sha256, git state, base URL, times, status
        steps/NN-<id>.json one per step, rewritten when the step starts and when it ends
        <downloads>

Every file is written to a temporary name, flushed to disk and renamed over the target,
so after a crash each file is either complete or absent.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from planner.errors import RunStateError
from planner.secrets import Redactor


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_run_id() -> str:
    return os.urandom(4).hex()


_TMP = itertools.count()


def temp_path(path: Path) -> Path:
    """A name beside ``path`` that no other writer uses: dot file, pid and a counter."""
    return path.with_name(f".{path.name}.{os.getpid()}.{next(_TMP)}.tmp")


def atomic_write(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write to a temporary name, then rename over ``path``: a killed process leaves the
    old file or the new one, never half of one. ``durable`` also survives a power cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any, redactor: Redactor, *, durable: bool = False) -> None:
    text = json.dumps(redactor.scrub(data), indent=2, ensure_ascii=False, default=str) + "\n"
    atomic_write(path, text.encode(), durable=durable)


class RunFolder:
    def __init__(self, path: Path, redactor: Redactor) -> None:
        """Only the folder itself is made here; ``steps/`` comes with the first step file, so a
        run killed before it wrote run.json leaves a folder that counts as unused."""
        self.path = path
        self.redactor = redactor
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStateError(f"cannot create the run folder {path}: {exc.strerror or exc}") from exc

    @staticmethod
    def unused(path: Path) -> bool:
        """Absent, empty, or holding only temporary files of a run killed before it began."""
        if not path.exists():
            return True
        return all(p.name.endswith(".tmp") or (p.name == "steps" and not any(p.iterdir())) for p in path.iterdir())

    @staticmethod
    def default_path(root: Path, plan_name: str, run_id: str) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        return root / plan_name / f"{stamp}-{run_id}"

    def write(self, name: str, data: Any, *, durable: bool = False) -> None:
        try:
            write_json(self.path / name, data, self.redactor, durable=durable)
        except OSError as exc:
            raise RunStateError(f"cannot write {self.path / name}: {exc.strerror or exc}") from exc

    def write_bytes(self, name: str, data: bytes) -> None:
        try:
            atomic_write(self.path / name, data)
        except OSError as exc:
            raise RunStateError(f"cannot write {self.path / name}: {exc.strerror or exc}") from exc


class GitProbe:
    """The plan's git commit and whether the work tree is dirty, found in the background.

    One ``git status --porcelain=v2 --branch`` gives both, while the run goes on.
    """

    def __init__(self, plan_path: Path) -> None:
        folder = plan_path.resolve().parent
        self._proc: subprocess.Popen[str] | None
        try:
            self._proc = subprocess.Popen(
                ["git", "-C", str(folder), "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            self._proc = None

    def result(self) -> dict[str, Any] | None:
        if self._proc is None:
            return None
        try:
            out, _ = self._proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            return None
        if self._proc.returncode != 0:
            return None
        lines = out.splitlines()
        commit = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
        if commit is None or commit == "(initial)":
            return None
        return {"commit": commit, "dirty": any(not line.startswith("#") for line in lines)}


IN_FLIGHT_RECORDED = frozenset({"create-task", "wait"})


class RunLog:
    """Subscriber that keeps run.json and steps/NN-<id>.json current as events arrive."""

    def __init__(
        self, folder: RunFolder, meta: dict[str, Any], stems: dict[int, str], git: GitProbe | None = None
    ) -> None:
        self.folder = folder
        self.meta = meta
        self.stems = stems
        self.git = git

    def __call__(self, event: Any) -> None:
        from planner.run import events as ev

        if isinstance(event, ev.RunStarted):
            self.meta.setdefault("started_at", event.started_at)
            self.meta.update(run_id=event.run_id, status="running", exit_code=None, ended_at=None)
            self.folder.write("run.json", self.meta, durable=True)
        elif isinstance(event, ev.StepStarted) and event.action in IN_FLIGHT_RECORDED:
            # What resume needs to know about a step that may be cut off: the task it created
            # or waits for. Other steps are recorded once, when they end.
            self.folder.write(
                f"steps/{self.stems[event.index]}.json",
                {
                    "index": event.index + 1,
                    "action": event.action,
                    "status": "running",
                    "started_at": event.started_at,
                    "request": event.request,
                },
                durable=True,
            )
        elif isinstance(event, ev.StepFinished):
            self.folder.write(f"steps/{self.stems[event.result.index]}.json", event.result.as_dict())
        elif isinstance(event, ev.RunFinished):
            if self.git is not None:
                self.meta["git"] = self.git.result()
            self.meta.update(
                status=event.status,
                exit_code=event.exit_code,
                ended_at=event.ended_at,
                elapsed_s=round(event.elapsed, 3),
                steps={
                    "total": self.meta.get("steps", {}).get("total"),
                    "succeeded": sum(1 for r in event.results if r.ok),
                },
            )
            self.folder.write("run.json", self.meta)
