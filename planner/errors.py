"""The one exception tree of planner.

Expected failures (an invalid plan, a failed step) are *data*: ``Diagnostic``,
``PlanResult`` and ``StepResult`` objects that reporters render. Exceptions are
for what cannot be turned into such a result where it happens::

    PlannerError                 root; ``str(exc)`` is a one-line message
    ├── PlanError                a plan file cannot be used
    │   └── PlanSyntaxError      YAML-level problem, with ``line``/``col``
    ├── UsageError               bad command line or environment (exit 2)
    ├── ExpressionError          a ``${{ }}`` expression cannot be parsed/resolved
    ├── TransportError           the HTTP exchange itself failed (no response)
    │   └── AmbiguousTransportError  ...after the body may have reached the server
    └── RunStateError            a run folder cannot be written, read or resumed

Third-party errors (``yaml``, ``jsonschema``, ``requests``) are caught at the
boundary and re-raised as one of these with ``raise ... from exc``.
"""

from __future__ import annotations


class PlannerError(Exception):
    """Root of every error planner raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class PlanError(PlannerError):
    """A plan file cannot be used at all."""


class PlanSyntaxError(PlanError):
    """A YAML-level problem at a known place (1-based ``line`` and ``col``)."""

    def __init__(self, message: str, *, line: int, col: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.line = line
        self.col = col


class UsageError(PlannerError):
    """The command line or the environment is wrong; exit code 2."""


class ExpressionError(PlannerError):
    """A ``${{ ... }}`` expression is malformed or cannot be resolved."""


class TransportError(PlannerError):
    """No usable HTTP response: connection refused or reset, timeout, bad TLS."""


class AmbiguousTransportError(TransportError):
    """The request body may have reached the server, but no answer came back."""


class RunStateError(PlannerError):
    """A run folder cannot be written, read or resumed."""
