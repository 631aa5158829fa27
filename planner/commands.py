"""The commands' core: plain arguments in, (output lines, exit code) out. No click here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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


def schema_command(*, check: bool, openapi_dir: Path | None, output: Path | None) -> tuple[str, ExitCode]:
    from planner import resources
    from planner.schema import generate, generate_validator

    source = openapi_dir or resources.openapi_dir()
    target = output or resources.plan_schema_path()
    validator = target.with_name("plan_validator.py")
    try:
        text = generate(source)
        code = generate_validator(text)
    except (OSError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot generate the schema from {source}: {exc}") from exc
    if check:
        from planner.schema import schema_digest, validator_digest

        current = target.read_text(encoding="utf-8") if target.exists() else None
        made_from = validator_digest(validator.read_text(encoding="utf-8")) if validator.exists() else None
        # The validator's code depends on the installed fastjsonschema; what must match is the
        # schema it was generated from.
        for path, stale in ((target, current != text), (validator, made_from != schema_digest(text))):
            if stale:
                return (
                    f"{path} is stale: it differs from what {source} generates "
                    "(run `planner schema` and commit the result)",
                    ExitCode.FAILED,
                )
        return f"{target} and {validator.name} are up to date", ExitCode.OK
    target.write_text(text, encoding="utf-8")
    validator.write_text(code, encoding="utf-8")
    return f"wrote {target} and {validator.name}", ExitCode.OK


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
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint="pass --port 0 to pick a free port"
        ) from exc


DEFAULT_BASE_URL = "https://api.cometapi.com"
SANDBOX_KEY = "sk-planner-sandbox"


@dataclass
class RunRequest:
    plan: Path | None
    inputs: tuple[str, ...] = ()
    sandbox: bool = False
    base_url: str | None = None
    run_dir: Path | None = None
    json: bool = False
    junit: Path | None = None
    dry_run: bool = False
    resume: Path | None = None
    force: bool = False
    retries: int | None = None
    retry_max_delay: str | None = None
    request_timeout: float | None = None
    lookup_by_external_id: bool = False
    poll_initial: str | None = None
    poll_max: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def coerce_inputs(plan: Any, pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs, checked against the plan's inputs and converted to their types."""
    from planner.diagnostics import did_you_mean

    values: dict[str, Any] = {}
    declared = dict((plan.get("inputs") or {}).items()) if isinstance(plan, dict) else {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise UsageError(f"--input {pair!r}: write NAME=VALUE")
        if name not in declared:
            raise UsageError(
                f"--input {name}: the plan declares no such input",
                hint=did_you_mean(name, declared) or "declared: " + (", ".join(declared) or "none"),
            )
        spec = declared[name] or {}
        default = spec.get("default")
        kind = spec.get("type") or {bool: "boolean", int: "integer", float: "number"}.get(type(default), "string")
        try:
            if kind == "integer":
                values[name] = int(raw)
            elif kind == "number":
                values[name] = float(raw)
            elif kind == "boolean":
                if raw.lower() not in ("true", "false"):
                    raise ValueError(raw)
                values[name] = raw.lower() == "true"
            else:
                values[name] = raw
        except ValueError as exc:
            raise UsageError(f"--input {name}={raw}: expected {kind}") from exc
    return values


def check_base_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"base URL {url!r} is not an http(s) URL")
    loopback = parts.hostname in ("localhost", "::1") or parts.hostname.startswith("127.")
    if parts.scheme != "https" and not loopback:
        raise UsageError(
            f"base URL {url!r} must use https: the key would travel in clear text",
            hint="http is allowed only for loopback addresses such as the sandbox",
        )
    return url.rstrip("/")


def _checked_plan(
    path: Path, text: str | None, pairs: tuple[str, ...], inputs: dict[str, Any] | None, err: Any
) -> tuple[Any, dict[str, Any]] | None:
    """The checked plan and its input values, or None after printing why it is invalid."""
    from planner.plan import check_file, check_text
    from planner.report.validation import lines as diagnostic_lines

    def check(overrides: dict[str, Any] | None = None) -> Any:
        return check_text(text, path, overrides) if text is not None else check_file(path, overrides)

    result = check()
    overrides = (
        inputs if inputs is not None else coerce_inputs(result.document.data if result.document else None, pairs)
    )
    if overrides and result.ok:
        result = check(overrides)  # the rules check input values too
    if not result.ok or result.plan is None:
        for line in diagnostic_lines([result], "text"):
            err(line)
        err("planner: the plan is invalid; nothing was sent")
        return None
    plan = result.plan
    missing = [n for n, s in plan.inputs.items() if s.default is None and n not in overrides]
    if missing:
        raise UsageError(f"input {missing[0]!r} has no default; pass --input {missing[0]}=VALUE")
    return result, {n: overrides.get(n, s.default) for n, s in plan.inputs.items()}


