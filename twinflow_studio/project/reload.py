"""A project kept in step with its files while it lives (``--run --watch``): the `.twin` file
and every part it references are re-read when their bytes change, and flattened again
under the same rules as at the start, so a changed part is used only once its pin says so.

Between changes the flattened project is reused as it is (nothing is read but the files'
bytes, to compare them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from twinflow_studio.project.errors import TwinFileError, TwinFlowError, ValidationError
from twinflow_studio.project.model import Project
from twinflow_studio.project.subgraphs import flatten


class ReloadError(TwinFlowError):
    """The project or a part changed on disk into something that cannot run (a part whose
    content no longer matches its pin, a file that no longer parses)."""


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class ProjectReloader:
    """The flattened project at ``path``: ``current()`` re-reads it when the file or one of
    the parts it references changed since it was last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.project_dir = path.resolve().parent
        self.files: list[Path] = [path]
        self.stamp: tuple[str | None, ...] = ()
        self.flat: Project | None = None
        self.error: ReloadError | None = None
        self.reloads = 0

    def _stamp(self) -> tuple[str | None, ...]:
        return tuple(_digest(p) for p in self.files)

    def current(self) -> Project:
        """The project as its files are now (a ``ReloadError`` saying what is wrong)."""
        stamp = self._stamp()
        if stamp != self.stamp or (self.flat is None and self.error is None):
            self._read()
        if self.error is not None:
            raise self.error
        assert self.flat is not None
        return self.flat

    def _read(self) -> None:
        from twinflow_studio.project.twinfile import load

        self.reloads += 1
        self.error = None
        parts: list[Path] = []
        try:
            self.flat = flatten(load(self.path), self.project_dir, parts)
        except (TwinFileError, ValidationError) as exc:
            self.error = ReloadError(f"{self.path}: {exc}")
        # What to compare next time: the project file and each part this reading used (one
        # that failed its pin check too, so that fixing it is seen).
        self.files = [self.path, *parts]
        self.stamp = self._stamp()
