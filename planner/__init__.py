"""planner: declarative, repeatable video edits with Kling's multi-elements API via CometAPI."""

__version__ = "0.1.0"
