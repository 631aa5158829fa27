"""The console view of a run: a line per finished step, live progress, a summary table."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from planner.run import events as ev
from planner.secrets import Redactor

MARKS = {"succeeded": "ok", "failed": "FAILED", "interrupted": "INTERRUPTED", "skipped": "skipped"}


class Console:
    def __init__(
        self,
        write: Callable[[str], None],
        redactor: Redactor,
        *,
        live: Callable[[str], None] | None = None,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._live = live
        self.redactor = redactor
        self.every = every
        self.clock = clock
        self.total = 0
        self._live_shown = False
        self._last_plain = -1e9

    def write(self, line: str) -> None:
        if self._live_shown and self._live is not None:
            self._live("")
            self._live_shown = False
        self._write(self.redactor.text(line))

    def live(self, line: str) -> None:
        if self._live is not None:
            self._live(self.redactor.text(line))
            self._live_shown = True
        elif self.clock() - self._last_plain >= self.every:
            self._last_plain = self.clock()
            self.write(line)

    def __call__(self, event: Any) -> None:
        if isinstance(event, ev.RunStarted):
            self.total = event.steps
            self.write(
                f"planner: run {event.run_id} of '{event.plan_name}' ({event.steps} steps) against "
                + (f"the sandbox at {event.base_url}" if event.sandbox else event.base_url)
            )
            if event.run_dir:
                self.write(f"planner: recording to {event.run_dir}")
        elif isinstance(event, ev.StepStarted) and self._live is not None:
            self.live(f"   {event.index + 1:02d}/{self.total:02d} {event.label} ({event.action}) ...")
        elif isinstance(event, ev.Attempt) and event.retry_in is not None:
            what = event.error or (f"HTTP {event.http_status}" if event.http_status else "no answer")
            self.write(
                f"   {event.index + 1:02d}/{self.total:02d} attempt {event.number} failed ({what}); "
                f"retrying in {event.retry_in:.1f}s"
            )
        elif isinstance(event, ev.Progress):
            self.live(
                f"   {event.index + 1:02d}/{self.total:02d} {event.label}: task {event.task_status}, "
                f"{event.elapsed:.0f}s elapsed, {event.polls} polls"
            )
        elif isinstance(event, ev.StepFinished):
            r = event.result
            detail = ""
            if r.error:
                detail = f"  {r.error.line()}"
            elif r.attempts and r.attempts[-1].get("http_status") is not None:
                detail = f"  HTTP {r.attempts[-1]['http_status']}"
            mark = "kept" if r.kept else MARKS[r.status]
            self.write(f"{mark:>11} {r.index + 1:02d}/{self.total:02d} {r.label} ({r.action}) {r.elapsed:.2f}s{detail}")
        elif isinstance(event, ev.RunFinished):
            self.summary(event)

    def summary(self, event: ev.RunFinished) -> None:
        rows = [("step", "id", "action", "status", "attempts", "time")]
        for r in event.results:
            rows.append(
                (f"{r.index + 1:02d}", r.id or "-", r.action, r.status, str(len(r.attempts)), f"{r.elapsed:.2f}s")
            )
        for index in range(len(event.results), self.total):
            rows.append((f"{index + 1:02d}", "", "", "not run", "", ""))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        self.write("")
        for row in rows:
            self.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        where = f"; record in {event.run_dir}" if event.run_dir else ""
        self.write(f"\nrun {event.run_id} {event.status} in {event.elapsed:.2f}s (exit {event.exit_code}){where}")
        failed = next((r for r in event.results if not r.ok), None)
        if failed and failed.error:
            self.write(f"step {failed.index + 1:02d} {failed.label}: {failed.error.line()}")
