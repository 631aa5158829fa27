"""The commands' core: plain arguments in, (output lines, exit code) out. No click here."""

from __future__ import annotations

from pathlib import Path

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
