"""Turning a batch of MQTT messages into a table of the source's columns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from twinflow_studio.project.mqtt_params import column_specs


@dataclass(frozen=True)
class Received:
    """One message as the network thread hands it over (cheap to make)."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    dup: bool
    recv_ns: int


def message_key(topic: str, payload: bytes) -> bytes:
    return hashlib.blake2b(topic.encode() + b"\0" + payload, digest_size=16).digest()


def _lookup(obj: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _convert(value: Any, kind: str) -> Any:
    if value is None:
        return None
    try:
        if kind == "float":
            return None if isinstance(value, bool) else float(value)
        if kind == "int":
            return None if isinstance(value, bool) else int(value)
        if kind == "bool":
            return value if isinstance(value, bool) else None
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    except (TypeError, ValueError, OverflowError):
        return None


def _time_ns(value: Any) -> int | None:
    """Epoch seconds or milliseconds (by magnitude), or an ISO 8601 text, as ns."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000.0 if abs(value) > 1e11 else float(value)
        return int(seconds * 1e9)
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return int(stamp.timestamp() * 1e9)
    return None


_ARROW_TYPES = {"float": "float64", "int": "int64", "str": "string", "bool": "bool_"}


class Decoder:
    """Maps payloads to columns as an mqtt node's parameters say. Bad payloads keep their row
    (topic, time) with empty values and are counted, never raised: a broker redelivers what
    is not acknowledged, so a poison message must still be stored and acknowledged."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.payload = str(params.get("payload", "json"))
        self.columns = column_specs(params.get("columns") or {}, self.payload)
        self.paths = {name: field.split(".") for name, (field, _) in self.columns.items()}
        self.levels = {str(k): int(v) for k, v in (params.get("topic_levels") or {}).items()}
        stamp = str(params.get("timestamp", "received"))
        self.stamp_path = None if stamp == "received" else stamp.split(".")
        self.time_column = str(params.get("time_column", "time"))
        self.bad = 0

    def table(self, batch: list[Received]) -> Any:
        import pyarrow as pa

        values: dict[str, list[Any]] = {name: [] for name in self.columns}
        times: list[int] = []
        for msg in batch:
            stamp = None
            if self.payload == "number":
                try:
                    number: Any = float(msg.payload)
                except ValueError:
                    number, self.bad = None, self.bad + 1
                for name, (_, kind) in self.columns.items():
                    values[name].append(_convert(number, kind))
            else:
                try:
                    doc = orjson.loads(msg.payload)
                except orjson.JSONDecodeError:
                    doc, self.bad = None, self.bad + 1
                for name, (_, kind) in self.columns.items():
                    values[name].append(_convert(_lookup(doc, self.paths[name]), kind))
                if self.stamp_path is not None:
                    stamp = _time_ns(_lookup(doc, self.stamp_path))
            times.append(stamp if stamp is not None else msg.recv_ns)
        arrays: dict[str, Any] = {
            self.time_column: pa.array(times, pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
            "topic": pa.array([m.topic for m in batch], pa.string()),
        }
        for name, (_, kind) in self.columns.items():
            arrays[name] = pa.array(values[name], getattr(pa, _ARROW_TYPES[kind])())
        if self.levels:
            split = [m.topic.split("/") for m in batch]
            for name, index in self.levels.items():
                arrays[name] = pa.array(
                    [parts[index] if index < len(parts) else None for parts in split], pa.string()
                )
        arrays["_recv_ns"] = pa.array([m.recv_ns for m in batch], pa.int64())
        arrays["_mid"] = pa.array([m.mid for m in batch], pa.int32())
        arrays["_key"] = pa.array([message_key(m.topic, m.payload) for m in batch], pa.binary(16))
        return pa.table(arrays)

    def empty(self) -> Any:
        return self.table([]).to_pandas().drop(columns=["_recv_ns", "_mid", "_key"])
