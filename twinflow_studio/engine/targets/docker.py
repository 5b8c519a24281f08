"""Local Docker target: one container per attempt, through the docker SDK.

Inputs are bind-mounted read-only at ``/twinflow/inputs/<port>``; the container writes each
output to ``/twinflow/outputs/<port>``. Limits come from the hardware profile. Containers are
never privileged, and are removed when the attempt ends, whatever the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import threading
from pathlib import Path
from typing import Any

from twinflow_studio.engine.collect import (
    CollectionCancelled,
    Limits,
    collect_folder,
    discard,
)
from twinflow_studio.engine.command import render_command
from twinflow_studio.engine.env import NodeEnv, masking, resolve_env
from twinflow_studio.engine.errors import TargetUnavailable, TaskFailed
from twinflow_studio.engine.targets.base import Target, TaskResult, TaskSpec
from twinflow_studio.engine.targets.container_kinds import adapt, adapt_spec
from twinflow_studio.project.container_caps import cap_add_problems, normalized_caps
from twinflow_studio.project.hashing import hash_value
from twinflow_studio.project.model import Node, TargetConfig

INPUTS_DIR = "/twinflow/inputs"
NOBODY = 65534
OUTPUTS_DIR = "/twinflow/outputs"


class DockerTarget(Target):
    kind = "docker"

    def __init__(self, config: TargetConfig) -> None:
        super().__init__(config)
        self._client: Any = None
        self._image_ids: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        return str(
            self.config.options.get("base_url")
            or os.environ.get("DOCKER_HOST")
            or "unix:///var/run/docker.sock"
        )

    async def start(self) -> None:
        import docker

        def connect() -> Any:
            client = docker.DockerClient(base_url=self.base_url, timeout=60)
            client.ping()
            return client

        try:
            self._client = await asyncio.to_thread(connect)
        except Exception as exc:  # docker raises DockerException, requests errors, OSError
            raise TargetUnavailable(
                f"target {self.name!r}: cannot reach the Docker engine at {self.base_url} "
                f"({_short(exc)}). Is dockerd running, and may this user use its socket?"
            ) from exc

    async def close(self) -> None:
        if self._client is not None:
            await asyncio.to_thread(self._client.close)

    async def code_identity(self, node: Node, params: dict[str, Any], project_dir: Path) -> str:
        params, _, code = adapt(node, params, INPUTS_DIR, OUTPUTS_DIR)
        image = str(params.get("image", ""))
        identity = {"image": await self._image_id(image)}
        return hash_value(identity if code is None else {**identity, "code": code})

    async def _image_id(self, image: str) -> str:
        if image not in self._image_ids:
            import docker.errors

            try:
                found = await asyncio.to_thread(self._client.images.get, image)
            except docker.errors.ImageNotFound:
                raise TaskFailed(
                    f"image {image!r} is not on the Docker engine at {self.base_url}; build "
                    "or pull it first (no registry is contacted during a run)",
                    retryable=False,
                ) from None
            except docker.errors.APIError as exc:
                raise TaskFailed(f"cannot inspect image {image!r}: {_short(exc)}") from exc
            self._image_ids[image] = found.id
        return self._image_ids[image]

    async def execute(self, spec: TaskSpec) -> TaskResult:
        spec = adapt_spec(spec, INPUTS_DIR, OUTPUTS_DIR)
        image = str(spec.params["image"])
        await self._image_id(image)
        env = resolve_env(spec.node.id, spec.params.get("env"))
        if env.secrets:
            raise TaskFailed(
                f"env {', '.join(sorted(env.secrets))}: from_secret works on AWS Batch only; "
                'on Docker pass it with {"from_env": "NAME"}',
                retryable=False,
            )
        spec = dataclasses.replace(spec, log=masking(spec.log, env.masked_values()))
        outputs_dir = spec.work_dir / "outputs"
        _prepare_outputs(outputs_dir)
        command = render_command(
            list(spec.params.get("command") or []),
            inputs={port: f"{INPUTS_DIR}/{port}" for port in spec.inputs},
            outputs={port: f"{OUTPUTS_DIR}/{port}" for port in spec.output_ports},
            params=spec.params,
        )
        try:
            kwargs = self._container_kwargs(spec, image, command, outputs_dir, env)
            creating = asyncio.ensure_future(asyncio.to_thread(self._create, kwargs))
            try:
                container = await asyncio.shield(creating)
            except asyncio.CancelledError:  # created all the same in its thread: remove it
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(_kill_and_remove, await creating)
                raise
            status, state = await self._run_container(container, spec)
            return await self._finish(spec, status, state, outputs_dir)
        finally:
            # Whatever the container left (FIFOs, links) must not outlive the attempt.
            await asyncio.shield(asyncio.to_thread(discard, outputs_dir))

    async def _run_container(
        self, container: Any, spec: TaskSpec
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        stop_logs = threading.Event()
        try:
            await asyncio.to_thread(_start, container)
            log_thread = threading.Thread(
                target=_stream_logs, args=(container, spec, stop_logs), daemon=True
            )
            log_thread.start()
            status = await asyncio.to_thread(container.wait)
            await asyncio.to_thread(log_thread.join, 10)
            state = (await asyncio.to_thread(self._inspect, container)).get("State", {})
        except BaseException:  # cancelled, timed out, or the engine failed us: no leftovers
            await asyncio.shield(asyncio.to_thread(_kill_and_remove, container))
            raise
        finally:
            stop_logs.set()
        await asyncio.to_thread(_kill_and_remove, container)
        return status, state

    async def _finish(
        self, spec: TaskSpec, status: dict[str, Any], state: dict[str, Any], outputs_dir: Path
    ) -> TaskResult:
        exit_code = int(status.get("StatusCode", -1))
        if state.get("OOMKilled"):
            raise TaskFailed(
                f"container was killed for running out of memory (limit {spec.profile.memory_mib}"
                f" MiB from hardware profile {spec.profile.name!r}); exit code {exit_code}",
                exit_code=exit_code,
                retryable=False,
            )
        if exit_code != 0:
            raise TaskFailed(f"container exited with code {exit_code}", exit_code=exit_code)
        if not spec.output_ports:
            return TaskResult(outputs={}, exit_code=exit_code)
        # The container is gone; what it left is rebuilt, checked, in a folder of our own.
        limits = Limits.for_profile(spec.profile.name, spec.profile.max_output_mib)
        work = asyncio.to_thread(
            collect_folder,
            outputs_dir,
            spec.work_dir / "collected",
            list(spec.output_ports),
            limits,
            spec.cancelled,
        )
        try:
            found = await work
        except asyncio.CancelledError:
            spec.cancelled.set()  # the collector thread stops at its next check
            raise
        except CollectionCancelled:
            raise TaskFailed("cancelled while collecting the outputs", retryable=False) from None
        return TaskResult(outputs=dict(found), exit_code=exit_code)

    def _container_kwargs(
        self, spec: TaskSpec, image: str, command: list[str], outputs_dir: Path, node_env: NodeEnv
    ) -> dict[str, Any]:
        import docker.types

        mounts = [
            docker.types.Mount(f"{INPUTS_DIR}/{port}", str(art.path), type="bind", read_only=True)
            for port, art in spec.inputs.items()
        ]
        mounts.append(docker.types.Mount(OUTPUTS_DIR, str(outputs_dir), type="bind"))
        env = {**node_env.literal, **node_env.from_host}
        env.update(
            TWINFLOW_INPUTS=INPUTS_DIR,
            TWINFLOW_OUTPUTS=OUTPUTS_DIR,
            TWINFLOW_RUN_ID=spec.run_id,
            TWINFLOW_NODE_ID=spec.node.id,
            TWINFLOW_ATTEMPT=str(spec.attempt),
        )
        problems = cap_add_problems(spec.params.get("cap_add"))
        if problems:
            raise TaskFailed(f"params.cap_add{problems[0][0]}: {problems[0][1]}", retryable=False)
        memory = f"{spec.profile.memory_mib}m"
        kwargs: dict[str, Any] = {
            "image": image,
            "command": command or None,
            "environment": env,
            "mounts": mounts,
            "network_mode": str(spec.params.get("network") or "none"),
            "nano_cpus": int(spec.profile.vcpus * 1e9),
            "mem_limit": memory,
            "memswap_limit": memory,  # no swap: over the limit means OOM, not slow
            "privileged": False,
            "security_opt": ["no-new-privileges"],
            "pids_limit": int(spec.profile.pids_limit),
            "cap_drop": ["ALL"],
            "cap_add": normalized_caps(spec.params.get("cap_add")),
            "labels": {
                "twinflow.run": spec.run_id,
                "twinflow.node": spec.node.id,
                "twinflow.attempt": str(spec.attempt),
            },
            "detach": True,
        }
        if spec.params.get("read_only"):
            kwargs["read_only"] = True
            # Programs expect a scratch /tmp; tmpfs pages count against the memory limit.
            kwargs["tmpfs"] = {"/tmp": f"rw,nosuid,nodev,mode=1777,size={memory}"}
        kwargs["user"] = container_user()
        if spec.params.get("workdir"):
            kwargs["working_dir"] = str(spec.params["workdir"])
        if spec.profile.gpus:
            kwargs["device_requests"] = [
                docker.types.DeviceRequest(count=spec.profile.gpus, capabilities=[["gpu"]])
            ]
        return kwargs

    def _create(self, kwargs: dict[str, Any]) -> Any:
        import docker.errors

        try:
            return self._client.containers.create(**kwargs)
        except docker.errors.APIError as exc:
            raise TaskFailed(
                f"cannot create the container: {_short(exc)}", retryable=False
            ) from exc

    def _inspect(self, container: Any) -> dict[str, Any]:
        container.reload()
        return dict(container.attrs)


def container_user() -> str:
    """Who runs in the container: the invoking user, so that outputs belong to them; when the
    CLI runs as root, nobody (65534) rather than a root that could own the bind mounts."""
    if not hasattr(os, "getuid"):
        return f"{NOBODY}:{NOBODY}"
    if os.geteuid() == 0:
        return f"{NOBODY}:{NOBODY}"
    return f"{os.getuid()}:{os.getgid()}"


def _prepare_outputs(outputs_dir: Path) -> None:
    outputs_dir.mkdir(parents=True, exist_ok=True)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # nobody must be able to write its outputs, and no one else.
        os.chown(outputs_dir, NOBODY, NOBODY)
        os.chmod(outputs_dir, 0o700)


def _stream_logs(container: Any, spec: TaskSpec, stop: threading.Event) -> None:
    try:
        pending = b""
        for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=True):
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                spec.log(line.decode("utf-8", "replace"), "stdout")
            if stop.is_set():
                break
        if pending:
            spec.log(pending.decode("utf-8", "replace"), "stdout")
    except Exception as exc:  # the container may vanish under a cancel
        if not stop.is_set():
            spec.log(f"log stream ended: {_short(exc)}", "engine")


def _start(container: Any) -> None:
    import docker.errors

    try:
        container.start()
    except docker.errors.APIError as exc:
        # e.g. the command's executable is not in the image: no retry can fix that.
        raise TaskFailed(f"cannot start the container: {_short(exc)}", retryable=False) from exc


def _kill_and_remove(container: Any) -> None:
    import docker.errors

    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError:
        pass


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
