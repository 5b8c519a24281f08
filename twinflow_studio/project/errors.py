"""Errors of the project layer, each naming the file and the place in it."""

from __future__ import annotations

from dataclasses import dataclass


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
        return f"{prefix}{self.path}: {self.message}"


class TwinFileError(Exception):
    """A `.twin` file that cannot be read: names the file and where in it."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.detail = message


class ValidationError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the project has {len(problems)} problem(s):\n{lines}")
        self.problems = problems
