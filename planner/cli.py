"""The command line: parse options, call the core, print what it returns, exit.

This is the only module that imports click or prints. Heavy modules are imported
inside the commands so that ``planner --help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import click

from planner import __version__
from planner.errors import PlannerError, UsageError
from planner.exitcodes import ExitCode


def render_error(exc: BaseException) -> tuple[str, ExitCode]:
    """The one place that turns an exception into a message and an exit code."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", ExitCode.INTERRUPTED
    if isinstance(exc, UsageError):
        return f"error: {exc}", ExitCode.USAGE
    if isinstance(exc, PlannerError):
        return f"error: {exc}", ExitCode.FAILED
    return f"internal error: {type(exc).__name__}: {exc}", ExitCode.FAILED


def _finish(code: int) -> NoReturn:
    sys.exit(int(code))


def _emit(lines: Iterable[str], *, err: bool = False) -> None:
    for line in lines:
        click.echo(line, err=err)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
def cli() -> None:
    """Run Kling multi-elements video edits as declarative YAML plans.

    \b
    Exit codes:
      0   success
      1   validate: a plan is invalid; run: a step failed
      2   usage error; run: the plan is invalid (nothing was sent)
      130 interrupted (run --resume continues)
    """


@cli.command()
@click.argument("plans", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github prints workflow annotations.",
)
def validate(plans: tuple[Path, ...], fmt: str) -> None:
    """Check plan files offline (a folder means every *.yaml/*.yml in it)."""
    from planner.commands import validate_plans

    lines, code = validate_plans(list(plans), fmt)
    _emit(lines)
    _finish(code)


@cli.command()
@click.option("--check", is_flag=True, help="Fail if the committed schema is stale.")
@click.option(
    "--openapi-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of OpenAPI documents [default: schemas/openapi].",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Schema file to write or check [default: schemas/plan.schema.json].",
)
def schema(check: bool, openapi_dir: Path | None, output: Path | None) -> None:
    """Generate schemas/plan.schema.json from the OpenAPI documents."""
    from planner.commands import schema_command

    message, code = schema_command(check=check, openapi_dir=openapi_dir, output=output)
    click.echo(message, err=code != ExitCode.OK)
    _finish(code)


