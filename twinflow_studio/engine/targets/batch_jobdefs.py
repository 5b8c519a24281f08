"""Job definitions: one per distinct (image, hardware profile, command shape, environment,
timeout), named by the hash of that content so an unchanged node reuses its definition."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

from twinflow_studio.engine.targets.batch_bootstrap import bootstrap_source
from twinflow_studio.project.hashing import hash_value
from twinflow_studio.project.model import HardwareProfile

SPEC_TAG = "twinflow:spec"
# AWS Batch rejects an attempt duration below 60 s.
MIN_ATTEMPT_S = 60


def job_definition_body(
    *,
    name_prefix: str,
    image: str,
    command: list[str],
    workdir: str,
    env: dict[str, str],
    profile: HardwareProfile,
    timeout_s: float | None,
    secrets: dict[str, str] | None = None,
    execution_role_arn: str | None = None,
) -> dict[str, Any]:
    """The register_job_definition arguments; the name carries the content hash."""
    resources = [
        # EC2 compute environments take whole vCPUs only.
        {"type": "VCPU", "value": str(max(1, math.ceil(profile.vcpus)))},
        {"type": "MEMORY", "value": str(int(profile.memory_mib))},
    ]
    if profile.gpus:
        resources.append({"type": "GPU", "value": str(int(profile.gpus))})
    container: dict[str, Any] = {
        "image": image,
        # The manifest URL is the only per-job value: a job parameter, substituted by Batch.
        "command": ["python3", "-c", bootstrap_source(), "Ref::manifest", workdir, *command],
        "resourceRequirements": resources,
        "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
    }
    if secrets:
        # Batch reads each value from Secrets Manager / SSM at start: only the ARN is here.
        container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())]
    if execution_role_arn:
        container["executionRoleArn"] = execution_role_arn
    body: dict[str, Any] = {
        "type": "container",
        "containerProperties": container,
        # Retries belong to the engine (one job per attempt), so Batch must not retry too.
        "retryStrategy": {"attempts": 1},
    }
    if timeout_s is not None:
        # A backstop for when the engine is gone; the engine's own timer fires first.
        body["timeout"] = {"attemptDurationSeconds": max(MIN_ATTEMPT_S, math.ceil(timeout_s))}
    digest = hash_value(body)[:24]
    body["jobDefinitionName"] = _name(f"{name_prefix}-{digest}")
    body["tags"] = {SPEC_TAG: digest}
    return body


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:128]


# Definitions named by their content never change, so what one run found serves the next
# runs of this process too. Keyed by (endpoint, region, account profile, name).
_KNOWN: dict[tuple[str, ...], str] = {}


class JobDefinitions:
    """Finds an ACTIVE definition with the same content, else registers one; remembers both."""

    def __init__(
        self, batch: Any, run: Callable[..., Awaitable[Any]], scope: tuple[str, ...]
    ) -> None:
        self._batch = batch
        self._run = run
        self._scope = scope
        self._locks: dict[str, asyncio.Lock] = {}

    async def arn_for(self, body: dict[str, Any]) -> str:
        key = (*self._scope, body["jobDefinitionName"])
        if key in _KNOWN:
            return _KNOWN[key]
        lock = self._locks.setdefault(key[-1], asyncio.Lock())
        async with lock:
            if key not in _KNOWN:
                _KNOWN[key] = await self._run(self._find_or_register, body)
        return _KNOWN[key]

    def forget(self, arn: str) -> None:
        """After Batch refused ``arn`` (deregistered elsewhere): look it up again next time."""
        for key in [
            k for k, v in _KNOWN.items() if v == arn and k[: len(self._scope)] == self._scope
        ]:
            del _KNOWN[key]

    def _find_or_register(self, body: dict[str, Any]) -> str:
        name = body["jobDefinitionName"]
        found = self._batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")
        active = [d for d in found.get("jobDefinitions", []) if d.get("status") == "ACTIVE"]
        if active:
            return str(max(active, key=lambda d: int(d.get("revision", 0)))["jobDefinitionArn"])
        return str(self._batch.register_job_definition(**body)["jobDefinitionArn"])
