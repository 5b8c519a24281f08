"""Canonical JSON and content hashes: the same semantics always give the same digest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson

_CHUNK = 1 << 20
# The encoder json.dumps would build, built once: with these arguments dumps makes a new one
# per call, a third of the cost of hashing a small value (a node's cache key, every node of
# every run). An encoder keeps no state between calls, so one serves every thread.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The C encoder that ``_CANONICAL.encode`` builds on every call, built once and called
# directly: the same text (it is the same encoder with the same arguments). It skips the
# check for circular references, so a cycle is encoded again through ``_CANONICAL`` to raise
# the usual ValueError.
_make_c = getattr(json.encoder, "c_make_encoder", None)
_FAST = (
    _make_c(
        None, _CANONICAL.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )
    if _make_c is not None
    else None
)
# orjson writes the same text as ``_CANONICAL`` five times faster for the values ``_plain``
# accepts (every project's snapshot and every node's cache key, each run): exact str, bool,
# None, 64-bit ints, floats that Python writes without an exponent, and dicts with str keys
# and lists of those. Python writes ``1e-05`` and ``1e+16``; orjson writes ``0.00001`` and
# ``1e16`` or ``1e+16`` depending on its version, and NaN as ``null``. Anything else takes
# the standard library's path, so the text never depends on the path.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)


def _plain(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
        for key in value:
            if type(key) is not str:
                return False
    elif kind is list or kind is tuple:
        items = value
    else:
        return _plain_scalar(value)
    # Scalars are checked here rather than by a call each: this walk is most of the cost of
    # the fast path.
    for item in items:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is float:
            if not (item == 0.0 or 1e-4 <= abs(item) < 1e16):
                return False
        elif kind is int:
            if not -(1 << 63) <= item < 1 << 64:
                return False
        elif not _plain(item):
            return False
    return True


def _plain_scalar(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -(1 << 63) <= value < 1 << 64
    if kind is float:
        # False for NaN and the infinities too: every comparison with NaN is.
        return value == 0.0 or 1e-4 <= abs(value) < 1e16
    return False


def _orjson_text(value: Any) -> bytes | None:
    """orjson's UTF-8 text of ``value`` when it is the canonical text, else None."""
    try:
        if _plain(value):
            return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, RecursionError, UnicodeError):
        pass  # a lone surrogate, or nesting deeper than orjson's limit: json says what's wrong
    return None


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII as is: ``json.dumps`` with those arguments."""
    text = _orjson_text(value)
    if text is not None:
        return text.decode()
    if _FAST is None:
        return _CANONICAL.encode(value)
    try:
        return "".join(_FAST(value, 0))
    except RecursionError:
        return _CANONICAL.encode(value)


def hash_value(value: Any) -> str:
    # orjson's bytes are hashed as they are: the same bytes hash_text would encode.
    text = _orjson_text(value)
    if text is not None:
        return hashlib.sha256(text).hexdigest()
    return hash_text(canonical_json(value))


def hash_text(text: str) -> str:
    """The digest of text already in canonical form (``hash_value`` of what it encodes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_tree(path: Path) -> str:
    """A directory's hash covers its relative file names and their contents, not mtimes."""
    digest = hashlib.sha256()
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = child.relative_to(path).as_posix()
        digest.update(rel.encode("utf-8") + b"\0" + hash_file(child).encode("ascii") + b"\n")
    return digest.hexdigest()


def hash_path(path: Path) -> str:
    return hash_tree(path) if path.is_dir() else hash_file(path)


def path_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
