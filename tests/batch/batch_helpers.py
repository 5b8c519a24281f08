"""A Batch set-up on moto_server (compute environment, job queue, bucket) and project builders.

The product code assumes the queue and bucket exist; only the tests create them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from twinflow_studio.engine import Engine, RunResult
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import Node, Port, Project, TargetConfig

REGION = "us-east-1"
PROFILE = "twinflow-moto"


@dataclass(frozen=True)
class MotoBatch:
    url: str
    queue: str
    bucket: str

    def client(self, service: str) -> Any:
        session = boto3.Session(profile_name=PROFILE, region_name=REGION)
        return session.client(service, endpoint_url=self.url)

    def target(self, name: str = "aws", **options: Any) -> TargetConfig:
        merged = {
            "region": REGION,
            "job_queue": self.queue,
            "s3_prefix": f"s3://{self.bucket}/twinflow",
            "endpoint_url": self.url,
            "profile": PROFILE,
            "poll_min_s": 0.25,
            "log_drain_s": 3,
        }
        merged.update(options)
        # Batch capacity is the queue's; this budget only bounds how many jobs a run submits.
        return TargetConfig(name, "batch", vcpus=64, memory_mib=262144, options=merged)

    def jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        batch = self.client("batch")
        kwargs: dict[str, Any] = {"jobQueue": self.queue}
        if status:
            kwargs["jobStatus"] = status
        return list(batch.list_jobs(**kwargs)["jobSummaryList"])

    def describe(self, job_id: str) -> dict[str, Any]:
        return self.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]


def create_moto_batch(url: str) -> MotoBatch:
    suffix = uuid.uuid4().hex[:8]
    rig = MotoBatch(url=url, queue=f"twinflow-q-{suffix}", bucket=f"twinflow-art-{suffix}")
    iam = rig.client("iam")
    role = iam.create_role(
        RoleName=f"twinflow-batch-{suffix}", AssumeRolePolicyDocument=json.dumps({})
    )["Role"]["Arn"]
    batch = rig.client("batch")
    batch.create_compute_environment(
        computeEnvironmentName=f"twinflow-ce-{suffix}",
        type="UNMANAGED",
        state="ENABLED",
        serviceRole=role,
    )
    batch.create_job_queue(
        jobQueueName=rig.queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": f"twinflow-ce-{suffix}"}],
    )
    rig.client("s3").create_bucket(Bucket=rig.bucket)
    return rig


def write_credentials(folder: Path) -> dict[str, str]:
    """A shared credentials file with the test profile; returns the env that selects it."""
    folder.mkdir(parents=True, exist_ok=True)
    creds = folder / "credentials"
    creds.write_text(f"[{PROFILE}]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    config = folder / "config"
    config.write_text(f"[profile {PROFILE}]\nregion = {REGION}\n")
    return {
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_CONFIG_FILE": str(config),
        # Never ask an instance metadata service: only loopback traffic in tests.
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def container(
    node_id: str, image: str, script: str, inputs: tuple = (), outputs: tuple = (), **extra: Any
) -> Node:
    return Node(
        node_id,
        "container",
        params={"image": image, "command": ["python3", "-c", script]},
        inputs=[Port(n, t) for n, t in inputs],
        outputs=[Port(n, t) for n, t in outputs],
        target="aws",
        **extra,
    )


def project(name: str, rig: MotoBatch, **target_options: Any) -> Project:
    p = Project(name)
    p.targets["aws"] = rig.target(**target_options)
    return p


def run(p: Project, folder: Path, events: list | None = None) -> RunResult:
    engine = Engine([events.append] if events is not None else [])
    return asyncio.run(engine.run(p, project_dir=folder))


def value(result: RunResult, node_id: str, port: str) -> Any:
    return json.loads(artifact_path(result.output(node_id, port)).read_text())


def log_lines(events: list, node_id: str) -> list[str]:
    return [e.line for e in events if type(e).__name__ == "LogLine" and e.node_id == node_id]


# The Batch rig's fixtures, shared by tests/batch and tests/security (their conftests import
# them, which registers them there).
AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


@pytest.fixture(scope="session")
def aws_profile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The test profile in a private credentials file; no other credentials are visible."""
    env = write_credentials(tmp_path_factory.mktemp("aws"))
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_ENV:
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="session")
def moto_batch(moto_url: str, base_image: str, aws_profile: dict[str, str]) -> MotoBatch:
    return create_moto_batch(moto_url)


@pytest.fixture()
def image(base_image: str) -> str:
    return base_image
