"""Joining node ids and port names onto folders, refusing anything that would escape.

Validation already holds ids and port names to the identifier grammar before a run starts;
this is the second lock on the same door, for every place the engine turns a name into a
path: a project built in code, a changed validator or a future caller cannot make a run
write, read or delete outside its own folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.project.identifiers import identifier_problem, is_identifier

# A file suffix the store keeps on an artifact (".csv", ".parquet", ".npz"); others are dropped.
_SUFFIX = re.compile(r"\.[A-Za-z0-9_-]{1,16}")
# Run ids are made by the engine ("20261130T131500.123Z-1a2b3c4d") or given by a caller.
_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# What would make a joined name anything but a direct child: a separator (either kind,
# whatever the platform), a drive colon, NUL, or the whole name being "." or "..".
_NOT_A_LEAF = re.compile(r"[/\\:\x00]|\A\.\.?\Z")


class UnsafePathError(TaskFailed):
    """A name that is not a valid identifier, or a path that would leave its folder. It
    fails the node (no retry can fix it) rather than the run."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def child_path(folder: Path, name: str, suffix: str = "") -> Path:
    """``folder / (name + suffix)`` when ``name`` is a valid identifier and the result is
    a direct child of ``folder``; raises ``UnsafePathError`` otherwise."""
    return folder / _leaf(folder, name, suffix)


def attempt_dir(run_dir: Path, node_id: str, attempt: int) -> Path:
    """``run_dir / node_id / attempt-N``, with ``node_id`` held to ``child_path``'s rules.
    Every attempt of every node makes one: names already checked are appended without
    being parsed again where pathlib can (``_append``)."""
    leaf, attempt_leaf = _leaf(run_dir, node_id), f"attempt-{int(attempt)}"
    if _append is not None and isinstance(run_dir, Path):
        return _append(_append(run_dir, leaf), attempt_leaf)
    return run_dir.joinpath(leaf, attempt_leaf)


# How ``Path.iterdir`` makes a child from a name it knows is one path component: no parse.
# Public joins parse their arguments, which was most of a no-op node's attempt. Used only
# for names ``_leaf`` has passed (no separator, not "." or ".."); a Python without it joins
# the public way, and tests/security/test_identifiers.py holds both to ``run_dir / name``.
_append = getattr(Path, "_make_child_relpath", None)


def _leaf(folder: Path, name: str, suffix: str = "") -> str:
    if not is_identifier(name):
        problem = identifier_problem(name)
        raise UnsafePathError(f"refusing to use {problem} as a file name under {folder}")
    if suffix and not _SUFFIX.fullmatch(suffix):
        raise UnsafePathError(f"refusing the file suffix {suffix!r} under {folder}")
    leaf = f"{name}{suffix}"
    # The grammar already excludes separators and dots; checked again, because this function
    # is the last place a mistake elsewhere could be caught. On the string, not by comparing
    # the joined path's parent with ``folder``: that pathlib round trip cost more than the
    # rest of this function, on every node of every run. A leaf with no separator, drive
    # colon or NUL that is not "." or ".." is a direct child of any folder.
    if _NOT_A_LEAF.search(leaf):
        raise UnsafePathError(f"{folder}/{leaf} is not directly inside {folder}")
    return leaf


def run_path(folder: Path, run_id: str) -> Path:
    """``folder / run_id`` for a run id of letters, digits, '_', '-' and '.' (not only dots)."""
    if not _RUN_ID.fullmatch(run_id) or set(run_id) == {"."}:
        raise UnsafePathError(f"refusing the run id {run_id!r} as a folder name under {folder}")
    return folder / run_id


def safe_suffix(suffix: str) -> str:
    """``suffix`` when it is a plain file suffix, else nothing."""
    return suffix if _SUFFIX.fullmatch(suffix) else ""


def file_uri_path(uri: str) -> str:
    """The file-system path of a ``file://`` URI the run store wrote. ``Path.as_uri`` wrote it,
    percent-encoding everything after ``file://`` (no query or fragment can follow), so
    unquoting the rest is the whole parse, without urlparse's cost on hot paths."""
    return unquote(uri[len("file://") :])
