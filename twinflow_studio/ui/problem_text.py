"""Problems as a person reads them: the node's name as the canvas shows it and the field's
name as the Properties panel shows it, instead of internal paths and node ids
(``nodes.datasource.params.path: is required`` becomes ``Sensor file — path: is
required``)."""

from __future__ import annotations

from twinflow_studio.project import Problem, Project

FIELDS = {
    "name": "name",
    "profile": "hardware profile",
    "target": "target",
    "retries": "retries",
    "retries.count": "retries",
    "timeout_s": "timeout (s)",
    "kind": "kind",
    "inputs": "inputs",
    "outputs": "outputs",
}


def field_label(rest: str) -> str:
    """The human name of a field path inside a node (``params.path`` -> ``path``)."""
    if rest in FIELDS:
        return FIELDS[rest]
    head, _, tail = rest.partition(".")
    if head == "params" and tail:
        return tail.replace(".", " ")
    if head in ("inputs", "outputs") and tail:
        return f"{head[:-1]} port {tail.split('.')[0]!r}"
    return rest.replace("_", " ").replace(".", " ")


def node_field(problem: Problem) -> str:
    """The field a node's problem is about, without the node ('' for the node itself)."""
    prefix = f"nodes.{problem.node_id}"
    if problem.node_id and problem.path.startswith(prefix):
        rest = problem.path[len(prefix) :].lstrip(".")
        return field_label(rest) if rest else ""
    return problem.path.replace("_", " ").replace(".", " ")


def describe(problem: Problem, project: Project | None = None) -> str:
    """One line naming the node (by its name), the field and what is wrong."""
    if problem.node_id:
        node = project.nodes.get(problem.node_id) if project is not None else None
        who = node.label if node is not None else problem.node_id
        field = node_field(problem)
        return f"{who} — {field}: {problem.message}" if field else f"{who}: {problem.message}"
    return f"{problem.path.replace('.', ' ')}: {problem.message}"


def in_panel(problem: Problem) -> str:
    """A problem shown in the node's own Properties panel: the field and the message."""
    field = node_field(problem)
    return f"{field}: {problem.message}" if field else problem.message
