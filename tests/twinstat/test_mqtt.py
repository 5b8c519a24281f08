"""The mqtt datasource and trigger against the real Mosquitto broker of
scripts/services/mosquitto.sh (loopback only): mapping, wildcards, TLS with client
certificates, durability across kill -9, and a triggered run that sees the window."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
import pytest
from cli_helpers import Watch

from twinflow_studio.project import Node, Port, Project, save, validate
from twinflow_studio.twinstat.mqtt_ingest import MqttError, MqttIngest
from twinflow_studio.twinstat.mqtt_table import MqttTable, table_dir

pytestmark = pytest.mark.mqtt


def unique(prefix: str) -> str:
    """Topics and client ids of one test: the broker is shared with other runs."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Publisher:
    def __init__(self, broker, client_id: str | None = None) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or unique("pub")
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, topic: str, payload: str | bytes, qos: int = 1) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=qos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture()
def publisher(mqtt_broker) -> Iterator[Publisher]:
    pub = Publisher(mqtt_broker)
    yield pub
    pub.close()


def wait_until(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_wildcard_topics_and_json_mapping(tmp_path: Path, mqtt_broker, publisher) -> None:
    base = unique("plant")
    params = {
        "broker": mqtt_broker.url,
        "topics": [f"{base}/+/temp", f"{base}/alarms/#"],
        "columns": {"temp": "reading.t", "seq": {"field": "seq", "type": "int"}},
        "topic_levels": {"device": 1},
        "timestamp": "ts",
        "client_id": unique("ingest"),
    }
    ingest = MqttIngest(tmp_path, "plant", params).start()
    try:
        publisher.send(f"{base}/d1/temp", json.dumps({"seq": 1, "reading": {"t": 20.5}, "ts": 1e9}))
        publisher.send(f"{base}/d2/temp", json.dumps({"seq": 2, "reading": {"t": 21}, "ts": 1e12}))
        publisher.send(f"{base}/d1/pressure", json.dumps({"seq": 99}))  # not subscribed
        publisher.send(f"{base}/alarms/d3/hi", json.dumps({"seq": 3, "ts": "2026-01-02T03:04:05Z"}))
        publisher.send(f"{base}/d3/temp", b"not json").wait_for_publish(10)
        wait_until(lambda: ingest.stored >= 4, what="4 stored messages")
    finally:
        ingest.stop()
    frame = MqttTable(table_dir(tmp_path, "plant")).read().sort_values("topic")
    assert list(frame.columns) == ["time", "topic", "temp", "seq", "device"]
    rows = {r.topic.split("/", 1)[1]: r for r in frame.itertuples()}
    assert set(rows) == {"d1/temp", "d2/temp", "alarms/d3/hi", "d3/temp"}
    assert rows["d1/temp"].temp == 20.5 and rows["d1/temp"].seq == 1
    assert rows["d1/temp"].device == "d1"
    assert rows["d1/temp"].time.timestamp() == 1e9  # epoch seconds
    assert rows["d2/temp"].time.timestamp() == 1e9  # epoch milliseconds
    assert str(rows["alarms/d3/hi"].time) == "2026-01-02 03:04:05+00:00"
    assert rows["alarms/d3/hi"].device == "alarms"
    # A payload that is not JSON keeps its row (it was acknowledged) with empty values.
    assert frame[frame.topic.str.endswith("d3/temp")].temp.isna().all()
    assert ingest.decoder.bad == 1
    # Partitioned by date, one Parquet file per stored batch.
    assert all(p.path.parent.name.startswith("date=") for p in ingest.table.parts())


def test_numeric_payloads_and_windows(tmp_path: Path, mqtt_broker, publisher) -> None:
    topic = unique("sensor")
    params = {
        "broker": mqtt_broker.url,
        "topics": [topic],
        "payload": "number",
        "columns": {"level": {"type": "float"}},
        "window_rows": 5,
        "client_id": unique("ingest"),
        "batch_ms": 5,
    }
    ingest = MqttIngest(tmp_path, "tank", params).start()
    try:
        for i in range(12):
            publisher.send(topic, str(i * 1.5)).wait_for_publish(10)
        wait_until(lambda: ingest.stored >= 12, what="12 stored messages")
        assert list(ingest.window()["level"]) == [i * 1.5 for i in range(7, 12)]
        assert len(ingest.table.window(seconds=3600)) == 12
        assert ingest.table.window(seconds=1e-6).empty
    finally:
        ingest.stop()


def test_messages_larger_than_a_read_and_many_small_ones_arrive_whole(
    tmp_path: Path, mqtt_broker, publisher
) -> None:
    """Packets cut by the end of a 256 KiB read are finished by paho's reader; the whole
    ones around them are split off the buffer: all arrive whole, in order."""
    topic = unique("sizes")
    params = {
        "broker": mqtt_broker.url,
        "topics": [topic],
        "columns": {"seq": {"field": "seq", "type": "int"}, "pad": {"field": "pad", "type": "str"}},
        "client_id": unique("ingest"),
    }
    ingest = MqttIngest(tmp_path, "sizes", params).start()
    sizes = [10, 600_000, 3, 300_000, 5, 1, 262_000] + [7] * 500 + [1_000_000, 2]
    try:
        for i, size in enumerate(sizes):
            info = publisher.send(topic, json.dumps({"seq": i, "pad": "x" * size}))
        info.wait_for_publish(30)
        wait_until(lambda: ingest.stored >= len(sizes), what="every message")
    finally:
        ingest.stop()
    frame = ingest.table.read()
    assert list(frame["seq"]) == list(range(len(sizes)))
    assert [len(x) for x in frame["pad"]] == sizes


def test_tls_with_a_client_certificate_and_refused_without(
    tmp_path: Path, mqtt_broker, publisher
) -> None:
    topic = unique("secure")
    tls_dir = mqtt_broker.tls_dir
    params = {
        "broker": mqtt_broker.tls_url,
        "topics": [topic],
        "payload": "number",
        "tls": {
            "ca": str(tls_dir / "ca.crt"),
            "cert": str(tls_dir / "client.crt"),
            "key": str(tls_dir / "client.key"),
        },
        "client_id": unique("ingest"),
    }
    ingest = MqttIngest(tmp_path, "secure", params).start()
    try:
        publisher.send(topic, "42").wait_for_publish(10)
        wait_until(lambda: ingest.stored >= 1, what="a message over TLS")
    finally:
        ingest.stop()
    assert list(ingest.table.read()["value"]) == [42.0]
    no_cert = dict(params, tls={"ca": str(tls_dir / "ca.crt")}, client_id=unique("ingest"))
    with pytest.raises(MqttError, match="broker"):
        MqttIngest(tmp_path, "refused", no_cert, connect_timeout=5).start()
    missing = dict(params, tls={"ca": "nope/ca.crt"})
    with pytest.raises(MqttError, match="no such file"):
        MqttIngest(tmp_path, "missing", missing).start()


def test_credentials_come_from_the_environment_only(tmp_path: Path, mqtt_broker) -> None:
    p = Project("creds")
    p.add_node(
        Node(
            "src",
            "mqtt",
            params={
                "broker": mqtt_broker.url,
                "topics": ["a/#", "bad/#/x"],
                "columns": {"v": "v"},
                "password": "hunter22",
            },
        )
    )
    problems = {pr.path: pr.message for pr in validate(p)}
    assert "from_env" in problems["nodes.src.params.password"]
    assert "'#' must be a whole last level" in problems["nodes.src.params.topics[1]"]
    params = {
        "broker": mqtt_broker.url,
        "topics": ["a"],
        "columns": {"v": "v"},
        "username": "twin",
        "password": {"from_env": "TWINFLOW_TEST_MQTT_PW_UNSET"},
    }
    with pytest.raises(MqttError, match="TWINFLOW_TEST_MQTT_PW_UNSET.*not set"):
        MqttIngest(tmp_path, "src", params, environ={}).start()
    # With the variable set, the value reaches the broker (anonymous listener: accepted).
    ingest = MqttIngest(
        tmp_path,
        "src",
        dict(params, client_id=unique("c")),
        environ={"TWINFLOW_TEST_MQTT_PW_UNSET": "s3cret"},
    ).start()
    ingest.stop()
    assert "s3cret" not in "".join(
        p.read_text(errors="replace")
        for p in tmp_path.rglob("*")
        if p.is_file() and p.suffix != ".parquet"
    )


def test_one_ingest_per_source(tmp_path: Path, mqtt_broker) -> None:
    params = {"broker": mqtt_broker.url, "topics": [unique("t")], "payload": "number"}
    first = MqttIngest(tmp_path, "src", dict(params, client_id=unique("a"))).start()
    try:
        with pytest.raises(MqttError, match="already being stored by another process"):
            MqttIngest(tmp_path, "src", dict(params, client_id=unique("b"))).start()
    finally:
        first.stop()


# ---- the twin, headless: --run --watch as a real process --------------------------------


WINDOW_MODULE = """
import json

def summarize(data):
    return {"rows": int(len(data)), "max_seq": int(data["seq"].max()) if len(data) else -1}
"""


def make_project(tmp_path: Path, broker, topic: str, every: int, window_rows: int = 0) -> Path:
    (tmp_path / "window_mod.py").write_text(WINDOW_MODULE)
    p = Project("live")
    p.add_node(
        Node(
            "plant",
            "mqtt",
            params={
                "broker": broker.url,
                "topics": [f"{topic}/#"],
                "columns": {"seq": {"field": "seq", "type": "int"}, "temp": "t"},
                "client_id": unique("twin"),
                "window_rows": window_rows,
            },
        )
    )
    p.add_node(
        Node(
            "summary",
            "python",
            params={"callable": "window_mod:summarize"},
            inputs=[Port("data", "dataframe")],
            outputs=[Port("out", "json")],
        )
    )
    p.connect("plant", "data", "summary", "data")
    p.triggers = [
        {"id": "stream", "kind": "mqtt", "config": {"source": "plant", "every_messages": every}}
    ]
    save(p, tmp_path / "live.twin")
    return tmp_path / "live.twin"


def test_trigger_starts_a_run_that_sees_the_window(tmp_path: Path, mqtt_broker, publisher):
    topic = unique("line")
    project = make_project(tmp_path, mqtt_broker, topic, every=20, window_rows=15)
    twin = Watch(project, poll_s="0.2")
    try:
        twin.wait_for("watching for triggers")
        for i in range(20):
            info = publisher.send(f"{topic}/m{i % 2}", json.dumps({"seq": i, "t": 20 + i}))
        info.wait_for_publish(10)
        twin.wait_for("(trigger: mqtt)")
        twin.wait_for("succeeded in")
        assert twin.stop() == 0, "".join(twin.seen)
    finally:
        twin.proc.kill()
    runs = sorted((tmp_path / ".twinflow" / "runs").iterdir(), key=lambda d: d.stat().st_mtime)
    last = json.loads((runs[-1] / "run.json").read_text())
    assert last["trigger"]["kind"] == "mqtt"
    assert last["trigger"]["detail"] == {"source": "plant", "messages": 20}
    uri = last["nodes"]["summary"]["outputs"]["out"]
    assert json.loads(Path(unquote(urlparse(uri).path)).read_text()) == {"rows": 15, "max_seq": 19}


def test_kill_9_halfway_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, mqtt_broker, publisher
):
    topic = unique("stream")
    total = 10_000
    project = make_project(tmp_path, mqtt_broker, topic, every=2_000)
    twin = Watch(project, poll_s="0.2")
    sent = threading.Event()
    progress = {"n": 0}

    def publish_all() -> None:
        for i in range(total):
            info = publisher.send(f"{topic}/s{i % 4}", json.dumps({"seq": i, "t": i * 0.1}))
            progress["n"] = i + 1
            if i % 500 == 499:
                info.wait_for_publish(30)  # bounded in-flight: the broker holds the rest
        info.wait_for_publish(60)
        sent.set()

    table = MqttTable(table_dir(tmp_path, "plant"))
    try:
        twin.wait_for("watching for triggers")
        feeder = threading.Thread(target=publish_all, daemon=True)
        feeder.start()
        wait_until(lambda: progress["n"] >= total // 2, timeout=120, what="half published")
        os.kill(twin.proc.pid, signal.SIGKILL)
        twin.proc.wait(timeout=30)
        killed_with = len(table.read()) if table.parts() else 0
        feeder.join(timeout=180)
        assert sent.is_set(), "the publisher did not finish"
        # The broker kept the session's messages while the twin was down.
        twin = Watch(project, poll_s="0.2")
        twin.wait_for("watching for triggers")
        wait_until(lambda: len(table.read()) >= total, timeout=120, what="all messages stored")
        time.sleep(1.5)  # redeliveries, if any were stored twice, would land by now
        assert twin.stop() == 0, "".join(twin.seen)
    finally:
        twin.proc.kill()
    frame = table.read()
    assert 0 < killed_with < total
    assert len(frame) == total
    assert sorted(frame["seq"]) == list(range(total))


def run_once(project: Path, *extra: str) -> subprocess.CompletedProcess:
    """``twinflow-studio --run PROJECT --only plant --json`` (no --watch), as cron would."""
    return subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--run", str(project), "--trust"]
        + ["--no-lineage", "--json", "--only", "plant", *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def window_of(done: subprocess.CompletedProcess) -> list[int]:
    """The seq column of the window the mqtt node output in that run."""
    import pandas as pd

    assert done.returncode == 0, done.stderr
    uri = json.loads(done.stdout)["nodes"]["plant"]["outputs"]["data"]
    return [int(x) for x in pd.read_parquet(unquote(urlparse(uri).path))["seq"]]


def test_a_run_without_watch_first_takes_what_the_broker_kept(
    tmp_path: Path, mqtt_broker, publisher
):
    topic = unique("cron")
    project = make_project(tmp_path, mqtt_broker, topic, every=1_000)
    # The first run opens the persistent session: from now on the broker keeps its messages.
    first = run_once(project)
    assert window_of(first) == []
    assert "0 message(s) taken from the broker" in first.stderr
    for i in range(300):  # published while no process of the twin runs
        info = publisher.send(f"{topic}/a", json.dumps({"seq": i, "t": 1.0}))
    info.wait_for_publish(10)
    second = run_once(project)
    assert window_of(second) == list(range(300))
    assert "300 message(s) taken from the broker" in second.stderr
    for i in range(300, 350):
        info = publisher.send(f"{topic}/b", json.dumps({"seq": i, "t": 1.0}))
    info.wait_for_publish(10)
    assert window_of(run_once(project)) == list(range(350))
    # catch_up_s = 0: the run takes nothing from the broker and says so.
    publisher.send(f"{topic}/c", json.dumps({"seq": 350, "t": 1.0})).wait_for_publish(10)
    off = run_once(project, "--param", "plant.catch_up_s=0")
    assert window_of(off) == list(range(350))
    assert "catch-up off" in off.stderr
    # The message waited at the broker: the next run takes it, once.
    assert window_of(run_once(project)) == list(range(351))


def test_bad_mqtt_node_and_trigger_config_is_named_and_exits_2(tmp_path: Path) -> None:
    p = Project("bad")
    p.add_node(
        Node(
            "src",
            "mqtt",
            params={
                "broker": "http://127.0.0.1:1",
                "topics": ["a/b+"],
                "columns": {"topic": "x", "ok": {"field": "y", "type": "complex"}},
                "tls": {"cert": "c.pem"},
                "window_rows": -1,
            },
        )
    )
    p.triggers = [
        {"id": "t1", "kind": "mqtt", "config": {"source": "nope"}},
        {"id": "t2", "kind": "mqtt", "config": {"source": "src", "every_messages": 0}},
    ]
    problems = {pr.path: pr.message for pr in validate(p)}
    assert "mqtt://host:port" in problems["nodes.src.params.broker"]
    assert "'+' must be a whole level" in problems["nodes.src.params.topics[0]"]
    assert "column name" in problems["nodes.src.params.columns"]
    assert "both 'cert' and 'key'" in problems["nodes.src.params.tls"]
    assert "must be >= 0" in problems["nodes.src.params.window_rows"]
    assert "no node 'nope'" in problems["triggers[0].config.source"]
    assert "every_messages (N) and/or every_seconds (T)" in problems["triggers[0].config"]
    assert "whole number >= 1" in problems["triggers[1].config.every_messages"]
    save(p, tmp_path / "bad.twin")
    done = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--validate", str(tmp_path / "bad.twin")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "nodes.src.params.broker" in done.stderr and "Traceback" not in done.stderr


def test_an_unreachable_broker_is_named_not_a_traceback(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params = {"broker": f"mqtt://127.0.0.1:{port}", "topics": ["a"], "payload": "number"}
    with pytest.raises(MqttError, match=f"cannot connect to the MQTT broker 127.0.0.1:{port}"):
        MqttIngest(tmp_path, "src", params).start()
    # The lock is released: a later start is not refused as "another process".
    with pytest.raises(MqttError, match="cannot connect"):
        MqttIngest(tmp_path, "src", params).start()
