"""The commands' core: plain arguments in, (output lines, exit code) out. No click here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.errors import UsageError
from planner.exitcodes import ExitCode

PLAN_SUFFIXES = (".yaml", ".yml")


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; folders become their *.yaml/*.yml files, sorted."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in PLAN_SUFFIXES and p.is_file())
            if not found:
                raise UsageError(f"{path}: no .yaml or .yml files in this folder")
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            raise UsageError(f"{path}: no such file")
    return out


def validate_plans(paths: list[Path], fmt: str) -> tuple[list[str], ExitCode]:
    from planner.plan import check_file
    from planner.report.validation import lines

    results = [check_file(p) for p in expand(paths)]
    code = ExitCode.OK if all(r.ok for r in results) else ExitCode.FAILED
    return list(lines(results, fmt)), code


def schema_command(
    *, check: bool, openapi_dir: Path | None, output: Path | None
) -> tuple[str, ExitCode]:
    from planner import resources
    from planner.schema import generate

    source = openapi_dir or resources.openapi_dir()
    target = output or resources.plan_schema_path()
    try:
        text = generate(source)
    except (OSError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot generate the schema from {source}: {exc}") from exc
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != text:
            return (
                f"{target} is stale: it differs from what {source} generates "
                "(run `planner schema` and commit the result)",
                ExitCode.FAILED,
            )
        return f"{target} is up to date", ExitCode.OK
    target.write_text(text, encoding="utf-8")
    return f"wrote {target}", ExitCode.OK


def start_sandbox(
    *,
    host: str,
    port: int,
    config_path: Path | None,
    faults: tuple[str, ...],
    seed: int | None,
    invalid_tokens: tuple[str, ...],
    max_concurrent_tasks: int | None,
    schedule: str | None,
    verbose: bool,
) -> Any:
    """Start the sandbox in this process; SIGTERM stops it like Ctrl-C."""
    import signal

    from planner.sandbox import Sandbox
    from planner.sandbox.config import Schedule, load_config, parse_fault

    parsed_schedule = None
    if schedule:
        unit, _, numbers = schedule.partition(":")
        try:
            submitted, processing = (float(n) for n in numbers.split(","))
        except ValueError as exc:
            raise UsageError(f"--schedule {schedule!r}: write UNIT:SUBMITTED,PROCESSING, e.g. polls:1,1") from exc
        if unit not in ("polls", "seconds"):
            raise UsageError(f"--schedule unit {unit!r} is not polls or seconds")
        parsed_schedule = Schedule(unit, submitted, processing)
    config = load_config(
        config_path,
        faults=tuple(parse_fault(f) for f in faults),
        seed=seed,
        invalid_tokens=invalid_tokens,
        max_concurrent_tasks=max_concurrent_tasks,
        schedule=parsed_schedule,
    )

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return Sandbox(config, host=host, port=port, verbose=verbose).start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="pass --port 0 to pick a free port") from exc
