"""Trigger specs of a project: what each kind of trigger takes, checked without running it.

The watching itself lives in ``twinstat.triggers``; this module is plain data checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twinflow_studio.project.errors import Problem
from twinflow_studio.project.kinds import ParamSpec

KINDS = ("new_data", "schedule", "drift", "manual", "mqtt")
_INTERVAL = "Seconds between polls"
# What each kind's config takes, declared once: the checks below and the studio's trigger
# form are both driven by it.
CONFIG_FIELDS: dict[str, tuple[ParamSpec, ...]] = {
    "new_data": (
        ParamSpec(
            "path", "str", doc="Folder (or file) to watch", example="incoming", path="folder"
        ),
        ParamSpec("uri", "str", doc="Or an S3 prefix to watch", example="s3://bucket/incoming/"),
        ParamSpec("pattern", "str", default="*", doc="File name pattern", example="*.csv"),
        ParamSpec("recursive", "bool", default=False, doc="Watch subfolders too"),
        ParamSpec("interval", "float", doc=_INTERVAL, example=30),
        ParamSpec("endpoint_url", "str", doc="S3 endpoint", example="http://127.0.0.1:9000"),
        ParamSpec("region", "str", doc="S3 region", example="eu-west-1"),
    ),
    "schedule": (
        ParamSpec("interval", "float", required=True, doc="Seconds between runs", example=3600),
    ),
    "drift": (
        ParamSpec(
            "check_node",
            "str",
            required=True,
            doc="The drift_check node to evaluate",
            example="drift",
            form="node:drift_check",
        ),
        ParamSpec("port", "str", default="report", doc="Its output port to read", example="report"),
        ParamSpec("interval", "float", doc=_INTERVAL, example=600),
    ),
    "manual": (),
    "mqtt": (
        ParamSpec(
            "source",
            "str",
            required=True,
            doc="The mqtt node whose messages fire it",
            example="sensors",
            form="node:mqtt",
        ),
        ParamSpec("every_messages", "int", doc="Fire every N messages", example=100),
        ParamSpec("every_seconds", "float", doc="Fire every T seconds", example=60),
    ),
}
_CONFIG_KEYS: dict[str, set[str]] = {
    kind: {spec.name for spec in fields} for kind, fields in CONFIG_FIELDS.items()
}


def _problem(path: str, message: str) -> Problem:
    return Problem(path, message, code="bad_trigger")


def validate_trigger(
    spec: Any, node_ids: Iterable[str] | None = None, where: str | None = None
) -> list[Problem]:
    """Problems with one trigger spec, each naming the field (empty when it is fine).
    ``where`` names the trigger in messages (default: by its id)."""
    if not isinstance(spec, dict):
        return [_problem(where or "trigger", "must be an object {id, kind, config}")]
    tid = spec.get("id")
    if where is None:
        where = f"trigger {tid!r}" if isinstance(tid, str) and tid else "trigger"
    problems: list[Problem] = []
    if not isinstance(tid, str) or not tid:
        problems.append(_problem(f"{where}.id", "must be a non-empty string"))
    kind = spec.get("kind")
    if kind not in KINDS:
        return [
            *problems,
            _problem(f"{where}.kind", f"must be one of {', '.join(KINDS)}, found {kind!r}"),
        ]
    config = spec.get("config", {})
    if not isinstance(config, dict):
        return [*problems, _problem(f"{where}.config", "must be an object")]
    unknown = sorted(set(config) - _CONFIG_KEYS[kind])
    if unknown:
        problems.append(
            _problem(f"{where}.config", f"unknown key(s) {unknown} for a {kind} trigger")
        )
    known = set(node_ids) if node_ids is not None else None
    nodes = spec.get("nodes", [])
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        problems.append(_problem(f"{where}.nodes", "must be a list of node ids"))
    elif known is not None:
        problems += [_problem(f"{where}.nodes", f"no node {n!r}") for n in nodes if n not in known]
    interval = config.get("interval")
    if interval is not None and (
        isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0
    ):
        problems.append(_problem(f"{where}.config.interval", "must be a number of seconds > 0"))
    if kind == "schedule" and interval is None:
        problems.append(
            _problem(f"{where}.config.interval", "a schedule needs an interval in seconds")
        )
    if kind == "new_data":
        path, uri = config.get("path"), config.get("uri")
        if bool(path) == bool(uri):
            problems.append(
                _problem(f"{where}.config", "give either 'path' (a folder) or 'uri' (s3://...)")
            )
        elif uri and (
            not isinstance(uri, str) or not uri.startswith("s3://") or not uri[5:].split("/")[0]
        ):
            problems.append(_problem(f"{where}.config.uri", "must look like s3://bucket/prefix"))
        elif path and not isinstance(path, str):
            problems.append(_problem(f"{where}.config.path", "must be a string"))
        endpoint = config.get("endpoint_url")
        if endpoint is not None and not (isinstance(endpoint, str) and endpoint.startswith("http")):
            problems.append(_problem(f"{where}.config.endpoint_url", "must be an http(s) URL"))
    if kind == "drift":
        check = config.get("check_node")
        if not isinstance(check, str) or not check:
            problems.append(
                _problem(f"{where}.config.check_node", "name the drift_check node to evaluate")
            )
        elif known is not None and check not in known:
            problems.append(_problem(f"{where}.config.check_node", f"no node {check!r}"))
    if kind == "mqtt":
        problems += _mqtt_problems(config, where, known)
    return problems


def _mqtt_problems(config: dict[str, Any], where: str, known: set[str] | None) -> list[Problem]:
    out = []
    source = config.get("source")
    if not isinstance(source, str) or not source:
        out.append(_problem(f"{where}.config.source", "name the mqtt node whose messages fire it"))
    elif known is not None and source not in known:
        out.append(_problem(f"{where}.config.source", f"no node {source!r}"))
    every_n = config.get("every_messages")
    every_t = config.get("every_seconds")
    if every_n is None and every_t is None:
        out.append(_problem(f"{where}.config", "give every_messages (N) and/or every_seconds (T)"))
    if every_n is not None and (
        isinstance(every_n, bool) or not isinstance(every_n, int) or every_n < 1
    ):
        out.append(_problem(f"{where}.config.every_messages", "must be a whole number >= 1"))
    if every_t is not None and (
        isinstance(every_t, bool) or not isinstance(every_t, (int, float)) or every_t <= 0
    ):
        out.append(_problem(f"{where}.config.every_seconds", "must be a number of seconds > 0"))
    return out
