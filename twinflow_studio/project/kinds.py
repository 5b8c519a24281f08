"""Node kinds: what a node of each kind takes (parameters, ports) and where it runs.

Kinds are declarative so that a `.twin` file can be validated without importing any user
code. In-process kinds name their executor by import path; the engine imports it only when
a node of that kind runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PORT_TYPES: tuple[str, ...] = ("file", "dataframe", "json", "model", "posterior", "any")
PARAM_TYPES: tuple[str, ...] = ("str", "int", "float", "bool", "list", "dict", "any")
TargetKind = Literal["process", "inprocess", "docker", "batch"]
# Python code runs in worker processes by default; threads of the engine only when asked.
PYTHON_TARGETS: tuple[str, ...] = ("process", "inprocess")


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str = "any"
    default: Any = None
    required: bool = False
    doc: str = ""
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class PortSpec:
    name: str
    type: str = "any"
    required: bool = True
    doc: str = ""


@dataclass(frozen=True)
class NodeKind:
    """A kind of node. ``user_ports`` kinds let each node declare its own ports."""

    name: str
    label: str
    category: str
    doc: str
    params: tuple[ParamSpec, ...] = ()
    inputs: tuple[PortSpec, ...] = ()
    outputs: tuple[PortSpec, ...] = ()
    user_ports: bool = False
    # Extra parameters beyond ``params`` are allowed (containers use them as {params.KEY}).
    user_params: bool = False
    # Which target kinds can run it; the first is the default.
    target_kinds: tuple[str, ...] = ("inprocess",)
    executor: str | None = None
    # A non-container kind that may also run on Docker/Batch names the adapter giving its
    # image, command and extra inputs there: "module:function(params, inputs_dir, outputs_dir)".
    container: str | None = None
    extension_point: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)

    def param(self, name: str) -> ParamSpec | None:
        for spec in self.params:
            if spec.name == name:
                return spec
        return None


_REGISTRY: dict[str, NodeKind] = {}


def register_kind(kind: NodeKind) -> NodeKind:
    _REGISTRY[kind.name] = kind
    return kind


def get_kind(name: str) -> NodeKind | None:
    _ensure_builtin()
    return _REGISTRY.get(name)


def all_kinds() -> list[NodeKind]:
    _ensure_builtin()
    return sorted(_REGISTRY.values(), key=lambda k: (k.category, k.label))


def port_types_compatible(source: str, target: str) -> bool:
    """Whether an output of type ``source`` may feed an input of type ``target``."""
    if source == target or "any" in (source, target):
        return True
    # A dataframe artifact is a file (CSV/Parquet), and a file can be read as a dataframe.
    return {source, target} == {"file", "dataframe"}


_loaded = False


def _ensure_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from twinflow_studio.project import (  # noqa: F401
        kinds_builtin,
        kinds_composition,
        kinds_twinstat,
        mqtt_params,
    )
