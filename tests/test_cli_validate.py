"""`planner validate` through the real CLI: exit codes, output formats, hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import ROOT, run_cli

GOOD = "plans/examples/remove-lamp-post.yaml"
BAD = "tests/plans/invalid/point-out-of-range.yaml"


def test_exit_0_when_all_plans_are_valid() -> None:
    done = run_cli("validate", GOOD)
    assert (done.code, done.out) == (0, "1 plan valid\n")


def test_exit_1_when_any_plan_is_invalid() -> None:
    done = run_cli("validate", GOOD, BAD)
    assert done.code == 1
    assert done.out.splitlines() == [
        f"{BAD}:11:13: steps[1].points[1].x: 1.4 is greater than 1 (points are 0-1 fractions of the frame)",
        "1 error in 1 of 2 plans",
    ]


@pytest.mark.parametrize(
    "args",
    [("validate",), ("validate", "no-such-plan.yaml"), ("validate", "--format", "xml", GOOD), ("no-such-command",)],
)
def test_exit_2_for_usage_errors(args: tuple[str, ...]) -> None:
    done = run_cli(*args)
    assert done.code == 2
    assert "Traceback" not in done.err


def test_json_format_is_machine_readable() -> None:
    done = run_cli("validate", "--format", "json", GOOD, BAD)
    report = json.loads(done.out)
    assert done.code == 1
    assert report["valid"] is False
    bad = report["plans"][1]
    assert bad["path"] == BAD and bad["valid"] is False
    assert bad["diagnostics"][0]["line"] == 11 and bad["diagnostics"][0]["col"] == 13
    assert bad["diagnostics"][0]["path"] == "steps[1].points[1].x"
    assert report["plans"][0] == {
        "path": GOOD,
        "valid": True,
        "name": "remove-lamp-post",
        "steps": 7,
        "diagnostics": [],
    }


def test_github_format_gives_workflow_annotations() -> None:
    done = run_cli("validate", "--format", "github", BAD)
    first = done.out.splitlines()[0]
    assert first.startswith(f"::error file={BAD},line=11,col=13,title=planner validate::steps[1]")


def test_a_folder_means_its_plans() -> None:
    done = run_cli("validate", "tests/plans/valid")
    assert done.code == 0
    assert done.out == f"{len(list((ROOT / 'tests/plans/valid').glob('*.yaml')))} plans valid\n"


def _hostile(tmp_path: Path) -> dict[str, bytes]:
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    step = "  - action: clear-selection\n"
    return {
        "empty": b"",
        "binary": bytes(range(256)) * 4,
        "not-utf8": b"version: 1\nname: caf\xe9\n",
        "root-list": b"- a\n- b\n",
        "root-scalar": b"just a string\n",
        "huge": b"version: 1\nname: x\ndescription: '" + b"x" * (10 * 2**20) + b"'\n",
        "alias-bomb": ("\n".join(bomb) + "\n").encode(),
        "many-steps": (
            "version: 1\nname: many\nsteps:\n  - action: init-selection\n    video_url: https://a/b.mp4\n"
            + step * 10_000
        ).encode(),
        "deep": b"version: 1\nname: deep\nsteps: " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
        "deep-block": ("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 2000))).encode(),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty",
        "binary",
        "not-utf8",
        "root-list",
        "root-scalar",
        "huge",
        "alias-bomb",
        "many-steps",
        "deep",
        "deep-block",
    ],
)
def test_hostile_input_gives_one_line_and_exit_1(tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(_hostile(tmp_path)[case])
    done = run_cli("validate", str(path))
    assert done.code == 1
    assert "Traceback" not in done.out + done.err
    assert done.err == ""
    diagnostics = [line for line in done.out.splitlines() if line.startswith(f"{path}:")]
    assert len(diagnostics) == 1, done.out
