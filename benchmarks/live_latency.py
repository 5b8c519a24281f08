"""A living twin's reaction time: from new data to the start of the run it triggers, through
the real watch loop (`--watch` and the studio's live mode run the same one) and engine.

- file drop: a file renamed into a folder a `new_data` trigger watches at a random moment
  of its poll period (TWINFLOW_WATCH_POLL_S, default 1 s); the folder's inotify events wake
  the loop at once (twinstat/fs_events.py), so the poll is only the safety net;
- MQTT publish: a QoS 1 message to the loopback Mosquitto of scripts/services/mosquitto.sh
  (started when TWINFLOW_MQTT_URL is unset), stored durably, then an `mqtt` trigger that
  fires on every message (stored batches wake the loop at once).

Goal (issue 14): p50 <= 200 ms from publish to run start. Prints p50/p95 of both; the last
line is the JSON summary of the MQTT figure, the line before it the file-drop one.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = 40
GOAL_MS = 200.0


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


def twin(name: str, source: Any, trigger: dict[str, Any]) -> Any:
    """A source node, a cheap Python node after it, and one trigger."""
    from twinflow_studio.project import Node, Port, Project

    project = Project(name)
    project.add_node(source)
    project.add_node(
        Node(
            "after",
            "python",
            params={"callable": "json:dumps", "kwargs": {"obj": 1}},
            outputs=[Port("out", "json")],
        )
    )
    project.triggers = [trigger]
    return project


async def trigger_latencies(
    project: Any,
    project_dir: Path,
    fire: Callable[[int], Any],
    samples: int = SAMPLES,
    poll_interval: float = 1.0,
    jitter: float = 0.0,
) -> list[float]:
    """Seconds from ``fire(i)`` (which makes new data) to RunStarted of the triggered run,
    for ``samples`` rounds, one run at a time, each after a random pause of up to
    ``jitter`` seconds (data arrives at any moment of a poll period, not just after one)."""
    from twinflow_studio.engine import Engine
    from twinflow_studio.twinstat.triggers import watch

    started: list[float] = []
    finished = asyncio.Event()

    def listen(event: Any) -> None:
        name = type(event).__name__
        if name == "RunStarted":
            started.append(time.time())
        elif name == "RunFinished":
            finished.set()

    engine = Engine([listen])
    stop = asyncio.Event()

    async def engine_run(proj: Any, *, only: Any = None, trigger: Any = None) -> Any:
        return await engine.run(
            proj, only=only, trigger=trigger, project_dir=project_dir, use_cache=True
        )

    latencies: list[float] = []
    pauses = random.Random(14)

    async def drive() -> None:
        try:
            await asyncio.sleep(1.5)  # armed: the folder snapshotted, the ingest subscribed
            for i in range(samples):
                await asyncio.sleep(pauses.uniform(0, jitter))
                finished.clear()
                before = len(started)
                sent = time.time()
                await asyncio.to_thread(fire, i)
                await asyncio.wait_for(finished.wait(), 30)
                if len(started) > before:
                    latencies.append(started[before] - sent)
                await asyncio.sleep(0.05)
        finally:
            stop.set()

    driver = asyncio.create_task(drive())
    await watch(project, engine_run, stop, project_dir=project_dir, poll_interval=poll_interval)
    await driver
    return latencies


def file_drop(project_dir: Path, poll: float) -> list[float]:
    from twinflow_studio.project import Node, Port

    incoming = project_dir / "incoming"
    incoming.mkdir()
    source = Node(
        "data",
        "python",
        params={"callable": "json:dumps", "kwargs": {"obj": 0}},
        outputs=[Port("out", "json")],
    )
    trigger = {
        "id": "drop",
        "kind": "new_data",
        "config": {"path": "incoming", "pattern": "*.csv"},
        "nodes": ["data"],
    }

    def drop(i: int) -> None:
        tmp = incoming / f".f{i}.part"
        tmp.write_text(f"x\n{i}\n")
        os.replace(tmp, incoming / f"f{i}.csv")  # whole, as a careful writer drops it

    project = twin("drop", source, trigger)
    return asyncio.run(
        trigger_latencies(project, project_dir, drop, poll_interval=poll, jitter=poll)
    )


def mqtt_publish(project_dir: Path, url: str, poll: float) -> list[float]:
    import paho.mqtt.client as mqtt

    from twinflow_studio.project import Node

    topic = f"bench/live/{uuid.uuid4().hex[:8]}"
    source = Node(
        "plant",
        "mqtt",
        params={
            "broker": url,
            "topics": [topic],
            "columns": {"seq": {"field": "seq", "type": "int"}},
            "window_rows": 100,
            "client_id": f"bench-live-{uuid.uuid4().hex[:8]}",
            "batch_ms": 5,
        },
    )
    trigger = {"id": "each", "kind": "mqtt", "config": {"source": "plant", "every_messages": 1}}
    parsed = urlparse(url)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}")
    pub.connect(parsed.hostname or "127.0.0.1", parsed.port or 1883)
    pub.loop_start()
    try:
        project = twin("mqtt", source, trigger)
        return asyncio.run(
            trigger_latencies(
                project,
                project_dir,
                lambda i: pub.publish(topic, json.dumps({"seq": i}), qos=1),
                poll_interval=poll,
            )
        )
    finally:
        pub.disconnect()
        pub.loop_stop()


def percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def summary(metric: str, p50: float, baseline: float) -> str:
    return json.dumps(
        {
            "metric": metric,
            "value": round(p50, 1),
            "unit": "ms",
            "baseline": baseline,
            "ratio": round(p50 / baseline, 3),
        }
    )


def main() -> None:
    from twinflow_studio.twinstat.triggers import env_poll_interval

    poll = env_poll_interval(1.0)
    url = broker_url()
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as folder:
        (Path(folder) / "drop").mkdir()
        (Path(folder) / "mqtt").mkdir()
        drops = file_drop(Path(folder) / "drop", poll)
        published = mqtt_publish(Path(folder) / "mqtt", url, poll)
    d50, d95 = percentiles(drops)
    m50, m95 = percentiles(published)
    print(f"poll interval {poll:g} s; {len(drops)} drops, {len(published)} publishes")
    print(f"file drop -> triggered run start: p50 {d50:.0f} ms, p95 {d95:.0f} ms")
    print(f"MQTT publish -> triggered run start: p50 {m50:.0f} ms, p95 {m95:.0f} ms")
    # The file drop's baseline is the poll interval (its expected wait is half of it).
    print(summary("file_drop_trigger_latency_p50", d50, round(poll * 1000, 1)))
    print(summary("mqtt_trigger_latency_p50", m50, GOAL_MS))


if __name__ == "__main__":
    main()
