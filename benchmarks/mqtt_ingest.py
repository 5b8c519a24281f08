"""MQTT ingest: sustained messages/s received, stored durably (Parquet, fsync) and only then
acknowledged, against a bare paho subscriber that only counts (QoS 1, acknowledging at once),
on the same loopback Mosquitto with the same publisher (``mosquitto_pub -l``, QoS 1, small
JSON payloads); then the latency from a publish to the start of the run an `mqtt` trigger
(every message) asks for, through the real watch loop and engine.

Needs the broker of scripts/services/mosquitto.sh (started when TWINFLOW_MQTT_URL is unset).
Goals on the 2-core CI machine: >= 20,000 messages/s stored; p50 latency <= 200 ms. The last
line is the JSON summary of the throughput: value = stored messages/s, baseline = the bare
subscriber's messages/s, ratio = value / baseline.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from twinflow_studio.twinstat.mqtt_ingest import MqttIngest

ROOT = Path(__file__).resolve().parents[1]
# Below 65,535: Mosquitto stalls a session that has more QoS 1 messages outstanding than
# packet ids (see docs/mqtt.md), and the publisher outruns a durable subscriber.
MESSAGES = 60_000
LATENCY_SAMPLES = 40


def broker_url() -> str:
    url = os.environ.get("TWINFLOW_MQTT_URL")
    if url:
        return url
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "services" / "mosquitto.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


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


async def trigger_latency(url: str, project_dir: Path) -> list[float]:
    """Seconds from publish to RunStarted of the run the mqtt trigger asks for."""
    from twinflow_studio.engine import Engine
    from twinflow_studio.project import Node, Port, Project
    from twinflow_studio.twinstat.triggers import watch

    topic = f"bench/lat/{uuid.uuid4().hex[:8]}"
    project = Project("latency")
    project.add_node(
        Node(
            "plant",
            "mqtt",
            params={
                "broker": url,
                "topics": [topic],
                "columns": {"seq": {"field": "seq", "type": "int"}},
                "window_rows": 100,
                "client_id": f"bench-lat-{uuid.uuid4().hex[:8]}",
                "batch_ms": 5,
            },
        )
    )
    project.add_node(
        Node(
            "rows",
            "python",
            params={"callable": "json:dumps", "kwargs": {"obj": 1}},
            outputs=[Port("out", "json")],
        )
    )
    project.triggers = [
        {"id": "each", "kind": "mqtt", "config": {"source": "plant", "every_messages": 1}}
    ]
    started: list[float] = []
    finished = asyncio.Event()

    def listen(event) -> None:
        name = type(event).__name__
        if name == "RunStarted":
            started.append(time.time())
        elif name == "RunFinished":
            finished.set()

    engine = Engine([listen])
    stop = asyncio.Event()
    parsed = urlparse(url)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}")
    pub.connect(parsed.hostname or "127.0.0.1", parsed.port or 1883)
    pub.loop_start()

    async def engine_run(proj, *, only=None, trigger=None):
        return await engine.run(
            proj, only=only, trigger=trigger, project_dir=project_dir, use_cache=True
        )

    latencies: list[float] = []

    async def drive() -> None:
        await asyncio.sleep(1.0)  # the ingest connects and subscribes
        for i in range(LATENCY_SAMPLES):
            finished.clear()
            before = len(started)
            sent = time.time()
            pub.publish(topic, json.dumps({"seq": i}), qos=1)
            await asyncio.wait_for(finished.wait(), 30)
            if len(started) > before:
                latencies.append(started[before] - sent)
            await asyncio.sleep(0.05)
        stop.set()

    driver = asyncio.create_task(drive())
    await watch(project, engine_run, stop, project_dir=project_dir, poll_interval=1.0)
    await driver
    pub.disconnect()
    pub.loop_stop()
    return latencies


def main() -> None:
    url = broker_url()
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as folder:
        root = Path(folder)
        lines = root / "messages.txt"
        with lines.open("w") as fh:
            for i in range(MESSAGES):
                fh.write(json.dumps({"seq": i, "t": round(20 + i * 1e-4, 4)}) + "\n")
        baseline = bare_subscriber(url, f"bench/bare/{uuid.uuid4().hex[:8]}", lines)
        value, rows = ingest_rate(url, f"bench/ingest/{uuid.uuid4().hex[:8]}", lines, root)
        assert rows == MESSAGES, f"stored {rows} of {MESSAGES}"
        print(f"bare paho subscriber: {baseline:,.0f} msg/s (counting only)")
        print(f"MqttIngest: {value:,.0f} msg/s stored durably, then acknowledged ({rows} rows)")
        latencies = asyncio.run(trigger_latency(url, root))
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
        print(
            json.dumps(
                {
                    "metric": "mqtt_ingest_stored_msgs_per_s",
                    "value": round(value),
                    "unit": "msg/s",
                    "baseline": round(baseline),
                    "ratio": round(value / baseline, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
