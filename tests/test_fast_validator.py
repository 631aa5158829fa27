"""The generated fast validator and jsonschema agree, so the fast path never changes a verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from planner import yamlload
from planner.plan.structure import fast_verdict
from planner.resources import plan_schema

from .conftest import ROOT


def _loadable(path: Path) -> bool:
    try:
        yamlload.load(path.read_text())
    except Exception:
        return False
    return True


CORPUS = [
    p
    for p in sorted((ROOT / "tests/plans").glob("*/*.yaml")) + sorted((ROOT / "plans/examples").glob("*.yaml"))
    if _loadable(p)
]


def jsonschema_accepts(data: Any) -> bool:
    return Draft202012Validator(plan_schema()).is_valid(data)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_agree_on_the_corpus(path: Path) -> None:
    data = yamlload.load(path.read_text()).data
    assert (fast_verdict(data) is None) == jsonschema_accepts(data)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3000),
    st.floats(-1, 2, allow_nan=False),
    st.sampled_from(
        [
            "",
            "5",
            "10",
            "removal",
            "swap",
            "addition",
            "${{ inputs.x }}",
            "https://a/b-5s.mp4",
            "std",
            "20m",
            "kling-v1-6",
            "data:x",
        ]
    ),
)
fields = st.sampled_from(
    [
        "video_url",
        "video_id",
        "frame_index",
        "points",
        "edit_mode",
        "prompt",
        "image_list",
        "duration",
        "mode",
        "task_id",
        "timeout",
        "id",
        "poll",
        "session_id",
        "x",
        "y",
        "image",
    ]
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(fields, inner, max_size=4)),
    max_leaves=12,
)
steps = st.fixed_dictionaries(
    {
        "action": st.sampled_from(
            [
                "init-selection",
                "add-selection",
                "delete-selection",
                "clear-selection",
                "preview-selection",
                "create-task",
                "query-task",
                "wait",
                "download",
                "bogus",
            ]
        )
    },
    optional={
        f: values
        for f in [
            "video_url",
            "frame_index",
            "points",
            "edit_mode",
            "prompt",
            "image_list",
            "duration",
            "task_id",
            "id",
            "poll",
        ]
    },
)
plans = st.fixed_dictionaries(
    {
        "version": st.sampled_from([1, 2]),
        "name": st.sampled_from(["ok", "bad name"]),
        "steps": st.lists(steps, min_size=0, max_size=4),
    },
    optional={"inputs": st.dictionaries(st.sampled_from(["a", "b-c"]), values, max_size=2)},
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(plan=plans)
def test_agree_on_generated_plans(plan: dict[str, Any]) -> None:
    assert (fast_verdict(plan) is None) == jsonschema_accepts(plan)
