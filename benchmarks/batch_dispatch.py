"""Batch dispatch overhead: 10 trivial container jobs through the engine's Batch target vs the
same jobs by plain boto3 (register, submit, poll describe_jobs) on moto_server.

Both sides run the same command in the same image on the same queue and poll at the same
interval; the engine adds its S3 manifest and bootstrap, log streaming and output download.
Rounds alternate (engine, plain) after one warm-up each; the figures are medians. The last
line is the JSON summary: value is the engine's wall time for the 10 jobs, baseline the plain
boto3 wall time, ratio = value / baseline (target <= 1.10).

Needs TWINFLOW_MOTO_URL (scripts/services/moto.sh) and the local base image.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

from twinflow_studio.engine import Engine
from twinflow_studio.project import Node, Project, TargetConfig

JOBS = 10
ROUNDS = 7
POLL_S = 0.25
# moto removes a job's container after the job ends; let that finish between rounds.
SETTLE_S = 2.0
REGION = "us-east-1"
IMAGE = os.environ.get("TWINFLOW_BASE_IMAGE", "twinflow/python-base:bookworm")
SCRIPT = "import sys; print('job', sys.argv[1], flush=True)"


def clients(url: str) -> dict[str, Any]:
    return {
        s: boto3.client(s, endpoint_url=url, region_name=REGION) for s in ("iam", "batch", "s3")
    }


def set_up(url: str) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    c = clients(url)
    role = c["iam"].create_role(RoleName=f"bench-{suffix}", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    c["batch"].create_compute_environment(
        computeEnvironmentName=f"bench-ce-{suffix}",
        type="UNMANAGED",
        state="ENABLED",
        serviceRole=role,
    )
    queue = f"bench-q-{suffix}"
    c["batch"].create_job_queue(
        jobQueueName=queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": f"bench-ce-{suffix}"}],
    )
    bucket = f"bench-art-{suffix}"
    c["s3"].create_bucket(Bucket=bucket)
    return queue, bucket


def engine_round(url: str, queue: str, bucket: str) -> float:
    p = Project("batch-dispatch")
    p.targets["aws"] = TargetConfig(
        "aws",
        "batch",
        vcpus=64,
        memory_mib=262144,
        options={
            "region": REGION,
            "job_queue": queue,
            "s3_prefix": f"s3://{bucket}/bench",
            "endpoint_url": url,
            "poll_min_s": POLL_S,
        },
    )
    for i in range(JOBS):
        p.add_node(
            Node(
                f"job{i}",
                "container",
                target="aws",
                params={"image": IMAGE, "command": ["python3", "-c", SCRIPT, str(i)]},
            )
        )
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = asyncio.run(Engine().run(p, project_dir=Path(folder), use_cache=False))
        elapsed = time.perf_counter() - started
    assert result.ok, result.summary["failed"][:2]
    return elapsed


def register_plain(url: str) -> str:
    return clients(url)["batch"].register_job_definition(
        jobDefinitionName="plain-dispatch",
        type="container",
        containerProperties={
            "image": IMAGE,
            "command": ["python3", "-c", SCRIPT, "Ref::i"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "512"},
            ],
        },
    )["jobDefinitionArn"]


def plain_round(url: str, queue: str, arn: str) -> float:
    batch = clients(url)["batch"]
    started = time.perf_counter()
    ids = [
        batch.submit_job(
            jobName=f"plain-{i}", jobQueue=queue, jobDefinition=arn, parameters={"i": str(i)}
        )["jobId"]
        for i in range(JOBS)
    ]
    pending = set(ids)
    while pending:
        time.sleep(POLL_S)
        for job in batch.describe_jobs(jobs=list(pending))["jobs"]:
            if job["status"] in ("SUCCEEDED", "FAILED"):
                assert job["status"] == "SUCCEEDED", job
                pending.discard(job["jobId"])
    return time.perf_counter() - started


def main() -> None:
    url = os.environ.get("TWINFLOW_MOTO_URL")
    if not url:
        sys.exit("TWINFLOW_MOTO_URL is not set; run scripts/services/moto.sh")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    queue, bucket = set_up(url)
    arn = register_plain(url)
    # Warm-up: the engine registers its definitions here and reuses them afterwards, as the
    # plain side reuses the one it registered.
    engine_round(url, queue, bucket)
    plain_round(url, queue, arn)
    engine_s, plain_s = [], []
    for n in range(ROUNDS):
        time.sleep(SETTLE_S)
        engine_s.append(engine_round(url, queue, bucket))
        time.sleep(SETTLE_S)
        plain_s.append(plain_round(url, queue, arn))
        print(f"round {n}: engine {engine_s[-1]:.2f} s, plain boto3 {plain_s[-1]:.2f} s")
    # The best rounds show the overhead with the least interference from other load.
    print(
        f"best rounds: engine {min(engine_s):.2f} s, plain boto3 {min(plain_s):.2f} s, "
        f"ratio {min(engine_s) / min(plain_s):.3f}"
    )
    value, baseline = statistics.median(engine_s), statistics.median(plain_s)
    print(
        json.dumps(
            {
                "metric": f"batch_dispatch_{JOBS}_jobs_wall",
                "value": round(value, 3),
                "unit": "s",
                "baseline": round(baseline, 3),
                "ratio": round(value / baseline, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
