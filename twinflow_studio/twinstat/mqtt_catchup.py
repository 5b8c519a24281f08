"""A run without ``--watch`` first takes what the broker kept for each mqtt source.

The broker keeps a persistent session's messages while nobody is connected (QoS 1, fixed
client id). A cron-style ``--run`` therefore connects each mqtt source it runs with the same
session, stores what comes (the same ``MqttIngest``: stored before acknowledged, exactly
once), and disconnects when the stream has gone quiet: no message for ``QUIET_S`` and none
waiting to be stored. MQTT 3.1.1 says nothing about how many messages are queued, so quiet
is the only sign of the end; a source that never pauses (a busy live stream) is cut at its
``catch_up_s`` (default 10 s; 0 turns the catch-up off), and what is left stays with the
broker for the next run. A source whose table another process is filling (a ``--watch``
running) or whose broker cannot be reached is run on what is stored, with a warning.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CATCH_UP_S = 10.0
QUIET_S = 0.5


def sources_of_run(project: Any, only: Iterable[str] | None) -> list[str]:
    """The mqtt nodes a run of ``only`` (None: everything) executes; a subgraph's id in
    ``only`` stands for its flattened nodes, as for the engine."""
    from twinflow_studio.project.subgraphs import expand_ids

    if only:
        wanted = expand_ids(project, only) & set(project.nodes)
        nodes = project.reachable(wanted, upstream=True)
    else:
        nodes = set(project.nodes)
    return sorted(n for n in nodes if n in project.nodes and project.nodes[n].kind == "mqtt")


def catch_up_one(
    project_dir: Path,
    source: str,
    params: dict[str, Any],
    *,
    stopped: Callable[[], bool] = lambda: False,
) -> str:
    """Store what the broker kept for ``source``'s session; a line saying what happened."""
    from twinflow_studio.twinstat.mqtt_ingest import MqttError, MqttIngest

    limit = float(params.get("catch_up_s", CATCH_UP_S) or 0)
    if limit <= 0:
        return f"mqtt node {source}: catch-up off (catch_up_s is 0)"
    began = time.monotonic()
    ingest = MqttIngest(project_dir, source, params, connect_timeout=min(10.0, limit))
    try:
        ingest.start()
    except (MqttError, ValueError, OSError) as exc:
        return f"warning: mqtt node {source}: running on the messages already stored: {exc}"
    cut = False
    try:
        while not stopped():
            now = time.monotonic()
            last = max(ingest.last_arrival, ingest.last_stored, began)
            if now - last >= QUIET_S and ingest.backlog == 0:
                break
            if now - began >= limit:
                cut = True
                break
            time.sleep(0.02)
    finally:
        ingest.stop()
    took = time.monotonic() - began
    more = f"; cut at catch_up_s={limit:g} s, the rest waits at the broker" if cut else ""
    return (
        f"mqtt node {source}: {ingest.stored} message(s) taken from the broker "
        f"in {took:.1f} s{more}"
    )


def catch_up(
    project: Any,
    project_dir: Path,
    only: Iterable[str] | None = None,
    *,
    stopped: Callable[[], bool] = lambda: False,
) -> list[str]:
    """Catch up every mqtt source of the run, one after the other (blocking)."""
    notes = []
    for source in sources_of_run(project, only):
        if stopped():
            break
        params = project.nodes[source].effective_params()
        note = catch_up_one(project_dir, source, params, stopped=stopped)
        log.info("%s", note)
        notes.append(note)
    return notes
