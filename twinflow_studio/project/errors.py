"""Errors of the project layer, each naming the file and the place in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# C0 and C1 controls (and DEL): a file's text must not move the cursor, clear a terminal or
# start a new line that looks like a message of ours when an error quotes it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str, keep: str = "") -> str:
    """``text`` with control characters (but those in ``keep``) written as escapes."""

    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        return char if char in keep else repr(char)[1:-1]

    return _CONTROL.sub(escape, text)


def json_type(value: Any) -> str:
    """What a JSON value is, for a message: "found the number 3", "found a list"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


class TwinFlowError(Exception):
    """The root of every error TwinFlow Studio raises on purpose (validation, placement,
    engine, targets, lineage, TwinStat): ``except TwinFlowError`` catches ours and nothing
    else. Subclasses keep a built-in base where callers catch that (``ValueError``)."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: which node (if any), which field, and what is wrong.
    A ``warning`` does not stop a run (e.g. a folder a trigger will watch is not there yet)."""

    path: str
    message: str
    node_id: str | None = None
    code: str = "invalid"
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return printable(f"{prefix}{self.path}: {self.message}")


class TwinFileError(TwinFlowError):
    """A `.twin` file that cannot be read: names the file and where in it."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(printable(f"{file}: {message}"))
        self.file = file
        self.detail = message


class ValidationError(TwinFlowError):
    def __init__(self, problems: list[Problem]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the project has {len(problems)} problem(s):\n{lines}")
        self.problems = problems
