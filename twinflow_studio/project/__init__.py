"""The project document model: typed DAGs saved as `.twin` files."""

from twinflow_studio.project.errors import (
    Problem,
    TwinFileError,
    TwinFlowError,
    ValidationError,
)
from twinflow_studio.project.kinds import NodeKind, ParamSpec, PortSpec, all_kinds, get_kind
from twinflow_studio.project.model import (
    Edge,
    HardwareProfile,
    Node,
    Port,
    Project,
    RetryPolicy,
    TargetConfig,
)
from twinflow_studio.project.twinfile import dumps, load, loads, save
from twinflow_studio.project.validate import ensure_valid, topological_order, validate

__all__ = [
    "Edge",
    "HardwareProfile",
    "Node",
    "NodeKind",
    "ParamSpec",
    "Port",
    "PortSpec",
    "Problem",
    "Project",
    "RetryPolicy",
    "TargetConfig",
    "TwinFileError",
    "TwinFlowError",
    "ValidationError",
    "all_kinds",
    "dumps",
    "ensure_valid",
    "get_kind",
    "load",
    "loads",
    "save",
    "topological_order",
    "validate",
]
