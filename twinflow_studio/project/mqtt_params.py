"""The `mqtt` node kind's parameters and the `mqtt` trigger's config, checked as plain data.

Credentials never live in a project: ``username`` may be a literal or ``{"from_env": NAME}``,
``password`` only ``{"from_env": NAME}`` (the host environment variable, read when the
ingest connects). The ingest itself is ``twinflow_studio.twinstat.mqtt_ingest``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from twinflow_studio.project.kinds import NodeKind, ParamSpec, PortSpec, register_kind

FROM_ENV = "from_env"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")
COLUMN_TYPES = ("float", "int", "str", "bool")
RESERVED_COLUMNS = ("topic",)
# A column name becomes a Parquet field; keep it plain.
COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

MQTT = register_kind(
    NodeKind(
        name="mqtt",
        label="MQTT source",
        category="Data",
        doc=(
            "Messages of MQTT topics (wildcards allowed), stored durably in the project's "
            ".twinflow/mqtt/<node>/ table while the twin is live (--watch, the studio's live "
            "mode); the node outputs a window of it (last N rows or last T seconds) as a "
            "dataframe. JSON payloads are mapped to columns by 'columns'; numeric payloads "
            "give one column. See docs/mqtt.md."
        ),
        params=(
            ParamSpec(
                "broker",
                "str",
                required=True,
                doc="mqtt://host:port or mqtts://host:port",
                example="mqtt://127.0.0.1:1883",
            ),
            ParamSpec(
                "topics",
                "list",
                required=True,
                doc="Topic filters; + and # allowed",
                example=["plant/+/temp"],
            ),
            ParamSpec("payload", "str", default="json", choices=("json", "number")),
            ParamSpec(
                "columns",
                "dict",
                default={},
                doc="column -> JSON field path ('a.b') or {field, type}; type float (default), "
                "int, str or bool. For numeric payloads: one column name (default 'value')",
            ),
            ParamSpec(
                "topic_levels",
                "dict",
                default={},
                doc="column -> topic level index (0-based), e.g. {'device': 1} for plant/+/temp",
            ),
            ParamSpec(
                "timestamp",
                "str",
                default="received",
                doc="'received' (when the message arrived) or the JSON field path of the time "
                "(epoch seconds or milliseconds, or ISO 8601)",
            ),
            ParamSpec("time_column", "str", default="time", doc="Name of the timestamp column"),
            ParamSpec("window_rows", "int", default=0, doc="Output the last N rows (0: no limit)"),
            ParamSpec(
                "window_seconds", "float", default=0.0, doc="Output the last T seconds (0: all)"
            ),
            ParamSpec("qos", "int", default=1, choices=(1, 2)),
            ParamSpec("client_id", "str", default="", doc="Fixed client id (persistent session)"),
            ParamSpec(
                "tls",
                "dict",
                default={},
                doc="{ca, cert, key}: file paths (project-relative or absolute), as AWS IoT Core "
                "issues them",
            ),
            ParamSpec("username", "any", default=None, doc='A name or {"from_env": "NAME"}'),
            ParamSpec("password", "any", default=None, doc='{"from_env": "NAME"} only'),
            ParamSpec("keepalive", "int", default=30, doc="Seconds"),
            ParamSpec(
                "batch_ms",
                "int",
                default=20,
                doc="Longest wait before a batch is stored and acknowledged (milliseconds)",
            ),
            ParamSpec(
                "catch_up_s",
                "float",
                default=10.0,
                doc="A run without --watch first takes what the broker kept, for at most "
                "this long (0: off)",
            ),
            ParamSpec(
                "compact_every_s",
                "float",
                default=60.0,
                doc="Merge the table's small parts this often while live (0: never)",
            ),
        ),
        outputs=(PortSpec("data", "dataframe"),),
        target_kinds=("inprocess",),
        executor="twinflow_studio.twinstat.mqtt_node:run_mqtt_source",
        # Its window changes without its parameters changing: never served from the cache
        # (downstream nodes still are, when the window's bytes did not change).
        tags=("volatile",),
    )
)


def env_ref(value: Any) -> str | None:
    """NAME when ``value`` is ``{"from_env": "NAME"}``."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get(FROM_ENV), str):
        return str(value[FROM_ENV])
    return None


def broker_address(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of an ``mqtt://`` or ``mqtts://`` URL; ValueError when malformed."""
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"must be mqtt://host:port or mqtts://host:port, found {url!r}")
    tls = parsed.scheme in ("mqtts", "ssl")
    try:
        port = parsed.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    if not parsed.hostname:
        raise ValueError(f"no host in {url!r}")
    if parsed.username or parsed.password:
        raise ValueError("credentials do not belong in the URL; use username/password from_env")
    return parsed.hostname, port, tls


