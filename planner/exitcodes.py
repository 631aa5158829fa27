"""The exit codes of every planner command; the README's table is generated from nowhere else."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    """Every plan is valid / every step succeeded."""
    FAILED = 1
    """``validate``: a plan is invalid. ``run``: a step failed."""
    USAGE = 2
    """Usage error; for ``run`` also: the plan is invalid, so nothing was sent."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C or SIGTERM; the run can be resumed."""
