"""Wakes the watch loop as soon as a watched folder gets a finished file (inotify on Linux,
through watchdog), instead of at the trigger's next poll.

Only events that mean a file is complete wake it: closed after writing, moved or renamed
in, deleted. A file still being written (created, modified) does not, so a run never starts
on half a file that a later event would then trigger again. The event only makes the
trigger look now: its content-hash snapshot still decides what changed, and the poll stays
as the safety net (a backend without close events, a folder made after arming, a network
file system that sends no events).
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class FolderEvents:
    """One observer thread for the folders of a project's `new_data` triggers."""

    def __init__(self, on_change: Callable[[str], None]) -> None:
        self.on_change = on_change  # called with the trigger id, on the observer's thread
        self._observer: Any = None

    def watch(self, trigger_id: str, path: Path, pattern: str, recursive: bool) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # the poll alone still finds every change
            return
        single = path if path.is_file() else None
        folder = path.parent if single is not None else path
        if not folder.is_dir():
            return
        on_change = self.on_change

        class Handler(FileSystemEventHandler):
            def _touch(self, *paths: str) -> None:
                for raw in paths:
                    if not raw:
                        continue
                    target = Path(raw)
                    wanted = (
                        target == single
                        if single is not None
                        else fnmatch.fnmatch(target.name, pattern)
                    )
                    if wanted:
                        on_change(trigger_id)
                        return

            def on_closed(self, event: Any) -> None:
                self._touch(str(event.src_path))

            def on_moved(self, event: Any) -> None:
                self._touch(str(event.dest_path), str(event.src_path))

            def on_deleted(self, event: Any) -> None:
                self._touch(str(event.src_path))

        try:
            if self._observer is None:
                self._observer = Observer()
                self._observer.daemon = True
                self._observer.start()
            self._observer.schedule(Handler(), str(folder), recursive=recursive and not single)
        except OSError as exc:  # no inotify watches left: the poll finds the changes
            log.warning("folder %s is polled only: %s", folder, exc)

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
