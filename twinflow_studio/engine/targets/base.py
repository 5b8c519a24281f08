"""The interface every target implements."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinflow_studio.engine.task import CancelFlag, InputArtifact
from twinflow_studio.project.model import HardwareProfile, Node, TargetConfig


@dataclass(slots=True)
class TaskSpec:
    """One attempt of one node, as a target receives it."""

    run_id: str
    node: Node
    params: dict[str, Any]
    inputs: dict[str, InputArtifact]
    output_ports: dict[str, str]
    profile: HardwareProfile
    attempt: int
    work_dir: Path
    project_dir: Path
    log: Callable[[str, str], None]
    cancelled: CancelFlag
    timeout_s: float | None = None
    previous_outputs: dict[str, InputArtifact] = field(default_factory=dict)


@dataclass
class TaskResult:
    """``outputs`` maps each port to a Path (file or folder) or a JSON-able value."""

    outputs: dict[str, Any]
    exit_code: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


class Target(abc.ABC):
    kind: str = ""

    def __init__(self, config: TargetConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect or check reachability; raise TargetUnavailable with a clear reason."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients; called once at the end of a run."""

    @abc.abstractmethod
    async def code_identity(self, node: Node, params: dict[str, Any], project_dir: Path) -> str:
        """What identifies the code the node runs (image digest, source hash)."""

    @abc.abstractmethod
    async def execute(self, spec: TaskSpec) -> TaskResult:
        """Run one attempt. Cancellation (``asyncio.CancelledError``) must stop the work."""

    async def execute_map(self, spec: TaskSpec) -> TaskResult:
        """A map node: by default the items run one after another in the node's slot."""
        from twinflow_studio.engine.mapping import gather, item_spec, map_items

        results = []
        for index, item in enumerate(map_items(spec)):
            results.append(await self.execute(item_spec(spec, index, item)))
        return gather(spec, results)
