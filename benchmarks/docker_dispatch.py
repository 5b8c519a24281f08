"""Docker dispatch: 20 trivial containers through the engine vs the same containers started
with `docker run` in the same run, at the same parallelism (4 at a time).

Needs a Docker engine and the local base image (scripts/services/docker.sh, base-image.sh).
The last line is the JSON summary; ratio = engine time / `docker run` time (target <= 1.05).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from twinflow_studio.engine import Engine
from twinflow_studio.project import HardwareProfile, Node, Project

IMAGE = os.environ.get("TWINFLOW_BASE_IMAGE", "twinflow/python-base:bookworm")
COUNT, PARALLEL, ROUNDS = 20, 4, 3
COMMAND = ["python3", "-c", "print('ok')"]


def project() -> Project:
    p = Project("docker-dispatch")
    p.targets["docker"].vcpus = PARALLEL
    p.targets["docker"].memory_mib = PARALLEL * 256
    p.profiles["default"] = HardwareProfile("default", vcpus=1, memory_mib=256)
    for i in range(COUNT):
        p.add_node(
            Node(f"c{i}", "container", params={"image": IMAGE, "command": COMMAND, "nonce": i})
        )
    return p


async def engine_round() -> float:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = await Engine().run(project(), project_dir=Path(folder), use_cache=False)
        elapsed = time.perf_counter() - started
    assert result.ok, result.summary["failed"][:2]
    return elapsed


async def docker_run_round() -> float:
    gate = asyncio.Semaphore(PARALLEL)

    async def one() -> None:
        async with gate:
            proc = await asyncio.create_subprocess_exec(
                "docker",
                "run",
                "--rm",
                "--network",
                "none",
                "--cpus",
                "1",
                "--memory",
                "256m",
                IMAGE,
                *COMMAND,
                stdout=asyncio.subprocess.DEVNULL,
            )
            assert await proc.wait() == 0

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(COUNT)))
    return time.perf_counter() - started


async def main() -> None:
    await docker_run_round()  # warm the image cache and the daemon
    engine_s, docker_s = [], []
    for i in range(ROUNDS):
        # Alternate the order so drift in machine load hits both sides alike.
        first, second = (
            (engine_round, docker_run_round) if i % 2 == 0 else (docker_run_round, engine_round)
        )
        a, b = await first(), await second()
        e, d = (a, b) if first is engine_round else (b, a)
        engine_s.append(e)
        docker_s.append(d)
        print(f"round {i + 1}: engine {e:.2f} s, docker run {d:.2f} s", flush=True)
    engine_med, docker_med = statistics.median(engine_s), statistics.median(docker_s)
    print(
        json.dumps(
            {
                "metric": "docker_dispatch_20_containers",
                "value": round(engine_med, 3),
                "unit": "s",
                "baseline": round(docker_med, 3),
                "ratio": round(engine_med / docker_med, 3),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
