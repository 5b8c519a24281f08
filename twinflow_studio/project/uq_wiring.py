"""How a ``propagate`` or ``sensitivity`` node gets its simulation, checked before a run:
a ``callable`` it calls itself, or the ``plan`` of a samples node and the ``evaluations``
of the simulation that ran those samples; never half of one, nor both."""

from __future__ import annotations

from twinflow_studio.project.model import Project

UQ_KINDS = ("propagate", "sensitivity")
_UNUSED = "unused with plan and evaluations: the samples come from the plan"


def uq_wiring_problems(project: Project, node_id: str) -> list[tuple[str, str, str]]:
    """(path suffix under the node, message, problem code) for each problem of a
    propagate/sensitivity node's wiring; nothing for other kinds."""
    node = project.nodes[node_id]
    if node.kind not in UQ_KINDS:
        return []
    wired = {e.target_port for e in project.incoming(node_id)}
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
