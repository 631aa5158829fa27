"""Pure pieces of a run's outputs: progress display, safe download names, redaction."""

from __future__ import annotations

from planner.report.console import Console
from planner.run import events as ev
from planner.run.tasks import safe_name
from planner.secrets import REDACTED, Redactor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def progress(polls: int, elapsed: float) -> ev.Progress:
    return ev.Progress(index=5, label="wait", task_status="processing", elapsed=elapsed, polls=polls)


def test_ci_progress_is_a_plain_line_every_30_seconds() -> None:
    lines: list[str] = []
    clock = Clock()
    console = Console(lines.append, Redactor(), clock=clock)
    for second in range(0, 95, 5):
        clock.now = float(second)
        console(progress(second // 5 + 1, float(second)))
    assert [line.split(", ")[1] for line in lines] == ["0s elapsed", "30s elapsed", "60s elapsed", "90s elapsed"]


def test_terminal_progress_is_one_live_line_cleared_before_the_next_output() -> None:
    written: list[str] = []
    live: list[str] = []
    console = Console(written.append, Redactor(), live=live.append)
    for polls in range(1, 4):
        console(progress(polls, polls * 2.0))
    assert len(live) == 3 and written == []
    console.write("next")
    assert live[-1] == "" and written == ["next"]


def test_download_names_stay_inside_the_run_folder() -> None:
    assert safe_name("street-clean", "https://cdn/x/out.mp4?sig=1", None) == "street-clean.mp4"
    assert safe_name("../../etc/passwd", "https://cdn/out.mov", None) == "passwd.mov"
    assert safe_name(".hidden", "https://cdn/out", 2) == "hidden-2.mp4"
    assert safe_name("a b/c", "https://cdn/v.MP4", None) == "c.mp4"
    assert safe_name("..", "https://cdn/v.mp4", None) == "result.mp4"
    assert "/" not in safe_name("x/../../y", "https://cdn/%2e%2e%2fz.mp4", 1)


def test_redaction_replaces_the_key_and_drops_authorization_headers() -> None:
    redactor = Redactor("sk-secret-value")
    scrubbed = redactor.scrub({"headers": {"Authorization": "Bearer anything"}, "url": "https://r/v.mp4",
                               "note": ["sent sk-secret-value"]})  # fmt: skip
    assert scrubbed == {"headers": {"Authorization": REDACTED}, "url": "https://r/v.mp4",
                        "note": [f"sent {REDACTED}"]}  # fmt: skip
