"""Two processes on one project (two CLI runs at once; the same holds for the studio beside a
CLI) both record lineage, in order, without loss: one process delivers the shared outbox, the
other appends to it and hands over when the first lets go."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from lineage_sec_helpers import chain_project, cli_command, cli_env, run_summaries

from twinflow_studio.lineage import open_lineage

NODES = 6


def _start(twin: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command("--run", str(twin), "--json", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )


def test_two_concurrent_cli_runs_both_record_complete_lineage(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    twin = chain_project(tmp_path / "proj", "shared", delay=120, gate=str(gate), length=NODES)
    first = _start(twin)
    # The second one starts while the first holds the lineage graph, with other parameters
    # so that nothing is served from the first one's cache.
    _wait_for_runs(twin.parent, 1)
    second = _start(twin, "--param", f'n0.kwargs={{"delay": 120, "gate": "{gate}", "size": 7}}')
    _wait_for_runs(twin.parent, 2)
    gate.write_text("go")  # both are running now: let them finish together
    outputs = [proc.communicate(timeout=300) for proc in (first, second)]
    for proc, (_, err) in zip((first, second), outputs, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "not recorded" not in err, err
    run_ids = [json.loads(out)["run_id"] for out, _ in outputs]

    with open_lineage(twin.parent, None) as store:
        assert store.flush(60), store.last_error
        runs = {r["run_id"]: r for r in store.queries.runs("shared")}
        assert sorted(runs) == sorted(run_ids)
        for run_id in run_ids:
            # "succeeded", not "running": the run's start was delivered before its end.
            assert runs[run_id]["status"] == "succeeded"
            assert runs[run_id]["summary"]["counts"] == {"succeeded": NODES}
            tasks = store.queries.task_runs(run_id)
            assert sorted(t["node_id"] for t in tasks) == [f"n{i}" for i in range(NODES)]
            assert all(t["status"] == "succeeded" for t in tasks)
            produced = [a for a in store.queries.artifacts(run_id) if a["role"] == "generated"]
            assert len(produced) == NODES
        assert not store.outbox.rejected_path.exists()
        assert store.pending_bytes() == 0
    assert all(s["status"] == "succeeded" for s in run_summaries(twin.parent).values())


def _wait_for_runs(project_dir: Path, count: int, timeout: float = 120) -> None:
    """Until ``count`` runs are in progress (their first node running, marker written)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [s for s in run_summaries(project_dir).values() if s["status"] == "running"]
        if len(running) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} runs never ran at once")


def test_the_outbox_is_never_cut_while_another_holder_appends(tmp_path: Path) -> None:
    """Compaction (the deliverer truncating a fully delivered outbox) would drop lines another
    process appends at the same moment: it waits until nobody else holds the outbox. Two
    ``Outbox`` objects stand for two processes (``flock`` locks belong to each open file)."""
    from twinflow_studio.lineage.outbox import _COMPACT_BYTES, Outbox

    owner = Outbox(tmp_path)
    guest = Outbox(tmp_path)
    assert owner.owner and not guest.owner
    big = [{"pad": "x" * (1 << 16)}]
    while owner.size() < _COMPACT_BYTES:
        guest.append(big)
    owner.advance(owner.size())  # everything delivered: compaction is due
    assert owner.size() >= _COMPACT_BYTES  # but the guest still appends: not cut
    guest.append([{"last": 1}])
    [entry] = owner.read(10)
    assert entry.ops == [{"last": 1}]
    guest.close()
    owner.advance(entry.end)
    assert owner.size() == 0 and owner.cursor == 0  # alone now: cut
    owner.close()
    again = Outbox(tmp_path)  # the next process takes over where it was left
    assert again.owner and again.cursor == 0 and again.read(10) == []
    again.close()
