"""Every fault class on every route, through the CLI; the documented table must match."""

from __future__ import annotations

from .fault_matrix import KINDS, ROUTES, documented, run_all, table


def test_fault_matrix() -> None:
    cells = run_all()
    assert len(cells) == len(ROUTES) * len(KINDS) + len(KINDS)
    bad = [c for c in cells if not c.ok]
    assert bad == [], bad
    for cell in cells:
        # Every fault that had an effect shows in the faulted step's attempts.
        if not (cell.route == "files" and cell.kind == "malformed-json"):
            assert cell.attempts >= 2, cell
    assert documented() == table(cells), "docs/reliability.md is stale: run `python -m tests.fault_matrix --write`"
