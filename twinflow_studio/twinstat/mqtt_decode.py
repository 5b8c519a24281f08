"""Turning a batch of MQTT messages into a table of the source's columns.

JSON batches are parsed in one call of Arrow's JSON reader (C++, about 1 us a message) with
an explicit schema made from the column mapping. Arrow is strict where the per-message path
(orjson) converts or blanks a value: a string where a number is mapped, a float for an int,
a payload that is not an object, a repeated key. Each of those makes the whole batch take
the per-message path, so both paths give the same table (tests/twinstat/test_mqtt_decode.py
compares them).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from twinflow_studio.project.mqtt_params import column_specs


class Received(NamedTuple):
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
            number = None if isinstance(value, bool) else int(value)
            # Beyond int64 no table can hold it: empty, like any value of the wrong kind.
            return number if number is None or -(2**63) <= number < 2**63 else None
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
        ns = seconds * 1e9
        return int(ns) if abs(ns) < _MAX_NS else None
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        ns = stamp.timestamp() * 1e9
        return int(ns) if abs(ns) < _MAX_NS else None
    return None


_ARROW_TYPES = {"float": "float64", "int": "int64", "str": "string", "bool": "bool_"}


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return getattr(pa, _ARROW_TYPES[kind])()


# Text Arrow's reader takes and orjson refuses (NaN, Infinity), a line break Arrow could
# split on, or an escaped surrogate (orjson refuses a lone one): the per-message path decides.
_UNSAFE = (b"NaN", b"Inf", b"\r", b"\\ud", b"\\uD")
# Epoch nanoseconds beyond this do not fit int64: the per-message path decides.
_MAX_NS = 9.2e18


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
        self._schema = self._json_schema()

    def _json_schema(self) -> Any:
        """Arrow schema of the mapped fields (nested as structs); None when the mapping
        cannot be one (a field both a value and a parent, or mapped with two types)."""
        if self.payload != "json":
            return None
        import pyarrow as pa

        leaves = [(self.paths[name], kind) for name, (_, kind) in self.columns.items()]
        if self.stamp_path is not None:
            leaves.append((self.stamp_path, "float"))
        tree: dict[str, Any] = {}
        for path, kind in leaves:
            node = tree
            for part in path[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    return None
                node = child
            if node.setdefault(path[-1], kind) != kind:
                return None

        def fields(node: dict[str, Any]) -> list[Any]:
            return [
                pa.field(k, pa.struct(fields(v)) if isinstance(v, dict) else _arrow_type(v))
                for k, v in node.items()
            ]

        return pa.schema(fields(tree))

    def _json_columns(self, batch: list[Received]) -> tuple[dict[str, Any], Any] | None:
        """The mapped columns and the times of a JSON batch, parsed by Arrow; None when the
        per-message path must decide (see the module's doc)."""
        if self._schema is None or not batch:
            return None
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.json as pj

        payloads = [m.payload for m in batch]
        # Each payload an object on its own line: one row each, or the counts differ.
        if not all(p[:1] == b"{" for p in payloads):
            return None
        blob = b"\n".join(payloads)
        if blob.count(b"\n") != len(batch) - 1 or any(mark in blob for mark in _UNSAFE):
            return None
        try:
            blob.decode()  # Arrow keeps bad UTF-8 that orjson refuses
            parsed = pj.read_json(
                pa.py_buffer(blob),
                read_options=pj.ReadOptions(use_threads=False),
                parse_options=pj.ParseOptions(
                    explicit_schema=self._schema, unexpected_field_behavior="ignore"
                ),
            )
        except (pa.ArrowException, ValueError):  # UnicodeDecodeError is a ValueError
            return None
        if parsed.num_rows != len(batch):
            return None

        def column(path: list[str]) -> Any:
            array = parsed.column(path[0]).combine_chunks()
            # struct_field honours a null parent ({"r": null} has no r.t).
            return pc.struct_field(array, path[1:]) if len(path) > 1 else array

        values = {name: column(self.paths[name]) for name in self.columns}
        times = np.fromiter((m.recv_ns for m in batch), np.int64, len(batch))
        if self.stamp_path is not None:
            stamp = column(self.stamp_path).to_numpy(zero_copy_only=False)
            seconds = np.where(np.abs(stamp) > 1e11, stamp / 1000.0, stamp)
            ns = seconds * 1e9
            given = ~np.isnan(ns)
            if (np.abs(ns[given]) >= _MAX_NS).any():
                return None
            times = np.where(given, np.nan_to_num(ns).astype(np.int64), times)
        return values, times

    def table(self, batch: list[Received]) -> Any:
        import pyarrow as pa

        fast = self._json_columns(batch)
        values, times = fast if fast is not None else self._python_columns(batch)
        arrays: dict[str, Any] = {
            self.time_column: pa.array(times, pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
            "topic": pa.array([m.topic for m in batch], pa.string()),
        }
        for name, (_, kind) in self.columns.items():
            arrays[name] = pa.array(values[name], _arrow_type(kind))
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

    def _python_columns(self, batch: list[Received]) -> tuple[dict[str, list[Any]], list[int]]:
        """One message at a time (orjson): what every value means, and the fallback."""
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
        return values, times

    def empty(self) -> Any:
        return self.table([]).to_pandas().drop(columns=["_recv_ns", "_mid", "_key"])
