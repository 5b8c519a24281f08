"""A full disk during a run: the node and the run end with a clear message and no traceback,
partial files are removed, ``run.json`` is written, lineage records are kept in the outbox and
reach the graph when space returns; the next run works. On a real (tmpfs) filesystem of 2 MiB
holding the project, its run store and its lineage."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from lineage_sec_helpers import chain_project, cli, run_summaries

from twinflow_studio.lineage import open_lineage

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (mounting needs root: CI runs the tests as root)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    reason = ""
    if os.geteuid() != 0:
        reason = "mounting a small tmpfs needs root (CI runs the tests as root)"
    else:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            reason = f"cannot mount a tmpfs (a container without CAP_SYS_ADMIN?): {done.stderr}"
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """Takes every free byte of ``disk`` with one file; returns it."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            while True:
                try:
                    handle.write(b"z" * size)
                except OSError:
                    break
    assert os.statvfs(disk).f_bavail == 0
    return filler


def _leftovers(project_dir: Path) -> list[str]:
    """Partial files a failed write could leave: temporaries and half-written outputs."""
    found = [str(p) for p in project_dir.rglob("*") if p.name.endswith(".tmp")]
    found += [str(p) for p in project_dir.rglob("bulk-*.json")]
    return sorted(found)


def test_a_full_disk_ends_the_run_cleanly_and_nothing_is_lost(small_disk: Path) -> None:
    project_dir = small_disk / "proj"
    twin = chain_project(project_dir, "full", size=1000, length=3)
    first = cli("--run", str(twin), "--json")
    assert first.returncode == 0, first.stderr

    filler = _fill(small_disk)
    big = ["--param", 'n0.kwargs={"size": 600000}']
    full = cli("--run", str(twin), "--json", "--no-cache", *big)
    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stderr, full.stderr
    assert "No space left on device" in full.stderr
    assert "the disk holding the run folder is full" in full.stderr
    summary = json.loads(full.stdout)
    failed_id = summary["run_id"]
    assert summary["status"] == "failed"
    assert summary["nodes"]["n0"]["state"] == "failed"
    assert {summary["nodes"][n]["state"] for n in ("n1", "n2")} == {"skipped"}
    # run.json is on disk (written over its reserve if need be) and says the same.
    on_disk = run_summaries(project_dir)[failed_id]
    assert on_disk["status"] == "failed" and "No space left" in on_disk["failed"][0]["error"]
    # No half-written output, temporary or lock is left to get in the next run's way.
    failed_dir = project_dir / ".twinflow" / "runs" / failed_id
    assert not list((failed_dir / "n0").glob("attempt-*"))
    assert not list((project_dir / ".twinflow" / "running").iterdir())
    assert _leftovers(project_dir) == []
    outbox = project_dir / ".twinflow" / "lineage" / "outbox" / "outbox.jsonl"
    lines = outbox.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])

    filler.unlink()  # space returns
    again = cli("--run", str(twin), "--json", *big)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    again_id = json.loads(again.stdout)["run_id"]
    assert _leftovers(project_dir) == []

    with open_lineage(project_dir, None) as store:
        assert store.flush(60), store.last_error
        runs = {r["run_id"]: r for r in store.queries.runs("full")}
        assert len(runs) == 3
        assert runs[failed_id]["status"] == "failed"
        assert runs[again_id]["status"] == "succeeded"
        tasks = {t["node_id"]: t for t in store.queries.task_runs(failed_id)}
        assert tasks["n0"]["status"] == "failed" and "No space left" in tasks["n0"]["error"]
        assert {tasks["n1"]["status"], tasks["n2"]["status"]} == {"skipped"}
        assert len(store.queries.task_runs(again_id)) == 3
        assert not store.outbox.rejected_path.exists()


def test_a_disk_full_before_the_run_starts_fails_its_nodes_with_the_reason(
    small_disk: Path,
) -> None:
    """Not even the run folder fits: the run store's reserve is given up for the run's own
    records, and the run fails with the reason instead of a traceback."""
    project_dir = small_disk / "proj"
    twin = chain_project(project_dir, "tight", size=1000, length=2)
    assert cli("--run", str(twin)).returncode == 0  # makes the reserves
    _fill(small_disk)
    done = cli("--run", str(twin), "--json", "--no-cache", "--param", 'n0.kwargs={"size": 900000}')
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "failed"
    assert "No space left on device" in done.stderr
    assert run_summaries(project_dir)[summary["run_id"]]["status"] == "failed"
    assert _leftovers(project_dir) == []
