"""The Batch target's parts on their own: the shared poller and the log follower against
moto_server's Batch and CloudWatch Logs, and job definition bodies."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from twinflow_studio.engine.targets.batch_jobdefs import job_definition_body
from twinflow_studio.engine.targets.batch_logs import LogFollower
from twinflow_studio.engine.targets.batch_poller import TERMINAL, JobPoller
from twinflow_studio.project import HardwareProfile


def test_job_definition_body_maps_the_profile() -> None:
    body = job_definition_body(
        name_prefix="twinflow",
        image="repo/img@sha256:abc",
        command=["run", "x"],
        workdir="/w",
        env={"B": "2", "A": "1"},
        profile=HardwareProfile("gpu", vcpus=0.5, memory_mib=2048, gpus=1),
        timeout_s=125.2,
    )
    container = body["containerProperties"]
    assert container["resourceRequirements"] == [
        {"type": "VCPU", "value": "1"},
        {"type": "MEMORY", "value": "2048"},
        {"type": "GPU", "value": "1"},
    ]
    assert container["command"][3:] == ["Ref::manifest", "/w", "run", "x"]
    assert container["environment"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert body["timeout"] == {"attemptDurationSeconds": math.ceil(125.2)}
    assert body["retryStrategy"] == {"attempts": 1}
    same = job_definition_body(
        name_prefix="twinflow",
        image="repo/img@sha256:abc",
        command=["run", "x"],
        workdir="/w",
        env={"A": "1", "B": "2"},
        profile=HardwareProfile("other-name", vcpus=0.5, memory_mib=2048, gpus=1),
        timeout_s=125.2,
    )
    assert same["jobDefinitionName"] == body["jobDefinitionName"]
    changed = job_definition_body(
        name_prefix="twinflow",
        image="repo/img@sha256:abc",
        command=["run", "y"],
        workdir="/w",
        env={"A": "1", "B": "2"},
        profile=HardwareProfile("gpu", vcpus=0.5, memory_mib=2048, gpus=1),
        timeout_s=125.2,
    )
    assert changed["jobDefinitionName"] != body["jobDefinitionName"]


@pytest.mark.moto
@pytest.mark.docker
def test_one_describe_call_covers_every_job_and_chunks_at_100(moto_batch, image) -> None:
    batch = moto_batch.client("batch")
    arn = batch.register_job_definition(
        jobDefinitionName="twinflow-poller-test",
        type="container",
        containerProperties={
            "image": image,
            "command": ["python3", "-c", "print(1)"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "256"},
            ],
        },
    )["jobDefinitionArn"]
    ids = [
        batch.submit_job(jobName=f"poll-{i}", jobQueue=moto_batch.queue, jobDefinition=arn)["jobId"]
        for i in range(4)
    ]
    # Ids Batch does not know yet (an array child before it exists) stay watched, unharmed.
    unknown = [f"00000000-0000-0000-0000-{i:012d}" for i in range(140)]
    calls: list[list[str]] = []

    def describe(job_ids):
        calls.append(list(job_ids))
        return batch.describe_jobs(jobs=job_ids)["jobs"]

    async def scenario() -> dict:
        poller = JobPoller(describe, asyncio.to_thread, 0.2, 1.0)
        queue = poller.watch(ids + unknown)
        final: dict = {}
        deadline = time.monotonic() + 60
        while len(final) < len(ids) and time.monotonic() < deadline:
            desc = await asyncio.wait_for(queue.get(), 30)
            if desc["status"] in TERMINAL:
                final[desc["jobId"]] = desc
        poller.unwatch(ids + unknown)
        await poller.close()
        return final

    final = asyncio.run(scenario())
    assert {d["status"] for d in final.values()} == {"SUCCEEDED"}
    assert calls and all(
        [len(c) for c in calls[i : i + 2]] == [100, 44] for i in range(0, len(calls) - 1, 2)
    )
    assert all(set(ids) <= set(calls[i] + calls[i + 1]) for i in range(0, len(calls) - 1, 2))


@pytest.mark.moto
def test_log_follower_reads_only_new_lines_and_finds_the_exit_code(moto_batch) -> None:
    logs = moto_batch.client("logs")
    group, stream = f"/twinflow/follower-{moto_batch.queue}", f"stream-{time.time_ns()}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)

    def put(*lines: str) -> None:
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now, "message": m} for m in lines],
        )

    async def scenario() -> list[str]:
        seen: list[str] = []
        follower = LogFollower(logs, asyncio.to_thread, group, seen.append, every_s=0.0)
        desc = {"container": {"logStreamName": stream}}
        put("one", "two")
        follower.poke(desc)
        await follower.drain({}, grace_s=0)
        assert seen == ["one", "two"]
        put("three", "twinflow-bootstrap: command exited with code 4")
        await follower.drain(desc, grace_s=5)
        assert follower.exit_code == 4
        return seen

    seen = asyncio.run(scenario())
    assert seen == ["one", "two", "three", "twinflow-bootstrap: command exited with code 4"]
