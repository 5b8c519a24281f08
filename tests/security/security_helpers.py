"""Sentinels on the host, and the checks every attack test ends with."""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinflow_studio.engine import Engine, RunResult
from twinflow_studio.project import Node, Port, Project

SECRET = b"HOST-SENTINEL-7f3a9c-do-not-leak"


@dataclass
class Host:
    """``root/host`` holds a secret file and a folder; ``root/project`` is the project."""

    root: Path
    before: dict[str, tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def plant(cls, root: Path) -> Host:
        host = root / "host"
        (host / "folder").mkdir(parents=True)
        (host / "secret.txt").write_bytes(SECRET)
        (host / "folder" / "inner.txt").write_bytes(SECRET + b"-inner")
        (root / "project").mkdir()
        planted = cls(root)
        planted.before = planted.snapshot()
        return planted

    @property
    def secret(self) -> Path:
        return self.root / "host" / "secret.txt"

    @property
    def folder(self) -> Path:
        return self.root / "host" / "folder"

    @property
    def project(self) -> Path:
        return self.root / "project"

    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Everything outside the project's run store: path -> (mode, content hash)."""
        found: dict[str, tuple[int, str]] = {}
        for folder, dirs, files in os.walk(self.root):
            if Path(folder) == self.project:
                dirs[:] = [d for d in dirs if d != ".twinflow"]
            for name in dirs + files:
                path = Path(folder, name)
                info = path.lstat()
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
                found[str(path.relative_to(self.root))] = (info.st_mode, digest)
        return found

    def assert_untouched(self) -> None:
        """Nothing outside the run store was written, created or deleted..."""
        assert self.snapshot() == self.before
        # ... and no host content was read into the run store.
        self.assert_not_leaked()

    def assert_not_leaked(self) -> None:
        store = self.project / ".twinflow"
        for folder, _dirs, files in os.walk(store):
            for name in files:
                path = Path(folder, name)
                if path.is_file() and not path.is_symlink():
                    assert SECRET not in path.read_bytes(), f"host content leaked into {path}"


def container(node_id: str, image: str, script: str, outputs: tuple = (), **params: Any) -> Node:
    return Node(
        node_id,
        "container",
        params={"image": image, "command": ["python3", "-c", script], **params},
        outputs=[Port(n, t) for n, t in outputs],
    )


def run(project: Project, folder: Path, events: list | None = None) -> RunResult:
    engine = Engine([events.append] if events is not None else [])
    return asyncio.run(engine.run(project, project_dir=folder))


def run_log(result: RunResult, node_id: str) -> str:
    return (result.run_dir / node_id / "log.txt").read_text()


def leftovers(result: RunResult, node_id: str) -> list[Path]:
    """What the attempt folders still hold besides the log: only checked outputs may stay."""
    found = []
    for attempt in (result.run_dir / node_id).glob("attempt-*"):
        found += [
            p for p in attempt.rglob("*") if p.is_symlink() or not (p.is_file() or p.is_dir())
        ]
    return found
