"""MQTT ingest: sustained messages/s received, stored durably (Parquet, fsync) and only then
acknowledged, on the loopback Mosquitto with one publisher (``mosquitto_pub -l``, QoS 1,
small JSON payloads), against two subscribers that only count (QoS 1, acknowledging at
once): ``mosquitto_sub`` (C: the ceiling the broker and publisher leave on this machine) and
a bare paho client. Then the rate at which a backlog the broker kept for the session is
stored (a restart, a ``--run`` catch-up), and the latency from a publish to the start of the
run an `mqtt` trigger (every message) asks for, through the real watch loop and engine
(``live_latency.py``).

Needs the broker of scripts/services/mosquitto.sh (started when TWINFLOW_MQTT_URL is unset).
Goals on the 2-core CI machine: >= 20,000 messages/s stored; p50 latency <= 200 ms. The last
line is the JSON summary of the throughput: value = stored messages/s, baseline = the C
subscriber's messages/s in the same run, ratio = value / baseline.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from twinflow_studio.twinstat.mqtt_ingest import MqttIngest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # live_latency, beside this file
from live_latency import broker_url, mqtt_publish  # noqa: E402

# Below 65,535: Mosquitto stalls a session that has more QoS 1 messages outstanding than
# packet ids (see docs/mqtt.md), and the publisher outruns a durable subscriber.
MESSAGES = 60_000


def publish_lines(url: str, topic: str, lines: Path) -> None:
    parsed = urlparse(url)
    subprocess.run(
        ["mosquitto_pub", "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 1883)]
        + ["-t", topic, "-q", "1", "-l"],
        stdin=lines.open("rb"),
        check=True,
        timeout=600,
    )


def bare_subscriber(url: str, topic: str, lines: Path) -> float:
    """Messages/s of a paho client that counts and acknowledges (paho's automatic ack),
    from the first publish to the last message received."""
    parsed = urlparse(url)
    count = 0
    last = 0.0
    done = threading.Event()

    def on_message(client, userdata, msg) -> None:
        nonlocal count, last
        count += 1
        if count == MESSAGES:
            last = time.perf_counter()
            done.set()

    subscribed = threading.Event()
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:8]}"
    )
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect(parsed.hostname or "127.0.0.1", parsed.port or 1883)
    client.loop_start()
    client.subscribe(topic, qos=1)
    subscribed.wait(10)
    began = time.perf_counter()
    publish_lines(url, topic, lines)
    done.wait(300)
    client.disconnect()
    client.loop_stop()
    return MESSAGES / (last - began)


def ingest_rate(url: str, topic: str, lines: Path, project: Path) -> tuple[float, int]:
    """Messages/s stored by MqttIngest (durable before acknowledged); and the rows stored."""
    stamps: dict[str, float] = {}
    done = threading.Event()
    total = 0

    def on_stored(n: int) -> None:
        nonlocal total
        total += n
        stamps.setdefault("first", time.perf_counter())
        if total >= MESSAGES:
            stamps["last"] = time.perf_counter()
            done.set()

    params = {
        "broker": url,
        "topics": [topic],
        "columns": {"seq": {"field": "seq", "type": "int"}, "t": "t"},
        "client_id": f"bench-ingest-{uuid.uuid4().hex[:8]}",
    }
    ingest = MqttIngest(project, "bench", params, on_stored=on_stored).start()
    try:
        began = time.perf_counter()
        publish_lines(url, topic, lines)
        done.wait(300)
    finally:
        ingest.stop()
    rows = len(ingest.table.read())
    # From the first publish to the last message durable.
    return MESSAGES / (stamps["last"] - began), rows


def c_subscriber(url: str, topic: str, lines: Path) -> float:
    """Messages/s of ``mosquitto_sub`` (libmosquitto, C; QoS 1, acknowledging at once): what
    the broker and publisher let any subscriber reach on this machine."""
    parsed = urlparse(url)
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 1883)]
        + ["-t", topic, "-q", "1", "-C", str(MESSAGES)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # subscribed (mosquitto_sub has no signal for it)
    began = time.perf_counter()
    publish_lines(url, topic, lines)
    sub.wait(timeout=300)
    return MESSAGES / (time.perf_counter() - began)


def drain_rate(url: str, topic: str, lines: Path, project: Path) -> float:
    """Messages/s stored when the broker already holds them: a backlog queued for the
    session while the twin was down (what a restart or a --run catch-up takes)."""
    params = {
        "broker": url,
        "topics": [topic],
        "columns": {"seq": {"field": "seq", "type": "int"}, "t": "t"},
        "client_id": f"bench-drain-{uuid.uuid4().hex[:8]}",
    }
    MqttIngest(project, "drain", params).start().stop()  # the session exists from now on
    publish_lines(url, topic, lines)
    done = threading.Event()
    total = 0

    def on_stored(n: int) -> None:
        nonlocal total
        total += n
        if total >= MESSAGES:
            done.set()

    began = time.perf_counter()
    ingest = MqttIngest(project, "drain", params, on_stored=on_stored).start()
    try:
        done.wait(300)
    finally:
        ingest.stop()
    return MESSAGES / (time.perf_counter() - began)


def trigger_latency(url: str, project_dir: Path) -> list[float]:
    """Seconds from publish to RunStarted of the run the mqtt trigger asks for."""
    return mqtt_publish(project_dir, url, 1.0)


def main() -> None:
    url = broker_url()
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as folder:
        root = Path(folder)
        lines = root / "messages.txt"
        with lines.open("w") as fh:
            for i in range(MESSAGES):
                fh.write(json.dumps({"seq": i, "t": round(20 + i * 1e-4, 4)}) + "\n")
        ceiling = c_subscriber(url, f"bench/c/{uuid.uuid4().hex[:8]}", lines)
        baseline = bare_subscriber(url, f"bench/bare/{uuid.uuid4().hex[:8]}", lines)
        value, rows = ingest_rate(url, f"bench/ingest/{uuid.uuid4().hex[:8]}", lines, root)
        assert rows == MESSAGES, f"stored {rows} of {MESSAGES}"
        drained = drain_rate(url, f"bench/drain/{uuid.uuid4().hex[:8]}", lines, root)
        print(f"mosquitto_sub (C, counting only): {ceiling:,.0f} msg/s")
        print(f"bare paho subscriber: {baseline:,.0f} msg/s (counting only)")
        print(f"MqttIngest: {value:,.0f} msg/s stored durably, then acknowledged ({rows} rows)")
        print(f"MqttIngest, a backlog the broker kept: {drained:,.0f} msg/s stored")
        (root / "lat").mkdir()
        latencies = trigger_latency(url, root / "lat")
        p50 = statistics.median(latencies) * 1000
        p95 = sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000
        print(f"publish -> triggered run start: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        print(
            json.dumps(
                {
                    "metric": "mqtt_trigger_latency_p50",
                    "value": round(p50, 1),
                    "unit": "ms",
                    "baseline": 200.0,
                    "ratio": round(p50 / 200.0, 3),
                }
            )
        )
        # baseline: the C subscriber on the same broker and publisher, measured just before
        # (the machine's ceiling for any subscriber; the goal is 20,000 msg/s).
        print(
            json.dumps(
                {
                    "metric": "mqtt_ingest_stored_msgs_per_s",
                    "value": round(value),
                    "unit": "msg/s",
                    "baseline": round(ceiling),
                    "ratio": round(value / ceiling, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