@cli.command()
@click.argument("plan", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--input", "inputs", multiple=True, metavar="NAME=VALUE", help="Override a plan input (repeatable).")
@click.option("--sandbox", is_flag=True, help="Run against the built-in emulator; no key, no cost.")
@click.option(
    "--base-url", default=None, help="API base URL [default: $COMETAPI_BASE_URL or https://api.cometapi.com]."
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The run's folder [default: runs/<plan name>/<UTC time>-<id>].",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout and nothing else there.")
@click.option(
    "--junit", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Write JUnit XML, one case per step."
)
@click.option("--dry-run", is_flag=True, help="Print the requests that would be sent; send nothing.")
@click.option(
    "--resume",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Continue an interrupted or failed run in RUN_DIR, keeping the steps that succeeded.",
)
@click.option("--force", is_flag=True, help="With --resume: continue even though the plan file changed.")
@click.option(
    "--retries", type=click.IntRange(1, 20), default=None, help="Attempts per request, the first included [5]."
)
@click.option("--retry-max-delay", default=None, metavar="DURATION", help="Longest pause between attempts [30s].")
@click.option("--request-timeout", type=click.FloatRange(0.1), default=None, help="Seconds to wait for an answer [60].")
@click.option("--poll-initial", default=None, metavar="DURATION", help="Override every wait step's first pause.")
@click.option("--poll-max", default=None, metavar="DURATION", help="Override every wait step's longest pause.")
@click.option(
    "--lookup-by-external-id",
    is_flag=True,
    help="The API finds tasks by external_task_id, so a lost create can be re-sent once a lookup proves it absent.",
)
def run(
    plan: Path | None,
    inputs: tuple[str, ...],
    sandbox: bool,
    base_url: str | None,
    run_dir: Path | None,
    as_json: bool,
    junit: Path | None,
    dry_run: bool,
    resume: Path | None,
    force: bool,
    retries: int | None,
    retry_max_delay: str | None,
    request_timeout: float | None,
    lookup_by_external_id: bool,
    poll_initial: str | None,
    poll_max: str | None,
) -> None:
    """Run a plan's steps in order against CometAPI (or the sandbox).

    The key comes from COMETAPI_KEY. Every step's request, response and attempts are
    recorded in the run's folder; --resume continues a run from it.
    """
    import os
    import re

    from planner.commands import RunRequest, run_plan

    for option, value in (
        ("--retry-max-delay", retry_max_delay),
        ("--poll-initial", poll_initial),
        ("--poll-max", poll_max),
    ):
        if value is not None and not re.fullmatch(r"[0-9]+(\.[0-9]+)?(ms|s|m|h)", value):
            raise UsageError(f"{option} {value!r}: write a duration such as 500ms or 10s")
    request = RunRequest(
        plan=plan,
        inputs=inputs,
        sandbox=sandbox,
        base_url=base_url,
        run_dir=run_dir,
        json=as_json,
        junit=junit,
        dry_run=dry_run,
        resume=resume,
        force=force,
        retries=retries,
        retry_max_delay=retry_max_delay,
        request_timeout=request_timeout,
        lookup_by_external_id=lookup_by_external_id,
        poll_initial=poll_initial,
        poll_max=poll_max,
        env=dict(os.environ),
    )
    live = None
    if not as_json and sys.stdout.isatty():

        def live(line: str) -> None:
            click.echo("\r\x1b[K" + line, nl=False)

    code = run_plan(request, out=click.echo, err=lambda line: click.echo(line, err=True), live=live)
    _finish(code)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port for the API; 0 picks a free one.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Sandbox settings and fault rules (YAML or JSON), see docs/sandbox.md.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="ROUTE:KIND@N|%P",
    help="Inject a fault, e.g. create-task:lost-response@1 (repeatable).",
)
@click.option("--seed", type=int, default=None, help="Seed for probabilistic faults.")
@click.option("--invalid-token", "invalid_tokens", multiple=True, help="A key to refuse with code 1000.")
@click.option("--max-concurrent-tasks", type=click.IntRange(1), default=None)
@click.option(
    "--schedule",
    default=None,
    metavar="UNIT:SUBMITTED,PROCESSING",
    help="How tasks progress, e.g. polls:1,1 (default) or seconds:5,20.",
)
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
def sandbox(
    host: str,
    port: int,
    config_path: Path | None,
    faults: tuple[str, ...],
    seed: int | None,
    invalid_tokens: tuple[str, ...],
    max_concurrent_tasks: int | None,
    schedule: str | None,
    verbose: bool,
) -> None:
    """Serve the offline emulator of the API until interrupted.

    Prints the base URL on the first line of stdout; point `planner run --base-url` at it.
    """
    from planner.commands import start_sandbox

    server = start_sandbox(
        host=host,
        port=port,
        config_path=config_path,
        faults=faults,
        seed=seed,
        invalid_tokens=invalid_tokens,
        max_concurrent_tasks=max_concurrent_tasks,
        schedule=schedule,
        verbose=verbose,
    )
    click.echo(server.base_url)
    click.echo(f"planner sandbox: API at {server.base_url}, files at {server.files_url}; Ctrl-C stops it", err=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    _finish(ExitCode.OK)


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="planner", standalone_mode=False)
    except click.exceptions.Exit as exc:
        _finish(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        _finish(ExitCode.USAGE)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        _finish(ExitCode.INTERRUPTED)
    except BaseException as exc:  # the one place an unexpected error becomes an exit code
        if isinstance(exc, SystemExit):
            raise
        import os

        from planner.secrets import Redactor

        message, code = render_error(exc)
        click.echo(Redactor(os.environ.get("COMETAPI_KEY", "")).text(message), err=True)
        _finish(code)
