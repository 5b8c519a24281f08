"""Node kinds: what a node of each kind takes (parameters, ports) and where it runs.

Kinds are declarative so that a `.twin` file can be validated without importing any user
code. In-process kinds name their executor by import path; the engine imports it only when
a node of that kind runs. Kinds come from packages through the ``twinflow_studio.kinds``
entry point group, the core's own included (see ``plugins.py`` and docs/plugins.md).
"""

from __future__ import annotations

import sys
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
    # A value that shows what is expected (the editor's placeholder), never a type name.
    example: Any = None
    # A path parameter: "file", "folder" or "file_or_folder" (the editor offers Browse…).
    path: str = ""
    # A structured value with its own editor: "priors", "noise", or "node:KIND" (the id of
    # a node of that kind in the project).
    form: str = ""


PATH_KINDS: tuple[str, ...] = ("file", "folder", "file_or_folder")


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
    # A freedesktop theme icon name (e.g. 'view-statistics'); the palette shows it.
    icon: str = ""
    # The distribution that provides the kind ("twinflow-studio" for the core); set when the
    # registry loads the kind from its entry point.
    plugin: str = ""

    def param(self, name: str) -> ParamSpec | None:
        for spec in self.params:
            if spec.name == name:
                return spec
        return None


def register_kind(kind: NodeKind) -> NodeKind:
    """Declare a kind. Called at import time by the modules an entry point names; the
    registry (``plugins.py``) attributes it to the package it is loading."""
    from twinflow_studio.project import plugins

    # The declaring module, so the entry point naming that module claims the kind.
    return plugins.add_kind(kind, sys._getframe(1).f_globals.get("__name__", ""))


def get_kind(name: str) -> NodeKind | None:
    return (_loaded or _load_registry()).get(name)


def all_kinds() -> list[NodeKind]:
    kinds = _loaded or _load_registry()
    return sorted(kinds.values(), key=lambda k: (k.category, k.label))


# The registry's dict (``plugins.kinds()``), bound once the entry points are loaded: get_kind
# is asked several times per node by validation and the engine, and going through the
# loader's function and its loaded check each time was a sixth of a no-op node's calls.
# The registry fills and empties that one dict in place; ``unbind_registry`` forgets it
# when the registry is reset.
_loaded: dict[str, NodeKind] | None = None


def _load_registry() -> dict[str, NodeKind]:
    global _loaded
    from twinflow_studio.project import plugins

    registry = plugins.kinds()
    _loaded = registry
    return registry


def unbind_registry() -> None:
    """Called by the registry when it forgets what it loaded (so the next use loads again)."""
    global _loaded
    _loaded = None


def port_types_compatible(source: str, target: str) -> bool:
    """Whether an output of type ``source`` may feed an input of type ``target``."""
    if source == target or "any" in (source, target):
        return True
    # A dataframe artifact is a file (CSV/Parquet), and a file can be read as a dataframe.
    return {source, target} == {"file", "dataframe"}
