"""Compaction of an MQTT table's small parts: rows kept in order, settled parts only, and
crash-safe under a real kill -9 at any moment (no row lost, none read twice)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from twinflow_studio.twinstat.mqtt_compact import compact, merge, remove_superseded
from twinflow_studio.twinstat.mqtt_decode import Decoder, Received
from twinflow_studio.twinstat.mqtt_ingest import MqttIngest
from twinflow_studio.twinstat.mqtt_table import MqttTable

DAY_NS = 1_767_225_600_000_000_000  # 2026-01-01 UTC


def fill(root: Path, parts: int, rows: int, acked: int, day_ns: int = DAY_NS) -> MqttTable:
    """A table as the ingest leaves it: ``parts`` stored batches of ``rows`` messages each."""
    table = MqttTable(root)
    decoder = Decoder({"columns": {"seq": {"field": "seq", "type": "int"}}})
    n = 0
    for seq in range(1, parts + 1):
        batch = []
        for _ in range(rows):
            batch.append(Received(n % 65535 + 1, 1, "t", b'{"seq": %d}' % n, False, day_ns + n))
            n += 1
        table.append(seq, decoder.table(batch), batch[-1].recv_ns)
    table.write_acked(acked)
    return table


def seqs(table: MqttTable) -> list[int]:
    return [int(x) for x in table.read()["seq"]]


def test_small_settled_parts_are_merged_and_the_rest_left(tmp_path: Path) -> None:
    table = fill(tmp_path / "t", parts=60, rows=5, acked=50)
    before = table.read(internal=True)
    result = compact(table, min_run=8)
    assert result.merged == 50 and result.written == 1
    parts = table.parts()
    assert len(parts) == 11  # one merged part, then the ten unsettled ones
    assert (parts[0].start, parts[0].seq) == (1, 50)
    assert [p.seq for p in parts[1:]] == list(range(51, 61))
    after = table.read(internal=True)
    assert after.equals(before)  # every row, every column, in arrival order
    assert table.next_seq() == 61
    assert list(table.window(rows=7)["seq"]) == list(range(293, 300))
    # Nothing more to merge until more parts settle; then merged parts merge again.
    assert compact(table, min_run=8).written == 0
    table.write_acked(60)
    assert compact(table, min_run=2).merged == 11
    assert len(table.parts()) == 1 and table.read(internal=True).equals(before)


def test_runs_stay_within_a_day_and_under_the_size_limit(tmp_path: Path) -> None:
    table = fill(tmp_path / "t", parts=20, rows=5, acked=20)
    day2 = fill(tmp_path / "u", parts=10, rows=5, acked=10, day_ns=DAY_NS + 86_400 * 10**9)
    for part in day2.parts():  # the same table, the next day, seq 21..30
        folder = table.root / part.path.parent.name
        folder.mkdir(exist_ok=True)
        part.path.rename(
            folder / part.path.name.replace(f"{part.seq:012d}", f"{part.seq + 20:012d}")
        )
    table.write_acked(30)
    size = table.parts()[0].path.stat().st_size
    result = compact(table, min_run=2, small=size * 6)
    days = {p.path.parent.name: [] for p in table.parts()}
    for p in table.parts():
        days[p.path.parent.name].append((p.start, p.seq))
    assert sorted(days) == ["date=2026-01-01", "date=2026-01-02"]
    assert all(1 <= a <= b <= 20 for a, b in days["date=2026-01-01"])
    assert all(21 <= a <= b <= 30 for a, b in days["date=2026-01-02"])
    assert result.written >= 5  # at most 6 parts a run: 20 + 10 parts cannot be fewer
    assert seqs(table) == list(range(100)) + list(range(50))


def test_a_merge_killed_before_it_deleted_the_small_parts_reads_each_row_once(
    tmp_path: Path,
) -> None:
    table = fill(tmp_path / "t", parts=12, rows=4, acked=12)
    run = table.parts()[:10]
    saved = tmp_path / "saved"
    saved.mkdir()
    for part in run:
        shutil.copy2(part.path, saved / part.path.name)
    merged = merge(table, run)
    # The state a kill between the commit (rename) and the deletes leaves behind.
    for copy in saved.iterdir():
        shutil.copy2(copy, merged.parent / copy.name)
    live, superseded = table.scan()
    assert len(superseded) == 10 and live[0].path == merged
    assert seqs(table) == list(range(48))
    assert remove_superseded(table) == 10
    assert seqs(table) == list(range(48)) and not table.scan()[1]


KILLED_COMPACTOR = """
import sys
from pathlib import Path
from twinflow_studio.twinstat.mqtt_compact import compact
from twinflow_studio.twinstat.mqtt_table import MqttTable

table = MqttTable(Path(sys.argv[1]))
while True:
    if not compact(table, upto=10**9, small=int(sys.argv[2]), min_run=2, max_runs=1).written:
        break
    print("merged", flush=True)
print("done", flush=True)
"""


def wait_for_tmp(root: Path, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until a merge is writing its temporary file (or the compactor ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(root.glob("date=*/.part-*.tmp")):
            return
        time.sleep(0.0005)


def test_kill_9_during_compaction_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rows, parts = 200, 120
    table = fill(tmp_path / "t", parts=parts, rows=rows, acked=parts)
    expected = list(range(rows * parts))
    size = table.parts()[0].path.stat().st_size
    script = tmp_path / "compactor.py"
    script.write_text(KILLED_COMPACTOR)
    command = [sys.executable, str(script), str(table.root), str(size * 6)]
    mid_way = 0
    for attempt in range(4):
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        if attempt % 2:
            # Anywhere in the loop: after the first merge, a little later each time.
            if proc.stdout.readline().strip() == "done":
                break
            time.sleep(0.01 * attempt)
        else:
            wait_for_tmp(table.root, proc)  # inside a merge's write, or just after it
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        mid_way += bool(list(table.root.glob("date=*/.part-*.tmp")) or table.scan()[1])
        # Before any clean-up, readers see every row once and in order.
        assert seqs(table) == expected, f"after kill {attempt}"
        table.remove_leftovers()
        remove_superseded(table)
        assert seqs(table) == expected
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert seqs(table) == expected
    assert len(table.parts()) <= parts // 5  # runs of up to 6 small parts
    assert not list(table.root.glob("date=*/.part-*.tmp")) and not table.scan()[1]
    assert mid_way >= 1, "no kill landed inside a merge"


@pytest.mark.mqtt
def test_a_live_ingest_merges_its_settled_parts(tmp_path: Path, mqtt_broker) -> None:
    import paho.mqtt.client as mqtt

    topic = f"compact-{uuid.uuid4().hex[:10]}"
    params = {
        "broker": mqtt_broker.url,
        "topics": [topic],
        "payload": "number",
        "client_id": f"compact-{uuid.uuid4().hex[:10]}",
        "batch_ms": 1,
        "compact_every_s": 0.3,
    }
    ingest = MqttIngest(tmp_path, "src", params).start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    pub.connect(mqtt_broker.host, mqtt_broker.port)
    pub.loop_start()
    try:
        for i in range(40):  # one at a time: about one part each
            pub.publish(topic, str(i), qos=1).wait_for_publish(10)
            deadline = time.monotonic() + 10
            while ingest.stored <= i and time.monotonic() < deadline:
                time.sleep(0.005)
        assert len(ingest.table.parts()) >= 20
        deadline = time.monotonic() + 30
        while len(ingest.table.parts()) > 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(ingest.table.parts()) <= 8
    finally:
        pub.disconnect()
        pub.loop_stop()
        ingest.stop()
    assert list(ingest.table.read()["value"]) == [float(i) for i in range(40)]
