"""How a ``propagate`` or ``sensitivity`` node gets its simulation, checked before a run:
a ``callable`` it calls itself, or the ``plan`` of a samples node and the ``evaluations``
of the simulation that ran those samples; never half of one, nor both."""

from __future__ import annotations

from twinflow_studio.project.errors import Problem
from twinflow_studio.project.kinds import get_kind
from twinflow_studio.project.model import Node, Project

UQ_KINDS = ("propagate", "sensitivity")
_UNUSED = "unused with plan and evaluations: the samples come from the plan"
# What the samples node decides; on the analysing node it would be silently ignored.
SAMPLING_PARAMS = {
    "propagate": (
        "parameters",
        "parameter_names",
        "method",
        "n_draws",
        "pce_order",
        "mc_check_draws",
        "seed",
    ),
    "sensitivity": ("n_base", "seed"),
}


def uq_wiring_problems(project: Project, node_id: str) -> list[Problem]:
    """The problems of a propagate/sensitivity node's wiring; nothing for other kinds."""
    node = project.nodes[node_id]
    if node.kind not in UQ_KINDS:
        return []
    wired = {e.target_port for e in project.incoming(node_id)}
    problems = [
        Problem(f"nodes.{node_id}{suffix}", message, node_id, code)
        for suffix, message, code in _problems(node, wired)
    ]
    if "plan" in wired or "evaluations" in wired:
        problems += _ignored(node)
    return problems


def _ignored(node: Node) -> list[Problem]:
    kind = get_kind(node.kind)
    out = []
    for name in SAMPLING_PARAMS[node.kind]:
        spec = kind.param(name) if kind is not None else None
        if name in node.params and spec is not None and node.params[name] != spec.default:
            out.append(
                Problem(
                    f"nodes.{node.id}.params.{name}",
                    f"ignored with plan and evaluations; set it on the {node.kind}_samples node",
                    node.id,
                    "ignored_param",
                    "warning",
                )
            )
    return out


def _problems(node: Node, wired: set[str]) -> list[tuple[str, str, str]]:
    samples = f"{node.kind}_samples"
    has_callable = node.params.get("callable") not in (None, "")
    has_priors = node.params.get("priors") not in (None, [], {})
    out: list[tuple[str, str, str]] = []
    if "plan" in wired or "evaluations" in wired:
        if "plan" not in wired:
            out.append((".inputs.plan", f"connect the 'plan' of a {samples} node", "missing_input"))
        if "evaluations" not in wired:
            message = "connect the outputs of the simulation that ran the plan's samples"
            out.append((".inputs.evaluations", message, "missing_input"))
        if has_callable:
            message = "give a callable or connect plan and evaluations, not both"
            out.append((".params.callable", message, "bad_param"))
        for port in ("posterior", "data"):
            if port in wired:
                message = f"{_UNUSED}; connect it to the {samples} node or the simulation"
                out.append((f".inputs.{port}", message, "bad_wiring"))
        if node.kind == "sensitivity" and has_priors:
            message = f"{_UNUSED}; set the priors on the {samples} node"
            out.append((".params.priors", message, "bad_param"))
        return out
    if not has_callable:
        message = (
            f"is required (or connect the plan of a {samples} node and the simulation's "
            "outputs as evaluations)"
        )
        out.append((".params.callable", message, "missing_param"))
    if node.kind == "propagate" and "posterior" not in wired:
        out.append((".inputs.posterior", "required input is not connected", "missing_input"))
    if node.kind == "sensitivity" and not has_priors:
        out.append((".params.priors", "is required", "missing_param"))
    return out
