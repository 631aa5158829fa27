"""Hostile plans: random and mutated input never produces a traceback or a hang.

2,600 generated plans in all: random text, mutations of the example plans, and random
structures dumped as YAML, through the loader, schema and rules; plus random
expressions through the resolver. Each example has a deadline, so a hang fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import expressions
from planner.errors import ExpressionError
from planner.plan import check_bytes, check_text

from .conftest import ROOT, run_cli

SEEDS = [p.read_text() for p in sorted((ROOT / "plans/examples").glob("*.yaml"))] + [
    p.read_text() for p in sorted((ROOT / "tests/plans/valid").glob("*.yaml"))
]


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=2000, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )


PATH = Path("fuzz.yaml")


def assert_clean(text: str) -> None:
    result = check_text(text, PATH)
    assert isinstance(result.diagnostics, list)
    for diag in result.diagnostics:
        assert diag.line >= 1 and diag.col >= 1 and "\n" not in diag.text()
    if result.ok:
        assert result.plan is not None


@fuzz(800)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_random_text(text: str) -> None:
    assert_clean(text)


@fuzz(300)
@given(st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    result = check_bytes(raw, PATH)
    assert result.ok or result.diagnostics


YAML_BITS = st.sampled_from(
    [
        "${{",
        "}}",
        "${{ steps.init.session_id }}",
        "${{ inputs.video_url }}",
        "&a",
        "*a",
        "<<: *a",
        "!!str",
        "!!int",
        "- ",
        ": ",
        "[",
        "]",
        "{",
        "}",
        "---",
        "\n",
        "\t",
        "  ",
        "#",
        "'",
        '"',
        "yes",
        "on",
        "~",
        "1e400",
        "-1",
        "action: wait",
        "action: create-task",
        "frame_index: 999999",
        "points: []",
        "<<<image_9>>>",
        "\\x00",
        "\ufeff",
    ]
)


@st.composite
def mutated(draw: Any) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "swap-lines"]))
        if op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif op == "insert":
            text = text[:at] + draw(YAML_BITS) + text[at:]
        elif op == "duplicate":
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "".join(lines)
        else:
            lines = text.splitlines(keepends=True)
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    return text


@fuzz(800)
@given(mutated())
def test_mutated_example_plans(text: str) -> None:
    assert_clean(text)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=30), YAML_BITS
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=25,
)
steps = st.dictionaries(
    st.sampled_from(
        [
            "action",
            "id",
            "frame_index",
            "points",
            "session_id",
            "task_id",
            "prompt",
            "image_list",
            "edit_mode",
            "video_url",
            "timeout",
            "retry",
            "poll",
            "filename",
        ]
    ),
    trees,
    max_size=6,
)


@fuzz(400)
@given(
    st.fixed_dictionaries(
        {
            "version": st.sampled_from([1, "1", 2]),
            "name": st.sampled_from(["p", "", "a/b"]),
            "steps": st.lists(steps, max_size=6),
        },
        optional={"inputs": st.dictionaries(st.text(max_size=8), trees, max_size=3)},
    )
)
def test_random_structures(plan: dict[str, Any]) -> None:
    assert_clean(yaml.safe_dump(plan, allow_unicode=True))


@fuzz(300)
@given(
    st.lists(
        st.one_of(st.text(max_size=10), YAML_BITS, st.sampled_from(["inputs.", "steps.", ".", "a"])), max_size=8
    ).map("".join)
)
def test_expression_resolver(text: str) -> None:
    try:
        refs = expressions.refs(text)
    except ExpressionError as exc:
        assert exc.message
        return
    value = expressions.resolve(text, lambda ref: f"<{ref}>")
    assert isinstance(value, str)
    assert len(refs) <= text.count("${{")


def test_generated_plans_through_the_cli(tmp_path: Path) -> None:
    """The same generator, written to files and checked by one `planner validate` call."""
    import random

    rng = random.Random(7)
    paths = []
    for i in range(60):
        text = SEEDS[i % len(SEEDS)]
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(["${{", "\t", "- ", "{", "*x", "yes", "\x00"]) + text[at + rng.randrange(8) :]
        path = tmp_path / f"plan{i:02d}.yaml"
        path.write_text(text)
        paths.append(str(path))
    done = run_cli("validate", *paths, cwd=tmp_path)
    assert done.code in (0, 1)
    assert "Traceback" not in done.out + done.err and done.err == ""
    assert done.out.splitlines()[-1].endswith(("plans valid", "of 60 plans"))
