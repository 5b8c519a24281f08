"""Autosave and crash recovery: unsaved work is written aside every few seconds and offered
back on the next start if the studio did not close cleanly."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from twinflow_studio.project import Project, TwinFileError, dumps, loads


def studio_home() -> Path:
    """Where the studio keeps settings and autosaves (TWINFLOW_STUDIO_HOME overrides)."""
    env = os.environ.get("TWINFLOW_STUDIO_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "twinflow-studio"


@dataclass
class Recovery:
    project: Project
    original: Path | None
    saved_at: float
    file: Path


class Autosaver:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = (folder or studio_home()) / "autosave"

    def _key(self, original: Path | None) -> str:
        raw = str(original.resolve()) if original else "untitled"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def write(self, project: Project, original: Path | None) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        key = self._key(original)
        data = {
            "original": str(original) if original else None,
            "saved_at": time.time(),
            "document": dumps(project),
        }
        target = self.folder / f"{key}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, target)
        return target

    def discard(self, original: Path | None) -> None:
        (self.folder / f"{self._key(original)}.json").unlink(missing_ok=True)

    def pending_for(self, original: Path | None) -> Recovery | None:
        """The autosave of ``original`` (of the untitled project for None), if any."""
        file = self.folder / f"{self._key(original)}.json"
        return next((r for r in self.pending() if r.file == file), None)

    def pending(self) -> list[Recovery]:
        """Autosaves left by a studio that did not close cleanly; unreadable ones are kept
        on disk (renamed .bad) rather than deleted, so nothing is lost."""
        found = []
        if not self.folder.is_dir():
            return found
        for file in sorted(self.folder.glob("*.json")):
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
                project = loads(data["document"], file=str(file))
            except (ValueError, KeyError, TypeError, TwinFileError):
                file.rename(file.with_suffix(".bad"))
                continue
            original = Path(data["original"]) if data.get("original") else None
            found.append(Recovery(project, original, float(data.get("saved_at", 0)), file))
        return found
