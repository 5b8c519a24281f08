"""The one grammar for node ids and port names.

Both end up as path components (``runs/<run>/<node>/outputs/<port>``), container mount
points (``/twinflow/inputs/<port>``), command placeholders and ``--param NODE.KEY``, so the
grammar is the intersection of what is safe in all of them: an ASCII letter or ``_`` first,
then up to 63 letters, digits, ``_`` or ``-``. No ``.`` (``..`` and ``NODE.KEY`` ambiguity),
no ``/`` or ``\\``, no spaces, nothing a shell or a file system treats specially.
"""

from __future__ import annotations

import re

IDENTIFIER_PATTERN = r"[A-Za-z_][A-Za-z0-9_-]{0,63}"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
GRAMMAR_TEXT = (
    "must start with a letter or '_' and hold only letters, digits, '_' or '-' "
    "(at most 64 characters)"
)


def is_identifier(value: object) -> bool:
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def identifier_problem(value: object) -> str | None:
    """Why ``value`` is not a valid node id or port name (None when it is)."""
    if is_identifier(value):
        return None
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return f"{shown} {GRAMMAR_TEXT}"


def unique_id(base: str, taken: set[str]) -> str:
    """``base``, or ``<base>_<n>`` with the smallest n >= 2 not in ``taken``; always an
    identifier (a base that is not one becomes ``node``)."""
    # Short enough that "_<n>" keeps it within the identifier grammar's 64 characters.
    base = base if is_identifier(base) else "node"
    stem = (base.rstrip("0123456789").rstrip("_") or "node")[:56]
    if base not in taken:
        return base
    i = 2
    while f"{stem}_{i}" in taken:
        i += 1
    return f"{stem}_{i}"
