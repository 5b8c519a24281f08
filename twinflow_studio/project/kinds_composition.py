"""Kinds that compose graphs: subgraphs (a graph as one node) and run-time branches."""

from __future__ import annotations

from twinflow_studio.project.kinds import (
    PYTHON_TARGETS,
    NodeKind,
    ParamSpec,
    PortSpec,
    register_kind,
)

SUBGRAPH = register_kind(
    NodeKind(
        name="subgraph",
        label="Subgraph",
        category="Composition",
        doc=(
            "A graph used as one node: its body is embedded ('body', a project document) or "
            "a .twin part inside the project folder ('ref', pinned by its content hash in "
            "'pin'). Its ports are the body's declared interface. 'overrides' sets inner "
            "parameters for this instance: {inner node id: {param: value}}. The engine "
            "flattens it into the run: inner nodes run as 'INSTANCE--INNER'."
        ),
        params=(
            ParamSpec("body", "dict", doc="An embedded project document with an 'interface'"),
            ParamSpec(
                "ref",
                "str",
                doc="Relative path of a .twin part in the project folder",
                example="parts/cleaner.twin",
                path="file",
            ),
            ParamSpec("pin", "str", doc="sha256:HEX of the referenced part's bytes"),
            ParamSpec("overrides", "dict", default={}, doc="{inner node id: {param: value}}"),
        ),
        user_ports=True,
        target_kinds=("inprocess",),
    )
)

SWITCH = register_kind(
    NodeKind(
        name="switch",
        label="Switch",
        category="Composition",
        doc=(
            "Routes its input 'value' to one of its outputs. 'cases' is a list of rules "
            "{output, field, op, value} tried in order (field: a dotted path into the JSON "
            "input; op: == != < <= > >= in); the first that holds chooses its output, else "
            "'default'. With 'callable' (module:function), the function is called with the "
            "value on the worker and returns the output's name. Nodes fed only by outputs not "
            "chosen end 'skipped_branch', not failed."
        ),
        params=(
            ParamSpec("cases", "list", default=[], doc="[{output, field, op, value}]"),
            ParamSpec("default", "str", default="", doc="Output when no case holds"),
            ParamSpec("callable", "str", default="", doc="Predicate module:function"),
        ),
        inputs=(PortSpec("value", "json"),),
        user_ports=True,
        target_kinds=PYTHON_TARGETS,
        executor="twinflow_studio.engine.branches:run_switch",
    )
)

MERGE = register_kind(
    NodeKind(
        name="merge",
        label="Merge",
        category="Composition",
        doc=(
            "Passes on whichever of its inputs arrived (the first declared, if several): "
            "joins the branches of a switch. Declare its inputs as optional."
        ),
        outputs=(PortSpec("out", "any"),),
        user_ports=True,
        target_kinds=("inprocess",),
        executor="twinflow_studio.engine.branches:run_merge",
    )
)
