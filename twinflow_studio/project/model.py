"""The project document: nodes with typed ports, edges, hardware profiles, targets, triggers.

Everything here is plain data. `semantic_dict()` is what defines the project version; the
canvas layout is kept apart so that moving a node never changes the version.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from twinflow_studio.project.hashing import hash_value
from twinflow_studio.project.kinds import PortSpec, get_kind


@dataclass
class Port:
    name: str
    type: str = "any"
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required}


@dataclass
class RetryPolicy:
    count: int = 0
    backoff_s: float = 1.0
    backoff_factor: float = 2.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (2 = the first retry)."""
        return self.backoff_s * self.backoff_factor ** max(0, attempt - 2)


@dataclass
class Node:
    id: str
    kind: str
    name: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[Port] = field(default_factory=list)
    outputs: list[Port] = field(default_factory=list)
    profile: str = "default"
    target: str | None = None
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float | None = None
    # Name of a list-typed input this node is mapped over (fan-out; an array job on Batch).
    map_over: str | None = None
    # Several mapped inputs ("a,b"): every combination ("product") or pairwise ("zip").
    map_mode: str = "product"
    # Muted (bypassed): a run skips it and what depends on it, and still succeeds.
    muted: bool = False
    # Where a flattened node came from ("outer/inner/node"); never part of the version.
    subgraph_path: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        return self.name or self.id

    def input_ports(self) -> list[Port]:
        """The node's own ports, or its kind's fixed ports when it declares none."""
        return self.inputs or [
            Port(p.name, p.type, p.required) for p in _kind_ports(self.kind, "inputs")
        ]

    def output_ports(self) -> list[Port]:
        return self.outputs or [
            Port(p.name, p.type, p.required) for p in _kind_ports(self.kind, "outputs")
        ]

    def effective_params(self) -> dict[str, Any]:
        """Parameters with the kind's defaults filled in."""
        kind = get_kind(self.kind)
        merged: dict[str, Any] = {}
        if kind is not None:
            for spec in kind.params:
                default = spec.default
                if default is None:
                    continue
                if isinstance(default, (dict, list, set)):
                    # The node gets its own copy to change; an empty one is made, not copied.
                    default = copy.deepcopy(default) if default else type(default)()
                merged[spec.name] = default
        merged.update(self.params)
        return merged


def _kind_ports(kind_name: str, side: str) -> tuple[PortSpec, ...]:
    kind = get_kind(kind_name)
    if kind is None:
        return ()
    return kind.inputs if side == "inputs" else kind.outputs


@dataclass
class Edge:
    source: str
    source_port: str
    target: str
    target_port: str

    def to_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "source_port": self.source_port,
            "target": self.target,
            "target_port": self.target_port,
        }


DEFAULT_PIDS_LIMIT = 512
DEFAULT_MAX_OUTPUT_MIB = 10240


@dataclass
class HardwareProfile:
    name: str
    vcpus: float = 1.0
    memory_mib: int = 512
    gpus: int = 0
    arch: str = "x86_64"
    # Containers: most processes (threads count) at once; a fork bomb stops there.
    pids_limit: int = DEFAULT_PIDS_LIMIT
    # Containers and Batch jobs: most bytes of outputs brought back into the run store.
    max_output_mib: int = DEFAULT_MAX_OUTPUT_MIB


@dataclass
class TargetConfig:
    """A named place to run nodes. ``options`` holds backend settings (never secrets)."""

    name: str
    kind: str
    vcpus: float = 2.0
    memory_mib: int = 4096
    gpus: int = 0
    arch: str = "x86_64"
    options: dict[str, Any] = field(default_factory=dict)

    def fits(self, profile: HardwareProfile) -> bool:
        return (
            profile.vcpus <= self.vcpus
            and profile.memory_mib <= self.memory_mib
            and profile.gpus <= self.gpus
            and (profile.arch in ("any", self.arch))
        )


def default_profiles() -> dict[str, HardwareProfile]:
    return {"default": HardwareProfile("default", vcpus=1.0, memory_mib=512)}


DEFAULT_PROCESS_TARGET = "workers"


def default_process_target() -> TargetConfig:
    """Where Python and TwinStat nodes run unless told otherwise: one worker process per
    vCPU, kept warm between runs."""
    return TargetConfig(DEFAULT_PROCESS_TARGET, "process", vcpus=4.0, memory_mib=8192)


def default_targets() -> dict[str, TargetConfig]:
    # In-process work is light (mostly waiting on Python callables): several at once per core.
    return {
        DEFAULT_PROCESS_TARGET: default_process_target(),
        "local": TargetConfig("local", "inprocess", vcpus=8.0, memory_mib=8192),
        "docker": TargetConfig("docker", "docker", vcpus=2.0, memory_mib=4096),
    }


@dataclass
class Project:
    name: str = "untitled"
    description: str = ""
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    profiles: dict[str, HardwareProfile] = field(default_factory=default_profiles)
    targets: dict[str, TargetConfig] = field(default_factory=default_targets)
    triggers: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    # Canvas layout: node id -> {"x", "y", ...}; and free-form UI state (backdrops, view).
    layout: dict[str, Any] = field(default_factory=dict)

    def add_node(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise ValueError(f"a node with id {node.id!r} already exists")
        self.nodes[node.id] = node
        return node

    def connect(self, source: str, source_port: str, target: str, target_port: str) -> Edge:
        edge = Edge(source, source_port, target, target_port)
        self.edges.append(edge)
        return edge

    def remove_node(self, node_id: str) -> None:
        self.nodes.pop(node_id, None)
        self.edges = [e for e in self.edges if node_id not in (e.source, e.target)]
        self.layout.get("nodes", {}).pop(node_id, None)

    def incoming(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.target == node_id]

    def reachable(self, roots: Iterable[str], *, upstream: bool = False) -> set[str]:
        """``roots`` and every node reachable from them along the edges (against the edges
        with ``upstream``: what they need rather than what needs them)."""
        links: dict[str, list[str]] = {}
        for e in self.edges:
            a, b = (e.target, e.source) if upstream else (e.source, e.target)
            links.setdefault(a, []).append(b)
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(links.get(node, ()))
        return seen

    def semantic_dict(self) -> dict[str, Any]:
        from twinflow_studio.project.twinfile import semantic_to_dict

        return semantic_to_dict(self)

    def version(self) -> str:
        """The content hash of the semantic part: the project version."""
        return hash_value(self.semantic_dict())

    def copy(self) -> Project:
        return copy.deepcopy(self)
