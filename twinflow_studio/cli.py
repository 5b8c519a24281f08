"""`twinflow-studio [PROJECT]` opens the studio; `--run PROJECT` runs it headless.

Exit codes: 0 every node succeeded; 1 the run failed; 2 bad input (usage, an unreadable or
invalid project, a bad --param, a project that needs trust it was not given: see
docs/security.md); 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from twinflow_studio import __version__
from twinflow_studio.project.errors import printable
from twinflow_studio.project.lineage_settings import lineage_settings

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
LINEAGE_FLUSH_S = 30.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinflow-studio",
        description="TwinFlow Studio: build, run and keep living digital twins.",
    )
    parser.add_argument("project", nargs="?", help="a .twin project to open in the studio")
    parser.add_argument("--run", metavar="PROJECT", help="run PROJECT headless and exit")
    parser.add_argument("--validate", metavar="PROJECT", help="list every problem and exit")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NODE.KEY=VALUE",
        help="override a node parameter for this run (VALUE is JSON, else a string)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NODE",
        help="run only NODE and what it needs upstream (repeatable)",
    )
    parser.add_argument("--no-cache", action="store_true", help="rerun every node")
    parser.add_argument(
        "--json", action="store_true", help="print a machine-readable run summary on stdout"
    )
    parser.add_argument("--logs", action="store_true", help="echo node log lines on stderr")
    parser.add_argument(
        "--watch",
        action="store_true",
        help="with --run: keep the twin living (triggers) until Ctrl-C",
    )
    parser.add_argument(
        "--no-lineage", action="store_true", help="do not record lineage for this run"
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="with --run: trust PROJECT for this run (its Python code, databases and "
        "endpoints); see docs/security.md",
    )
    parser.add_argument(
        "--fire",
        metavar="TRIGGER",
        help="queue a fire of the manual TRIGGER of PROJECT (the positional argument) for the "
        "running --watch or live studio to pick up, and exit",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.run and args.validate:
        return _fail("use either --run or --validate, not both")
    if args.validate:
        return _validate(Path(args.validate))
    if args.fire:
        return _fire(args.fire, args.project)
    if args.run:
        return _run(args)
    if args.watch or args.param or args.only or args.json or args.trust:
        return _fail("--param, --only, --json, --watch and --trust go with --run PROJECT")
    try:
        from twinflow_studio.ui.app import launch
    except ImportError as exc:
        return _fail(
            f"the studio needs the GUI extra ({exc.name or exc}): "
            "pip install 'twinflow-studio[gui]'; headless runs work without it (--run)"
        )
    from twinflow_studio.ui.desktop import display_problem

    problem = display_problem()  # Qt would abort the process; say what is missing instead
    if problem:
        return _fail(problem)
    return launch(Path(args.project) if args.project else None)


def _fire(trigger_id: str, project_path: str | None) -> int:
    from twinflow_studio.twinstat.live_state import request_fire

    if not project_path:
        return _fail("--fire TRIGGER needs the PROJECT whose trigger to fire")
    path = Path(project_path)
    project = _load(path, flat=False)
    if project is None:
        return EXIT_BAD_INPUT
    kinds = {str(t.get("id")): t.get("kind") for t in project.triggers if isinstance(t, dict)}
    if kinds.get(trigger_id) != "manual":
        manual = sorted(k for k, v in kinds.items() if v == "manual") or ["none"]
        what = "is not a manual trigger" if trigger_id in kinds else "is not a trigger"
        return _fail(f"{path}: {trigger_id!r} {what} of this project (manual: {', '.join(manual)})")
    request = request_fire(path.resolve().parent, trigger_id, "twinflow-studio --fire")
    print(f"queued: {request}", file=sys.stderr)
    return 0


def _fail(message: str) -> int:
    print(f"twinflow-studio: error: {printable(message, keep=chr(10))}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _load(path: Path, flat: bool = True) -> Any:
    """The project at ``path`` with its subgraphs flattened (what runs, what needs trust);
    ``flat=False``: as written (its triggers: a changed part is the watch's to report)."""
    from twinflow_studio.project import TwinFileError, ValidationError, load
    from twinflow_studio.project.subgraphs import flatten

    try:
        return flatten(load(path), path.resolve().parent) if flat else load(path)
    except TwinFileError as exc:
        _fail(str(exc))
    except ValidationError as exc:
        _fail(f"{path}: {exc}")
    return None


def _validate(path: Path) -> int:
    from twinflow_studio.engine.preflight import errors, preflight
    from twinflow_studio.project import validate
    from twinflow_studio.project.errors import Problem
    from twinflow_studio.project.plugin_check import kind_origins

    project = _load(path)
    if project is None:
        return EXIT_BAD_INPUT
    # The document, then what it needs around it (files, images, modules).
    problems = validate(project) + preflight(project, path.resolve().parent)
    if not errors(problems):
        problems += [
            Problem("settings.lineage", message, None, "bad_lineage")
            for message in _lineage_problems(project, path)
        ]
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if errors(problems):
        return EXIT_BAD_INPUT
    print(
        f"{path}: valid ({len(project.nodes)} nodes, version {project.version()[:12]})",
        file=sys.stderr,
    )
    for line in kind_origins(project):
        print(f"{path}: {line}", file=sys.stderr)
    from twinflow_studio.trust import run_reasons

    for reason in run_reasons(project, path):  # said now, so that a refused --run is no surprise
        print(f"{path}: running it needs trust: {reason}", file=sys.stderr)
    return EXIT_OK


def _lineage_problems(project: Any, path: Path) -> list[str]:
    """What the lineage layer finds wrong with ``settings.lineage`` (validation checked its
    shape; this checks its values: backend, URL scheme, region)."""
    settings = lineage_settings(project.settings)
    if settings is None:
        return []
    from twinflow_studio.lineage.backends import BackendConfig, LineageConfigError

    try:
        BackendConfig.from_settings(path.resolve().parent, settings)
    except LineageConfigError as exc:
        return [str(exc)]
    return []


def _check_run_store(project: Any, path: Path) -> None:
    """The run store folder can be made (a file or /proc there would fail the run later)."""
    setting = project.settings.get("run_store") or ""
    root = Path(setting) if setting else path.resolve().parent / ".twinflow"
    if not root.is_absolute():
        root = path.resolve().parent / root
    try:
        (root / "runs").mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        where = "project.settings.run_store: " if setting else ""
        raise ValueError(f"{where}cannot use {root} for runs: {exc}") from None


def _parse_overrides(params: list[str]) -> dict[str, dict[str, Any]]:
    from twinflow_studio.engine.overrides import parse_param

    overrides: dict[str, dict[str, Any]] = {}
    for text in params:
        node_id, key, value = parse_param(text)
        overrides.setdefault(node_id, {})[key] = value
    return overrides


def _run(args: argparse.Namespace) -> int:
    from twinflow_studio.engine.overrides import apply_overrides
    from twinflow_studio.project import ValidationError, ensure_valid
    from twinflow_studio.project.node_lookup import unknown_ids, unknown_message

    path = Path(args.run)
    project = _load(path)
    if project is None:
        return EXIT_BAD_INPUT
    try:
        overrides = _parse_overrides(args.param)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        # Checked before anything starts, so bad input never leaves a half-made run behind.
        ensure_valid(apply_overrides(project, overrides))
        unknown = unknown_ids(project, args.only)
        if unknown:
            raise ValueError(unknown_message(project, unknown))
    except ValidationError as exc:
        return _fail(f"{path}: {exc}")
    except ValueError as exc:
        return _fail(f"{path}: {exc}")
    # Trust before anything that touches what the file names (its run store, its lineage).
    refusal = None if args.trust else _untrusted(apply_overrides(project, overrides), path, args)
    if refusal is not None:
        return _fail(refusal)
    try:
        _preflight(path, apply_overrides(project, overrides), args.only or None)
        if not args.no_lineage:
            for problem in _lineage_problems(project, path):
                raise ValueError(problem)
        _check_run_store(project, path)
    except ValueError as exc:
        return _fail(f"{path}: {exc}")
    progress = ProgressPrinter(sys.stderr, echo_logs=args.logs)
    result = asyncio.run(_run_async(project, path, args, overrides, progress))
    if result is None:
        return EXIT_INTERRUPTED
    if args.json and not args.watch:  # --watch printed a status line per run
        print(json.dumps(result.summary, indent=2, sort_keys=True, default=str))
    if result.status == "succeeded":
        return EXIT_OK
    return EXIT_INTERRUPTED if result.status == "cancelled" else EXIT_FAILED


def _untrusted(project: Any, path: Path, args: argparse.Namespace) -> str | None:
    """Why this headless run needs trust it was not given (None when it may run)."""
    from twinflow_studio.trust import TrustStore, explain, run_reasons

    reasons = run_reasons(project, path, lineage=not args.no_lineage)
    store = TrustStore()
    if store.verdict(path, reasons).trusted:
        return None
    unreadable = f"\n(the trust file is unreadable: {store.problem})" if store.problem else ""
    return explain(path, reasons) + unreadable


def _preflight(path: Path, project: Any, only: list[str] | None) -> None:
    """Print the pre-run warnings; raise ValueError naming the errors (files, images,
    modules that are not there), so that a run that would fail at once does not start."""
    from twinflow_studio.engine.preflight import errors, preflight

    problems = preflight(project, path.resolve().parent, only=only)
    for problem in problems:
        if problem.severity == "warning":
            print(f"{path}: {problem}", file=sys.stderr)
    found = errors(problems)
    if found:
        lines = "\n".join(f"  - {p}" for p in found)
        raise ValueError(f"the project cannot run as it is ({len(found)} problem(s)):\n{lines}")


async def _run_async(
    project: Any,
    path: Path,
    args: argparse.Namespace,
    overrides: dict[str, dict[str, Any]],
    progress: ProgressPrinter,
) -> Any:
    from twinflow_studio.engine import Engine

    engine = Engine([progress])
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        print("\ninterrupted: cancelling the run (containers are stopped)...", file=sys.stderr)
        engine.cancel()
        stop.set()

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
        except (NotImplementedError, RuntimeError):  # not on this platform / thread
            pass
    lineage = await _open_lineage(project, path, engine, args)
    try:
        kwargs: dict[str, Any] = {
            "project_path": path.resolve(),
            "overrides": overrides,
            "only": args.only or None,
            "use_cache": not args.no_cache,
        }
        if not args.watch:
            from twinflow_studio.engine.overrides import apply_overrides
            from twinflow_studio.twinstat.mqtt_catchup import catch_up

            # What the broker kept for the mqtt sources since the last run (docs/mqtt.md).
            for note in await asyncio.to_thread(
                catch_up,
                apply_overrides(project, overrides),
                path.resolve().parent,
                args.only or None,
                stopped=stop.is_set,
            ):
                print(note, file=sys.stderr, flush=True)
            if stop.is_set():
                return None
            return await engine.run(project, **kwargs)
        from twinflow_studio.twinstat.watch import status_line, watch_project

        first: list[Any] = []

        def report(result: Any) -> None:
            if args.json:  # one line per run: the twin's status after it
                print(status_line(project, path.resolve().parent, result), flush=True)

        async def initial_run() -> None:
            first.append(await engine.run(project, **kwargs))
            report(first[0])
            if first[0].status == "cancelled":
                stop.set()
            else:
                print("watching for triggers; Ctrl-C stops", file=sys.stderr, flush=True)

        await watch_project(
            project,
            engine,
            stop,
            run_kwargs=kwargs,
            initial=initial_run,
            on_result=report,
            current=_live_project(path, args, overrides),
            on_refused=lambda exc: _fail(f"{exc}\n(this trigger's run did not start)"),
        )
        return first[0] if first else None
    finally:
        if lineage is not None:
            await _close_lineage(lineage)


def _live_project(path: Path, args: argparse.Namespace, overrides: dict) -> Callable[[], Any]:
    """The project as its files are now, for each triggered run of ``--watch``: an edited
    part is used once its pin says so, and a reloaded project needs trust as the first did."""
    from twinflow_studio.engine.overrides import apply_overrides
    from twinflow_studio.project.reload import ProjectReloader, ReloadError

    reloader = ProjectReloader(path)
    trusted: list[Any] = []

    def current() -> Any:
        flat = reloader.current()
        if not args.trust and not any(flat is t for t in trusted):
            refusal = _untrusted(apply_overrides(flat, overrides), path, args)
            if refusal is not None:
                raise ReloadError(refusal)
            trusted[:] = [flat]
        return flat

    return current


async def _open_lineage(project: Any, path: Path, engine: Any, args: argparse.Namespace) -> Any:
    if args.no_lineage:
        return None
    settings = lineage_settings(project.settings)
    if settings is None:
        return None
    from twinflow_studio.lineage import open_lineage
    from twinflow_studio.lineage.outbox import OutboxBusyError

    try:
        store = open_lineage(path.resolve().parent, settings)
        await store.start_async()
    except (OutboxBusyError, OSError) as exc:  # e.g. no room for the outbox on a full disk
        print(f"warning: lineage is not recorded for this run: {exc}", file=sys.stderr)
        return None
    engine.subscribe(store.subscriber)
    return store


async def _close_lineage(store: Any) -> None:
    """Deliver what the run recorded; what cannot be delivered now waits in the outbox."""
    delivered = await store.aflush(LINEAGE_FLUSH_S)
    if not delivered:
        reason = f" ({store.last_error})" if store.last_error else ""
        print(
            f"lineage: the {store.backend} database is not reachable{reason}; "
            f"{store.pending_bytes()} bytes of records wait in the outbox and are delivered "
            "on the next run",
            file=sys.stderr,
        )
    await store.aclose()


class ProgressPrinter:
    """Prints state changes and a final summary to a text stream (stderr)."""

    SHOWN = {
        "running",
        "retrying",
        "succeeded",
        "cached",
        "failed",
        "skipped",
        "skipped_branch",
        "cancelled",
    }

    def __init__(self, stream: TextIO, echo_logs: bool = False) -> None:
        self.stream = stream
        self.echo_logs = echo_logs
        self.total = 0
        self.done = 0
        self.started = time.monotonic()

    def __call__(self, event: Any) -> None:
        name = type(event).__name__
        if name == "RunStarted":
            self.total = len(event.node_ids)
            self.done = 0
            self.started = time.monotonic()
            cause = f" (trigger: {event.trigger.get('kind')})" if event.trigger else ""
            self._print(f"run {event.run_id}: {event.project_name}, {self.total} nodes{cause}")
        elif name == "NodeStateChanged" and event.state in self.SHOWN:
            if self.total > 200 and event.state in ("running", "succeeded", "cached"):
                return  # huge runs: only problems and the summary, not every node
            extra = f" - {event.message}" if event.message else ""
            self._print(f"[{self.done}/{self.total}] {event.node_id}: {event.state}{extra}")
        elif name == "Progress":
            self.done = event.done
        elif name == "LogLine" and self.echo_logs:
            self._print(f"  {event.node_id} | {event.line}")
        elif name == "RunFinished":
            self.print_summary(event.summary)
        elif name == "RunInterrupted":
            self._print(f"earlier run {event.run_id} marked interrupted: {event.summary['error']}")

    def _print(self, text: str) -> None:
        # Node ids, messages and log lines may come from a container: no terminal controls.
        print(printable(text), file=self.stream, flush=True)

    def print_summary(self, summary: dict[str, Any]) -> None:
        counts = ", ".join(f"{n} {s}" for s, n in summary.get("counts", {}).items())
        self._print(
            f"run {summary['run_id']} {summary['status']} in {summary['duration_s']} s"
            f" ({counts}); outputs in {summary['run_dir']}"
        )
        for failure in summary.get("failed", []):
            code = f", exit code {failure['exit_code']}" if failure["exit_code"] is not None else ""
            self._print(
                f"  node {failure['node']!r} failed after {failure['attempts']} "
                f"attempt(s){code}: {failure['error']}"
            )
            log = Path(summary["run_dir"]) / failure["node"] / "log.txt"
            for line in _without_traceback(failure.get("last_log_lines", []), log)[-10:]:
                self._print(f"    | {line}")


_FRAME = re.compile(r'^  File ".*", line \d+')


def _without_traceback(lines: list[str], log: Path) -> list[str]:
    """The log tail up to a traceback, which stays in the node's log: the summary gives the
    one-line reason, and a traceback on stderr would read as the CLI's own crash."""
    for index, line in enumerate(lines):
        # The tail may begin inside a long traceback: its frame lines count too.
        if line.startswith("Traceback (most recent call last):") or _FRAME.match(line):
            return [*lines[:index], f"(the traceback is in {log})"]
    return lines


if __name__ == "__main__":
    sys.exit(main())
