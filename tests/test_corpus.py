"""The plan corpus: every file in tests/plans/valid passes, every invalid one fails as it declares.

An invalid plan declares what it must produce in trailing comments::

    # expect: 14:7 steps[2].points[0].x: 1.4 is greater than 1

Adding a file adds a test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner.plan import check_file

from .conftest import ROOT, run_cli

VALID = sorted((ROOT / "tests/plans/valid").glob("*.yaml")) + sorted((ROOT / "plans/examples").glob("*.yaml"))
INVALID = sorted((ROOT / "tests/plans/invalid").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (.+)$", re.M)


def expectations(path: Path) -> list[tuple[int, int, str]]:
    return [(int(a), int(b), c) for a, b, c in EXPECT.findall(path.read_text(encoding="utf-8"))]


def test_corpus_is_big_enough() -> None:
    assert len(INVALID) >= 25
    assert all(expectations(p) for p in INVALID), "every invalid plan declares what it expects"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_plan(path: Path) -> None:
    result = check_file(path)
    assert result.diagnostics == []
    assert result.plan is not None and len(result.plan.steps) >= 1


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_plan(path: Path) -> None:
    result = check_file(path)
    assert not result.ok
    got = [(d.line, d.col, d.text()) for d in result.diagnostics]
    for line, col, fragment in expectations(path):
        assert any(g[:2] == (line, col) and fragment in g[2] for g in got), got


def test_cli_reports_every_invalid_plan_at_its_position() -> None:
    done = run_cli("validate", *(str(p.relative_to(ROOT)) for p in INVALID))
    assert done.code == 1
    assert "Traceback" not in done.out + done.err
    for path in INVALID:
        rel = path.relative_to(ROOT)
        for line, col, fragment in expectations(path):
            prefix = f"{rel}:{line}:{col}: "
            assert any(out.startswith(prefix) and fragment in out for out in done.out.splitlines()), prefix
    summary = done.out.splitlines()[-1]
    assert re.fullmatch(rf"\d+ errors in {len(INVALID)} of {len(INVALID)} plans", summary), summary


def test_examples_validate_through_the_cli() -> None:
    done = run_cli("validate", "plans/examples/")
    assert (done.code, done.out.strip()) == (0, f"{len(list((ROOT / 'plans/examples').glob('*.yaml')))} plans valid")
