"""Glue between the engine and :func:`twinstat.triggers.watch` for ``--run PROJECT --watch``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from twinflow_studio.project.errors import TwinFlowError
from twinflow_studio.twinstat.triggers import env_poll_interval, watch


async def watch_project(
    project: Any,
    engine: Any,
    stop: asyncio.Event,
    run_kwargs: dict[str, Any] | None = None,
    poll_interval: float | None = None,
    initial: Callable[[], Awaitable[Any]] | None = None,
    on_result: Callable[[Any], None] | None = None,
    current: Callable[[], Any] | None = None,
    on_refused: Callable[[TwinFlowError], None] | None = None,
) -> list[dict[str, Any]]:
    """Keep ``project`` living on ``engine`` until ``stop`` is set (Ctrl-C in the CLI).

    ``run_kwargs`` are the CLI's engine.run arguments; each trigger sets its own ``only`` and
    ``trigger``. ``on_result`` sees every triggered run's result (``--watch --json``).
    ``current`` gives the project as its files are now (edited parts); when it raises, that
    trigger's run does not start, ``on_refused`` is told why and the watch goes on."""
    base = {k: v for k, v in (run_kwargs or {}).items() if k not in ("only", "trigger")}
    if base.get("project_dir"):
        project_dir = Path(base["project_dir"])
    elif base.get("project_path"):
        project_dir = Path(base["project_path"]).parent
    else:
        project_dir = Path.cwd()

    async def engine_run(proj: Any, *, only: Any = None, trigger: Any = None) -> Any:
        if current is not None:
            try:
                proj = current()
            except TwinFlowError as exc:
                if on_refused is not None:
                    on_refused(exc)
                return None
        result = await engine.run(proj, only=only, trigger=trigger, **base)
        if on_result is not None:
            on_result(result)
        return result

    interval = poll_interval or float(
        project.settings.get("watch_poll_s", 0) or env_poll_interval()
    )
    return await watch(
        project,
        engine_run,
        stop,
        project_dir=project_dir,
        poll_interval=interval,
        initial=initial,
    )


def status_line(project: Any, project_dir: Path, result: Any) -> str:
    """One JSON line for ``--watch --json``: the run that ended and the twin's status."""
    import json

    from twinflow_studio.twinstat.status import twin_status

    summary = getattr(result, "summary", {}) or {}
    line = {
        "event": "run",
        "run_id": getattr(result, "run_id", None),
        "status": getattr(result, "status", None),
        "trigger": summary.get("trigger"),
        "twin": twin_status(project, project_dir),
    }
    return json.dumps(line, sort_keys=True, default=str)