def run_plan(req: RunRequest, out: Any, err: Any, live: Any = None) -> ExitCode:
    """Validate, then run, resume or describe a plan. ``out``/``err`` take one line each."""
    import hashlib
    import json
    import signal

    resume = None
    if req.resume is not None:
        from planner.run import resume as resuming

        if req.plan is not None or req.inputs or req.run_dir or req.dry_run or req.sandbox:
            raise UsageError("--resume takes the run folder only (no PLAN, --input, --run-dir, --dry-run or --sandbox)")
        resume = resuming.load(req.resume, force=req.force)
        if resume.meta.get("status") == "succeeded":
            out(f"planner: the run in {req.resume} already succeeded; nothing to do")
            return ExitCode.OK
        checked = _checked_plan(resume.plan_path, resume.plan_text, (), resume.inputs, err)
    else:
        if req.plan is None:
            raise UsageError("give a PLAN to run, or --resume RUN_DIR")
        if not req.plan.exists():
            raise UsageError(f"{req.plan}: no such file")
        checked = _checked_plan(req.plan, None, req.inputs, None, err)
    if checked is None:
        return ExitCode.USAGE
    result, inputs = checked
    plan = result.plan

    if req.sandbox and req.base_url:
        raise UsageError("--sandbox and --base-url exclude each other")
    recorded_url = resume.meta.get("base_url") if resume else None
    base_url = check_base_url(req.base_url or recorded_url or req.env.get("COMETAPI_BASE_URL") or DEFAULT_BASE_URL)
    if req.dry_run:
        from planner.run.dryrun import describe

        for line in describe(plan, inputs, "<sandbox>" if req.sandbox else base_url):
            out(line)
        return ExitCode.OK
    key = SANDBOX_KEY if req.sandbox else req.env.get("COMETAPI_KEY", "")
    if not key:
        raise UsageError(
            "COMETAPI_KEY is not set", hint="export your CometAPI key, or try the plan offline with --sandbox"
        )

    from planner import __version__
    from planner.report.console import Console
    from planner.report.summary import as_json, junit_xml
    from planner.run import events as ev
    from planner.run.folder import GitProbe, RunFolder, RunLog, new_run_id, utc_now
    from planner.run.retry import RetryPolicy, seconds
    from planner.run.runner import Runner, RunOptions
    from planner.secrets import Redactor

    redactor = Redactor(key, req.env.get("COMETAPI_KEY", ""))
    retry = RetryPolicy()
    retry = RetryPolicy(
        attempts=req.retries if req.retries is not None else retry.attempts,
        base=retry.base,
        max_delay=seconds(req.retry_max_delay, retry.max_delay),
    )
    options = RunOptions(
        base_url=base_url, key=key, inputs=inputs, retry=retry, lookup_by_external_id=req.lookup_by_external_id
    )
    if req.request_timeout is not None:
        options.request_timeout = req.request_timeout
    if req.poll_initial is not None:
        options.poll_initial = seconds(req.poll_initial, 0)
    if req.poll_max is not None:
        options.poll_max = seconds(req.poll_max, 0)
    sandbox = None
    if req.sandbox:
        from planner.sandbox import Sandbox

        sandbox = Sandbox().start()
        options.base_url = sandbox.base_url
        options.sandbox = True
        options.poll_initial, options.poll_max = 0.01, 0.1  # the sandbox's tasks move per poll, not per second

    kept: dict[int, dict[str, Any]] = {}
    in_doubt: dict[int, str] = {}
    if resume is not None:
        from planner.run import resume as resuming

        resuming.check_sessions(resume, plan)
        run_id = str(resume.meta.get("run_id") or new_run_id())
        run_dir = resume.run_dir
        folder = RunFolder(run_dir, redactor)
        kept = resume.kept(plan)
        in_doubt = {i: x for i in range(len(plan.steps)) if i not in kept and (x := resume.create_in_doubt(i))}
        meta = dict(resume.meta)
        meta.setdefault("resumed", []).append({"at": utc_now(), "from_step": len(kept) + 1})
        plan_path = Path(str(meta.get("plan")))
    else:
        assert req.plan is not None
        run_id = new_run_id()
        run_dir = req.run_dir or RunFolder.default_path(Path("runs"), plan.name, run_id)
        if not RunFolder.unused(run_dir):
            raise UsageError(f"{run_dir} is not empty; choose another --run-dir")
        for stray in run_dir.glob(".*.tmp") if run_dir.exists() else ():
            stray.unlink(missing_ok=True)  # left by a run killed before it began
        folder = RunFolder(run_dir, redactor)
        plan_path = req.plan
        meta = {
            "planner_version": __version__,
            "run_id": run_id,
            "plan": str(req.plan),
            "plan_sha256": hashlib.sha256(req.plan.read_bytes()).hexdigest(),
            "base_url": "sandbox (in-process)" if req.sandbox else base_url,
            "sandbox": req.sandbox,
            "inputs": inputs,
            "steps": {"total": len(plan.steps)},
        }
        # run.json first: from here on the folder can be resumed, and nothing was sent before it.
        folder.write("run.json", {**meta, "status": "starting"}, durable=True)
        folder.write_bytes("plan.yaml", (result.text or "").encode())
        folder.write("inputs.json", inputs)
    console = Console(err if req.json else out, redactor, live=live)
    stems = {s.index: s.file_stem for s in plan.steps}
    subscribers: list[Callable[[ev.Event], None]] = [RunLog(folder, meta, stems, GitProbe(plan_path)), console]

    def emit(event: ev.Event) -> None:
        for subscriber in subscribers:
            subscriber(event)

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        runner = Runner(
            plan, options, emit, run_id=run_id, redactor=redactor, run_dir=run_dir, kept=kept, in_doubt=in_doubt
        )
        finished = runner.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if sandbox is not None:
            sandbox.stop()
    if req.junit:
        labels = [(s.label, s.action) for s in plan.steps]
        req.junit.write_bytes(junit_xml(finished, plan.name, labels, redactor))
    if req.json:
        out(json.dumps(as_json(finished, plan.name, len(plan.steps), redactor), indent=2))
    return ExitCode(finished.exit_code)