def topic_filter_problem(topic: Any) -> str | None:
    if not isinstance(topic, str) or not topic:
        return "must be a non-empty string"
    if len(topic.encode()) > 65535 or "\0" in topic:
        return "is not a valid topic filter"
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be a whole last level"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def column_specs(columns: Any, payload: str) -> dict[str, tuple[str, str]]:
    """column -> (JSON field path, type); ValueError naming the bad entry."""
    if payload == "number":
        if not columns:
            return {"value": ("", "float")}
        if len(columns) != 1:
            raise ValueError("a numeric payload gives one column; name exactly one")
    out: dict[str, tuple[str, str]] = {}
    for name, spec in (columns or {}).items():
        if not COLUMN_NAME.fullmatch(str(name)) or name in RESERVED_COLUMNS:
            raise ValueError(f"{name!r}: a column name is letters, digits and '_', not 'topic'")
        if isinstance(spec, str):
            field, kind = spec, "float"
        elif isinstance(spec, dict) and set(spec) <= {"field", "type"}:
            field, kind = spec.get("field", name), spec.get("type", "float")
        else:
            raise ValueError(f"{name!r}: expected a field path or {{field, type}}")
        if not isinstance(field, str) or (payload == "json" and not field):
            raise ValueError(f"{name!r}: the field path must be a non-empty string")
        if kind not in COLUMN_TYPES:
            raise ValueError(f"{name!r}: type must be one of {', '.join(COLUMN_TYPES)}")
        out[str(name)] = (field if payload == "json" else "", kind)
    return out


def mqtt_param_problems(params: dict[str, Any]) -> list[tuple[str, str]]:
    """(parameter, message) for each problem in an mqtt node's parameters."""
    out: list[tuple[str, str]] = []
    broker = params.get("broker")
    if isinstance(broker, str) and broker:
        try:
            broker_address(broker)
        except ValueError as exc:
            out.append(("broker", str(exc)))
    topics = params.get("topics")
    if isinstance(topics, list):
        if not topics:
            out.append(("topics", "name at least one topic filter"))
        for i, topic in enumerate(topics):
            problem = topic_filter_problem(topic)
            if problem:
                out.append((f"topics[{i}]", problem))
    payload = params.get("payload", "json")
    try:
        names = column_specs(params.get("columns") or {}, str(payload))
    except (ValueError, TypeError, AttributeError) as exc:
        out.append(("columns", str(exc)))
        names = None
    if payload == "json" and names == {} and isinstance(params.get("columns"), dict):
        out.append(("columns", "map at least one column to a JSON field"))
    names = names or {}
    time_column = params.get("time_column", "time")
    if not isinstance(time_column, str) or not COLUMN_NAME.fullmatch(time_column):
        out.append(("time_column", "must be letters, digits and '_'"))
    levels = params.get("topic_levels") or {}
    if isinstance(levels, dict):
        for name, index in levels.items():
            if not COLUMN_NAME.fullmatch(str(name)) or name in names or name == time_column:
                out.append((f"topic_levels.{name}", "must be a new column name"))
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                out.append((f"topic_levels.{name}", "must be a level index >= 0"))
    if time_column in names:
        out.append(("time_column", f"{time_column!r} is also a mapped column"))
    timestamp = params.get("timestamp", "received")
    if not isinstance(timestamp, str) or not timestamp:
        out.append(("timestamp", "'received' or a JSON field path"))
    elif timestamp != "received" and payload == "number":
        out.append(("timestamp", "a numeric payload has no fields; use 'received'"))
    for key in ("window_rows", "window_seconds", "compact_every_s", "catch_up_s"):
        value = params.get(key, 0)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            out.append((key, "must be >= 0"))
    batch_ms = params.get("batch_ms", 20)
    if isinstance(batch_ms, int) and not 1 <= batch_ms <= 60_000:
        out.append(("batch_ms", "must be from 1 to 60000 milliseconds"))
    tls = params.get("tls") or {}
    if isinstance(tls, dict):
        unknown = sorted(set(tls) - {"ca", "cert", "key"})
        if unknown:
            out.append(("tls", f"unknown key(s) {unknown}; expected ca, cert, key"))
        for key in ("ca", "cert", "key"):
            if key in tls and not (isinstance(tls[key], str) and tls[key]):
                out.append((f"tls.{key}", "must be a file path"))
        if bool(tls.get("cert")) != bool(tls.get("key")):
            out.append(("tls", "a client certificate needs both 'cert' and 'key'"))
    username = params.get("username")
    if username is not None and not isinstance(username, str) and env_ref(username) is None:
        out.append(("username", 'a string or {"from_env": "NAME"}'))
    password = params.get("password")
    if password is not None:
        name = env_ref(password)
        if name is None:
            out.append(
                (
                    "password",
                    "a project must not hold secrets (the .twin, run snapshots and lineage "
                    'keep it): give {"from_env": "NAME"} and set NAME where the twin runs',
                )
            )
        elif not ENV_NAME.fullmatch(name):
            out.append(("password", f"{name!r} is not an environment variable name"))
    client_id = params.get("client_id", "")
    if isinstance(client_id, str) and len(client_id.encode()) > 256:
        out.append(("client_id", "at most 256 bytes"))
    return out
