"""The docs stay true: their sample plans validate and their exit-code tables match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner.exitcodes import ExitCode
from planner.plan import check_text

from .conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def yaml_plans(path: Path) -> list[str]:
    """Complete plans shown in ```yaml blocks (leading comments allowed, no '...' elisions)."""
    blocks = re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S)
    return [b for b in blocks if re.sub(r"^(#.*\n)+", "", b).startswith("version: 1") and "..." not in b]


SAMPLES = [(p, i, text) for p in DOCS for i, text in enumerate(yaml_plans(p))]


def test_there_are_samples() -> None:
    assert any(p.name == "README.md" for p, _, _ in SAMPLES)


@pytest.mark.parametrize(("path", "index", "text"), SAMPLES, ids=lambda v: v.name if isinstance(v, Path) else "")
def test_sample_plans_validate(path: Path, index: int, text: str) -> None:
    result = check_text(text, path)
    assert result.diagnostics == [], [d.text() for d in result.diagnostics]


def test_readme_lists_every_exit_code() -> None:
    table = (ROOT / "README.md").read_text().split("## Exit codes", 1)[1].split("##", 1)[0]
    listed = {int(n) for n in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert listed == {int(c) for c in ExitCode}
