"""Canonical JSON and content hashes: the same semantics always give the same digest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20
# The encoder json.dumps would build, built once: with these arguments dumps makes a new one
# per call, a third of the cost of hashing a small value (a node's cache key, every node of
# every run). An encoder keeps no state between calls, so one serves every thread.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The C encoder that ``_CANONICAL.encode`` builds on every call, built once and called
# directly: the same text (it is the same encoder with the same arguments) for a third less
# time on a node's cache key. It skips the check for circular references, so a cycle is
# encoded again through ``_CANONICAL`` to raise the usual ValueError.
_make_c = getattr(json.encoder, "c_make_encoder", None)
_FAST = (
    _make_c(
        None, _CANONICAL.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )
    if _make_c is not None
    else None
)


def canonical_json(value: Any) -> str:
    if _FAST is None:
        return _CANONICAL.encode(value)
    try:
        return "".join(_FAST(value, 0))
    except RecursionError:
        return _CANONICAL.encode(value)


def hash_value(value: Any) -> str:
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
