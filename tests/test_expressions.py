from __future__ import annotations

import pytest

from planner import expressions
from planner.errors import ExpressionError


def lookup(ref: expressions.Ref) -> object:
    table = {"inputs.frame": 4, "steps.init.fps": 30.0, "inputs.url": "https://x/a.mp4"}
    return table[str(ref)]


def test_whole_value_keeps_its_type() -> None:
    assert expressions.resolve("${{ inputs.frame }}", lookup) == 4
    assert expressions.resolve({"a": ["${{inputs.frame}}"]}, lookup) == {"a": [4]}


def test_embedded_expressions_interpolate_text() -> None:
    assert expressions.resolve("at ${{ steps.init.fps }} fps, frame ${{ inputs.frame }}", lookup) == (
        "at 30.0 fps, frame 4"
    )


def test_double_dollar_escapes() -> None:
    assert expressions.resolve("cost $${{ x }}", lookup) == "cost ${{ x }}"


def test_refs_parse_steps_and_inputs() -> None:
    refs = expressions.refs("${{ steps.edit-1.task_id }} and ${{ inputs.url }}")
    assert [(r.kind, r.step, r.name) for r in refs] == [("steps", "edit-1", "task_id"), ("inputs", None, "url")]


@pytest.mark.parametrize(
    "text",
    [
        "${{ 1 + 2 }}",
        "${{ inputs }}",
        "${{ steps.a }}",
        "${{ __import__('os') }}",
        "${{ inputs.url",
        "${{ steps.a.b.c }}",
    ],
)
def test_anything_but_a_reference_is_rejected(text: str) -> None:
    with pytest.raises(ExpressionError):
        expressions.refs(text)
