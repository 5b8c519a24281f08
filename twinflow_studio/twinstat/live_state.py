"""What a living twin keeps in the project's ``.twinflow/`` so it survives restarts, and the
file-drop channel for manual triggers.

- ``.twinflow/live/state.json``: per trigger, the files (or S3 objects) already seen and the
  wall-clock time of its next scheduled fire. A restarted ``--watch`` (or live studio) starts
  from it: files that arrived while it was down fire once, files it had already handled do
  not, a schedule keeps its rhythm.
- ``.twinflow/live/fire/*.json``: requests to fire a manual trigger (``twinflow-studio --fire
  TRIGGER PROJECT`` writes one). They are the live queue: a request is removed only after its
  run ended, so a process killed mid-run runs it again on restart.

A trigger's saved state is used only when its spec is unchanged (by content hash), so editing
a trigger re-snapshots it instead of replaying a stale view.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from twinflow_studio.project.hashing import hash_value

LIVE_DIR = Path(".twinflow") / "live"


def live_dir(project_dir: Path) -> Path:
    return Path(project_dir) / LIVE_DIR


def spec_hash(spec: dict[str, Any]) -> str:
    return hash_value(spec)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class LiveState:
    """The persisted per-trigger state (seen files, next fire time) of one project."""

    def __init__(self, project_dir: Path) -> None:
        self.path = live_dir(project_dir) / "state.json"
        self.triggers: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}  # first start, or a torn file from a crash: start afresh
        if isinstance(data, dict) and isinstance(data.get("triggers"), dict):
            self.triggers = {str(k): v for k, v in data["triggers"].items() if isinstance(v, dict)}

    def restore(self, spec: dict[str, Any]) -> dict[str, Any] | None:
        saved = self.triggers.get(str(spec.get("id")))
        if saved and saved.get("spec_sha256") == spec_hash(spec):
            return saved
        return None

    def update(self, spec: dict[str, Any], **values: Any) -> None:
        entry = self.triggers.setdefault(str(spec["id"]), {})
        entry.update(values, spec_sha256=spec_hash(spec))

    def save(self) -> None:
        try:
            _write_atomic(self.path, json.dumps({"triggers": self.triggers}, sort_keys=True))
        except OSError:
            pass  # disk full: the twin goes on; at worst a restart re-fires one batch


def request_fire(project_dir: Path, trigger_id: str, reason: str = "requested") -> Path:
    """Queue a manual fire of ``trigger_id`` for a running watch/live studio to pick up."""
    folder = live_dir(project_dir) / "fire"
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
    body = {"trigger": trigger_id, "reason": reason, "requested_at": time.time()}
    path = folder / name
    _write_atomic(path, json.dumps(body))
    return path


def pending_fires(project_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Queued fire requests, oldest first; unreadable ones are dropped with the file."""
    folder = live_dir(project_dir) / "fire"
    out: list[tuple[Path, dict[str, Any]]] = []
    try:
        names = sorted(p for p in folder.iterdir() if p.suffix == ".json" and p.name[0] != ".")
    except OSError:
        return out
    for path in names:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(body, dict) or not isinstance(body.get("trigger"), str):
                raise ValueError("no trigger named")
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            continue
        out.append((path, body))
    return out
