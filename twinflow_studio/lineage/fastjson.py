"""JSON for the lineage hot paths (outbox lines, bulk GraphSON): orjson when installed, which is
about ten times faster than the standard library here, else ``json`` (equivalent text).

orjson refuses integers beyond 64 bits and non-string keys; those values fall back to the
standard library. It would write a non-finite float as ``null``: lineage properties never hold
one (``schema.to_property`` leaves NaN and infinities out, as the script translator refuses
them), and JSON text inside ``*_json`` properties is written by ``json`` itself.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

orjson: ModuleType | None
try:
    import orjson
except ImportError:  # pragma: no cover - orjson is optional; the standard library does it all
    orjson = None


def _std_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value``."""
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:
            pass
    return _std_dumps(value)


def loads(data: bytes | str) -> Any:
    """The value of one JSON text; ``ValueError`` when it is not JSON."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # e.g. an integer beyond 64 bits, which the standard library reads
    return json.loads(data)
