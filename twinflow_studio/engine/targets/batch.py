"""AWS Batch target: one Batch job per attempt (one array job per map node), data via S3.

The container contract is the Docker target's: inputs at ``/twinflow/inputs/<port>``, outputs
written to ``/twinflow/outputs/<port>``, the same command placeholders and TWINFLOW_* env.
A small bootstrap (``batch_bootstrap``) makes that true in a Batch container: it fetches a
manifest and the inputs through presigned URLs, runs the command, and puts the outputs back
the same way, so the container needs no AWS credentials. Inputs are stored once per content
hash; outputs are downloaded into the attempt's folder and returned as paths, so the run
store hashes them like any other artifact. Retries stay in the engine: a job definition
never retries by itself. Every boto3 call runs in the target's thread pool.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from twinflow_studio.engine.collect import CollectionCancelled, Limits
from twinflow_studio.engine.command import render_command
from twinflow_studio.engine.env import NodeEnv, masking, resolve_env
from twinflow_studio.engine.errors import TargetUnavailable, TaskFailed
from twinflow_studio.engine.targets.base import Target, TaskResult, TaskSpec
from twinflow_studio.engine.targets.batch_config import (
    BatchClients,
    BatchOptions,
    describe_failure,
    make_clients,
    parse_options,
)
from twinflow_studio.engine.targets.batch_jobdefs import JobDefinitions, job_definition_body
from twinflow_studio.engine.targets.batch_logs import LogFollower
from twinflow_studio.engine.targets.batch_poller import TERMINAL, JobPoller, PollError
from twinflow_studio.engine.targets.batch_s3 import ArtifactStager
from twinflow_studio.engine.targets.container_kinds import adapt, adapt_spec
from twinflow_studio.project.hashing import hash_value
from twinflow_studio.project.map_dims import map_ports
from twinflow_studio.project.model import Node, TargetConfig

INPUTS_DIR = "/twinflow/inputs"
OUTPUTS_DIR = "/twinflow/outputs"
# AWS Batch: an array job has 2 to 10,000 children.
MAX_ARRAY = 10_000


class BatchTarget(Target):
    kind = "batch"

    def __init__(self, config: TargetConfig) -> None:
        super().__init__(config)
        threads = _threads(config.options.get("threads", 16))
        # A bad value fails the target when it starts, with the option named, not the run.
        self._threads_error = None if threads else f"target {config.name!r}: option threads"
        threads = threads or 16
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="twinflow-batch")
        self._threads = threads
        self._options: BatchOptions | None = None
        self._clients: BatchClients | None = None
        self._stager: ArtifactStager | None = None
        self._jobdefs: JobDefinitions | None = None
        self._poller: JobPoller | None = None

    async def _call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(func, *args, **kwargs))

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._threads_error:
            raise TargetUnavailable(f"{self._threads_error} must be a whole number from 1 to 256")
        options = parse_options(self.config)
        try:
            clients = await self._call(make_clients, options, self._threads)
            options = dataclasses.replace(options, region=clients.region)
        except TargetUnavailable:
            raise
        except Exception as exc:
            raise TargetUnavailable(
                f"{options.where}: cannot reach AWS Batch: {describe_failure(exc)}"
            ) from exc
        stager = ArtifactStager(clients.s3, options)
        # Both checks at once: each is a round trip, and a run waits for them.
        found: Any
        bucket_error: Any
        found, bucket_error = await asyncio.gather(
            self._call(clients.batch.describe_job_queues, jobQueues=[options.job_queue]),
            self._call(_error_of, stager.check_bucket),
            return_exceptions=True,
        )
        if isinstance(found, BaseException):
            raise TargetUnavailable(
                f"{options.where}: cannot reach AWS Batch: {describe_failure(found)}"
            ) from found
        queues = found.get("jobQueues") or []
        if not queues:
            raise TargetUnavailable(
                f"{options.where}: job queue {options.job_queue!r} does not exist in region "
                f"{options.region}; create it or fix the 'job_queue' option"
            )
        queue = queues[0]
        if queue.get("state") != "ENABLED" or queue.get("status") == "INVALID":
            raise TargetUnavailable(
                f"{options.where}: job queue {options.job_queue!r} is {queue.get('state')}/"
                f"{queue.get('status')} ({queue.get('statusReason', 'no reason given')})"
            )
        if bucket_error is not None:
            raise TargetUnavailable(
                f"{options.where}: artifact bucket {options.bucket!r} is not usable: "
                f"{describe_failure(bucket_error)}"
            ) from bucket_error
        self._options, self._clients, self._stager = options, clients, stager
        scope = (options.endpoint_url or "", clients.region, options.profile or "")
        self._jobdefs = JobDefinitions(clients.batch, self._call, scope)
        self._poller = JobPoller(self._describe, self._call, options.poll_min_s, options.poll_max_s)

    async def close(self) -> None:
        if self._poller is not None:
            await self._poller.close()
        if self._clients is not None:
            for client in (self._clients.batch, self._clients.s3, self._clients.logs):
                close = getattr(client, "close", None)
                if close is not None:
                    await self._call(close)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _describe(self, job_ids: list[str]) -> list[dict[str, Any]]:
        assert self._clients is not None
        return list(self._clients.batch.describe_jobs(jobs=job_ids).get("jobs") or [])

    async def code_identity(self, node: Node, params: dict[str, Any], project_dir: Path) -> str:
        return image_identity(node, params)

    # -- running ---------------------------------------------------------------------------

    async def execute(self, spec: TaskSpec) -> TaskResult:
        return (await self._run_job(spec, None))[0]

    async def execute_map(self, spec: TaskSpec) -> TaskResult:
        """A map node runs as one array job; child N takes item N of the mapped input."""
        from twinflow_studio.engine.mapping import gather, map_items

        items = map_items(spec)
        if len(items) > MAX_ARRAY:
            raise TaskFailed(
                f"map input {spec.node.map_over!r} has {len(items)} items; an AWS Batch array "
                f"job takes at most {MAX_ARRAY}",
                retryable=False,
            )
        if not items:
            return gather(spec, [])
        results = await self._run_job(spec, items)
        gathered = gather(spec, results)
        gathered.metrics = dict(results[0].metrics)
        return gathered

    async def _run_job(self, spec: TaskSpec, items: list[Any] | None) -> list[TaskResult]:
        assert self._options is not None and self._clients is not None
        assert self._stager is not None and self._jobdefs is not None
        spec = adapt_spec(spec, INPUTS_DIR, OUTPUTS_DIR)
        options = self._options
        count = 1 if items is None else len(items)
        base = options.key("runs", spec.run_id, spec.node.id, f"attempt-{spec.attempt}")
        env = resolve_env(spec.node.id, spec.params.get("env"))
        spec = dataclasses.replace(spec, log=masking(spec.log, env.masked_values()))
        arn = await self._definition(spec, env)
        manifest = await self._call(self._stage, spec, items, base)
        job_id = await self._submit(spec, arn, manifest, count, env)
        ids = [job_id] if count == 1 else [f"{job_id}:{i}" for i in range(count)]
        spec.log(
            f"Batch job {job_id} submitted to queue {options.job_queue}"
            + (f" as an array of {count}" if count > 1 else ""),
            "engine",
        )
        final, followers = await self._wait(spec, job_id, ids)
        await asyncio.gather(
            *(f.drain(final[i], options.log_drain_s) for i, f in followers.items())
        )
        metrics = {"batch_job_id": job_id, "batch_job_definition": arn}
        failed = [i for i in ids if final[i].get("status") == "FAILED"]
        if failed:
            raise await self._failure(failed, final, followers, base, ids)
        if not spec.output_ports:
            return [TaskResult(outputs={}, exit_code=0, metrics=metrics) for _ in ids]
        limits = Limits.for_profile(spec.profile.name, spec.profile.max_output_mib)
        downloads = [
            self._call(
                self._stager.download_outputs,
                f"{base}/outputs-{index}.tar.gz",
                spec.work_dir / "outputs"
                if items is None
                else spec.work_dir / "items" / str(index) / "outputs",
                list(spec.output_ports),
                limits,
                spec.cancelled,
            )
            for index in range(count)
        ]
        try:
            gathered = await asyncio.gather(*downloads)
        except asyncio.CancelledError:
            spec.cancelled.set()  # the extracting threads stop at their next check
            raise
        except CollectionCancelled:
            raise TaskFailed("cancelled while collecting the outputs", retryable=False) from None
        return [TaskResult(outputs=found, exit_code=0, metrics=metrics) for found in gathered]

    async def _definition(self, spec: TaskSpec, node_env: NodeEnv) -> str:
        assert self._options is not None and self._jobdefs is not None
        image = str(spec.params.get("image") or "")
        if not image:
            raise TaskFailed(f"node {spec.node.id!r} has no image to run", retryable=False)
        raw = list(spec.params.get("command") or [])
        if not raw:
            raise TaskFailed(
                f"node {spec.node.id!r}: a Batch node needs a command (the bootstrap runs it "
                "in place of the image's default command)",
                retryable=False,
            )
        command = render_command(
            raw,
            inputs={port: f"{INPUTS_DIR}/{port}" for port in spec.inputs},
            outputs={port: f"{OUTPUTS_DIR}/{port}" for port in spec.output_ports},
            params=spec.params,
        )
        # Values read from the host go with the job (containerOverrides), never into the
        # definition: it is named by its content and outlives the run.
        env = dict(node_env.literal)
        env.update(TWINFLOW_INPUTS=INPUTS_DIR, TWINFLOW_OUTPUTS=OUTPUTS_DIR)
        body = job_definition_body(
            name_prefix=self._options.job_name_prefix,
            image=image,
            command=command,
            workdir=str(spec.params.get("workdir") or ""),
            env=env,
            profile=spec.profile,
            timeout_s=spec.timeout_s,
            secrets=node_env.secrets,
            execution_role_arn=self._options.execution_role_arn,
        )
        try:
            return await self._jobdefs.arn_for(body)
        except Exception as exc:
            raise TaskFailed(
                f"{self._options.where}: cannot register a job definition for image "
                f"{image!r}: {describe_failure(exc)}",
                retryable=_retryable(exc),
            ) from exc

    def _stage(self, spec: TaskSpec, items: list[Any] | None, base: str) -> str:
        """Uploads what is missing and writes the manifest; returns its presigned URL."""
        assert self._stager is not None
        stager = self._stager
        count = 1 if items is None else len(items)
        item_ports = map_ports(spec.node) if items is not None else []
        assert self._options is not None
        # The URLs die with the job: a job past its timeout is terminated anyway.
        expires = self._options.expiry_for(spec.timeout_s)
        try:
            manifest: dict[str, Any] = {
                "env": {
                    "TWINFLOW_RUN_ID": spec.run_id,
                    "TWINFLOW_NODE_ID": spec.node.id,
                    "TWINFLOW_ATTEMPT": str(spec.attempt),
                },
                "inputs": {
                    port: stager.input_entry(art, expires)
                    for port, art in sorted(spec.inputs.items())
                    if port not in item_ports
                },
                "output_ports": sorted(spec.output_ports),
                "outputs": [
                    stager.presign("put_object", f"{base}/outputs-{i}.tar.gz", expires)
                    for i in range(count)
                ],
                "results": [
                    stager.presign("put_object", f"{base}/result-{i}.json", expires)
                    for i in range(count)
                ],
            }
            if len(item_ports) == 1:
                manifest["item_port"] = item_ports[0]
                manifest["items"] = items
            elif item_ports:  # several mapped ports: each item is a list, one value per port
                manifest["item_ports"] = item_ports
                manifest["items"] = items
            return stager.put_manifest(f"{base}/manifest.json", manifest, expires)
        except TaskFailed:
            raise
        except Exception as exc:
            raise TaskFailed(
                f"cannot stage inputs in s3://{self._options.bucket if self._options else ''}: "
                f"{describe_failure(exc)}"
            ) from exc

    async def _submit(
        self, spec: TaskSpec, arn: str, manifest: str, count: int, node_env: NodeEnv
    ) -> str:
        assert self._options is not None and self._clients is not None
        options = self._options
        kwargs: dict[str, Any] = {
            "jobName": _job_name(f"{options.job_name_prefix}-{spec.node.id}-a{spec.attempt}"),
            "jobQueue": options.job_queue,
            "jobDefinition": arn,
            "parameters": {"manifest": manifest},
            "tags": {
                "twinflow:run": spec.run_id,
                "twinflow:node": spec.node.id[:256],
                "twinflow:attempt": str(spec.attempt),
            },
        }
        if count > 1:
            kwargs["arrayProperties"] = {"size": count}
        if node_env.from_host:
            kwargs["containerOverrides"] = {
                "environment": [
                    {"name": k, "value": v} for k, v in sorted(node_env.from_host.items())
                ]
            }
        pending = asyncio.ensure_future(self._call(self._clients.batch.submit_job, **kwargs))
        try:
            found = await asyncio.shield(pending)
        except asyncio.CancelledError:
            # Cancelled mid-call: the job may exist all the same, so stop it before leaving.
            try:
                found = await pending
            except Exception:
                raise asyncio.CancelledError() from None
            await asyncio.shield(self._terminate(str(found["jobId"]), []))
            raise
        except Exception as exc:
            if self._jobdefs is not None:
                # The definition may have been deregistered behind our back; the retry
                # registers it again.
                self._jobdefs.forget(arn)
            raise TaskFailed(
                f"{options.where}: cannot submit the job: {describe_failure(exc)}",
                retryable=_retryable(exc) or "definition" in str(exc).lower(),
            ) from exc
        return str(found["jobId"])

    async def _wait(
        self, spec: TaskSpec, job_id: str, ids: list[str]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, LogFollower]]:
        """Until every job in ``ids`` is SUCCEEDED or FAILED; logs stream meanwhile."""
        assert self._poller is not None and self._options is not None
        options = self._options
        followers = {
            child: LogFollower(
                self._clients.logs if self._clients else None,
                self._call,
                options.log_group,
                _emitter(spec, f"[item {n}] " if len(ids) > 1 else ""),
                options.log_poll_s,
            )
            for n, child in enumerate(ids)
        }
        final: dict[str, dict[str, Any]] = {}
        status: dict[str, str] = {}
        queue = self._poller.watch(ids)
        try:
            while len(final) < len(ids):
                desc = await queue.get()
                if isinstance(desc, PollError):
                    raise TaskFailed(f"{options.where}: job {job_id}: {desc}")
                child = str(desc["jobId"])
                state = str(desc.get("status", ""))
                if status.get(child) != state:
                    status[child] = state
                    if len(ids) == 1:
                        spec.log(f"Batch job {job_id}: {state}", "engine")
                followers[child].poke(desc)
                if state in TERMINAL:
                    final[child] = desc
        except BaseException:
            await asyncio.shield(self._terminate(job_id, [i for i in ids if i not in final]))
            for follower in followers.values():
                await follower.stop()
            raise
        finally:
            self._poller.unwatch(ids)
        if len(ids) > 1:
            ok = sum(1 for d in final.values() if d.get("status") == "SUCCEEDED")
            spec.log(f"Batch array job {job_id}: {ok} of {len(ids)} succeeded", "engine")
        return final, followers

    async def _terminate(self, job_id: str, children: list[str]) -> None:
        """Stops the job (and its unfinished children: not every Batch stops them itself)."""
        assert self._clients is not None
        reason = "cancelled by TwinFlow Studio"

        def stop(target: str) -> None:
            try:
                self._clients.batch.terminate_job(jobId=target, reason=reason)  # type: ignore[union-attr]
            except Exception:  # gone already, or the network is away: nothing else to do
                pass

        targets = [job_id, *[c for c in children if c != job_id]]
        await asyncio.gather(*(self._call(stop, t) for t in targets))

    async def _failure(
        self,
        failed: list[str],
        final: dict[str, dict[str, Any]],
        followers: dict[str, LogFollower],
        base: str,
        ids: list[str],
    ) -> TaskFailed:
        assert self._stager is not None
        parts = []
        first_code: int | None = None
        for child in failed[:3]:
            desc = final[child]
            code = _exit_code(desc)
            if code is None:
                code = followers[child].exit_code
            if code is None:
                result = await self._call(
                    self._stager.read_result, f"{base}/result-{ids.index(child)}.json"
                )
                if result is not None and isinstance(result.get("exit_code"), int):
                    code = result["exit_code"]
            first_code = code if first_code is None else first_code
            reason = desc.get("statusReason") or "no status reason given"
            where = f"item {ids.index(child)} " if len(ids) > 1 else ""
            exit_text = f"exit code {code}" if code is not None else "no exit code"
            parts.append(f"{where}job {child} FAILED: {reason}; {exit_text}")
        more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
        head = f"{len(failed)} of {len(ids)} array children failed: " if len(ids) > 1 else ""
        return TaskFailed("Batch " + head + "; ".join(parts) + more, exit_code=first_code)


def _threads(value: Any) -> int:
    """The ``threads`` option, or 0 when it is not a whole number from 1 to 256."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    return number if 1 <= number <= 256 else 0


def _error_of(func: Any) -> BaseException | None:
    try:
        func()
    except Exception as exc:
        return exc
    return None


def _emitter(spec: TaskSpec, prefix: str) -> Any:
    return lambda line: spec.log(prefix + line, "stdout")


def _exit_code(desc: dict[str, Any]) -> int | None:
    code = (desc.get("container") or {}).get("exitCode")
    if code is None and desc.get("attempts"):
        code = (desc["attempts"][-1].get("container") or {}).get("exitCode")
    return int(code) if code is not None else None


def _job_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:128]


def _retryable(exc: BaseException) -> bool:
    """A request AWS rejected as invalid will be rejected again; anything else may pass."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") not in (
            "ClientException",
            "ValidationException",
        )
    return True


def image_identity(node: Node, params: dict[str, Any]) -> str:
    """A Batch node's code identity: its image as named, and its code (no service call)."""
    # The registry resolves the tag when the job starts; pin a digest (image@sha256:...)
    # for the cache to be exact.
    params, _, code = adapt(node, params, INPUTS_DIR, OUTPUTS_DIR)
    identity = {"image": str(params.get("image", ""))}
    return hash_value(identity if code is None else {**identity, "code": code})
