"""The hardened YAML loader: core-schema scalars, positions, and bounded work."""

from __future__ import annotations

import pytest

from planner import yamlload
from planner.errors import PlanSyntaxError


def test_yaml_11_booleans_and_dates_stay_strings() -> None:
    doc = yamlload.load("on: yes\noff: no\nwhen: 2024-01-01\nflag: true\nn: 012\nf: 0.5\nz: ~\n")
    assert doc.data == {"on": "yes", "off": "no", "when": "2024-01-01", "flag": True, "n": 12, "f": 0.5, "z": None}


def test_quoted_numbers_stay_strings() -> None:
    assert yamlload.load("d: '5'\ne: \"10\"\n").data == {"d": "5", "e": "10"}


def test_positions_are_one_based_line_and_column() -> None:
    doc = yamlload.load("a:\n  - {x: 0.5, y: 1.4}\n")
    assert doc.values[("a", 0, "y")] == (2, 17)
    assert doc.keys[("a",)] == (1, 1)
    assert doc.position(("a", 0, "missing")) == (2, 5)


def test_duplicate_key_is_an_error_naming_the_first() -> None:
    with pytest.raises(PlanSyntaxError) as info:
        yamlload.load("a: 1\nb: 2\na: 3\n")
    assert (info.value.line, info.value.col) == (3, 1)
    assert "first defined at line 1" in info.value.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", "not supported"),
        ("a: *nope\n", "no anchor"),
        ("a: 1\n---\nb: 2\n", "one YAML document"),
        ("a: [1\n", "YAML syntax error"),
        ("<<: {a: 1}\n", "merge keys"),
        ("? [a]\n: 1\n", "plain scalars"),
        ("a: !!int abc\n", "not a valid int"),
    ],
)
def test_rejections(text: str, fragment: str) -> None:
    with pytest.raises(PlanSyntaxError) as info:
        yamlload.load(text)
    assert fragment in str(info.value)


def test_deep_nesting_is_bounded() -> None:
    with pytest.raises(PlanSyntaxError, match="deeper than 64"):
        yamlload.load("[" * 200_000 + "]" * 200_000)


def test_alias_bomb_fails_fast() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    with pytest.raises(PlanSyntaxError, match="aliases expand"):
        yamlload.load("\n".join(lines) + "\n")


def test_a_few_aliases_are_fine() -> None:
    doc = yamlload.load("p: &p {x: 0.5, y: 0.5}\nq: [*p, *p]\n")
    assert doc.data["q"] == [{"x": 0.5, "y": 0.5}] * 2


def test_empty_and_comment_only_documents_are_none() -> None:
    assert yamlload.load("").data is None
    assert yamlload.load("# nothing\n").data is None
