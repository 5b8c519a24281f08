"""The run cache index: entries are queued, flushed on a worker thread while a run goes on,
readable at every moment, and never lost by a flush that fails."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from helpers import py, run

from twinflow_studio.engine import scheduler
from twinflow_studio.engine.events import ArtifactRef
from twinflow_studio.engine.store import CacheIndex
from twinflow_studio.project import Project


def ref(port: str) -> ArtifactRef:
    return ArtifactRef(port, "json", f"file:///tmp/{port}", "ab" * 32, 2, "file")


def test_an_entry_is_readable_queued_flushed_and_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    cache = CacheIndex(path)
    cache.put("k1", "a", "run-1", [ref("out")], {"rmse": 0.5})
    assert cache.queued == 1
    assert cache.get("k1") == ("run-1", [ref("out")], {"rmse": 0.5})
    cache.flush()
    assert cache.queued == 0
    assert cache.get("k1") == ("run-1", [ref("out")], {"rmse": 0.5})
    cache.close()
    again = CacheIndex(path)
    assert again.get("k1") == ("run-1", [ref("out")], {"rmse": 0.5})
    assert again.get("nope") is None
    assert again.latest_all() == {"a": ("run-1", [ref("out")])}
    again.close()


def test_entries_being_written_stay_readable_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    cache = CacheIndex(path)
    cache.put("k1", "a", "run-1", [ref("out")], {})
    # Another process holds the database's write lock: the flush waits for it.
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    flusher = threading.Thread(target=cache.flush)
    flusher.start()
    deadline = time.monotonic() + 10
    while cache.queued and time.monotonic() < deadline:  # the flush has taken the entry
        time.sleep(0.01)
    assert cache.queued == 0 and flusher.is_alive()
    assert cache.get("k1") == ("run-1", [ref("out")], {})
    assert cache.latest_all() == {"a": ("run-1", [ref("out")])}
    # The flush cannot end before the other connection lets go, which is only below: had
    # the reads waited for it, they would have returned after it gave up.
    assert flusher.is_alive()
    other.execute("COMMIT")
    other.close()
    flusher.join(10)
    assert not flusher.is_alive()
    assert cache.get("k1") == ("run-1", [ref("out")], {})
    assert cache.queued == 0  # written, not queued again
    cache.close()


def test_a_failed_flush_queues_its_entries_again_behind_newer_ones(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    cache = CacheIndex(path)
    with sqlite3.connect(path) as db:  # every write is refused, as on a full disk
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON cache BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
    cache.put("k1", "a", "run-1", [ref("old")], {})
    cache.flush()
    assert cache.queued == 1
    assert cache.get("k1") == ("run-1", [ref("old")], {})
    cache.put("k2", "a", "run-2", [ref("new")], {})  # node a again, in a later run
    assert cache.latest_all() == {"a": ("run-2", [ref("new")])}
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER refuse")
    cache.flush()
    assert cache.queued == 0
    cache.close()
    again = CacheIndex(path)
    assert again.get("k1") == ("run-1", [ref("old")], {})
    assert again.latest_all() == {"a": ("run-2", [ref("new")])}
    again.close()


def test_a_long_run_flushes_while_it_runs_and_loses_no_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More nodes than one batch: flushes run on a worker thread during the run; every
    node's entry is there afterwards (the second run is served from the cache)."""
    count = scheduler.CACHE_FLUSH_ENTRIES * 2 + 17
    project = Project("many")
    for i in range(count):
        project.add_node(py(f"n{i}", "const", value=i))
    flushes: list[str] = []
    original = CacheIndex.flush

    def counted(self: CacheIndex) -> None:
        flushes.append(threading.current_thread().name)
        original(self)

    monkeypatch.setattr(CacheIndex, "flush", counted)
    first = run(project, tmp_path)
    monkeypatch.undo()
    assert first.ok
    assert len(flushes) >= 3  # two batches during the run, the rest at its end
    assert threading.main_thread().name not in flushes[:-1]
    second = run(project, tmp_path)
    assert second.summary["counts"] == {"cached": count}
