"""Validation lists every problem at once, each with its node id and field path."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from twinflow_studio.project.container_caps import cap_add_problems
from twinflow_studio.project.errors import Problem, ValidationError
from twinflow_studio.project.identifiers import identifier_problem, is_identifier
from twinflow_studio.project.kinds import (
    PARAM_TYPES,
    PORT_TYPES,
    NodeKind,
    get_kind,
    port_types_compatible,
)
from twinflow_studio.project.limits import check_limits, check_settings
from twinflow_studio.project.map_dims import map_problems
from twinflow_studio.project.model import Node, Project
from twinflow_studio.project.mqtt_params import mqtt_param_problems
from twinflow_studio.project.placement import PlacementError, Placements
from twinflow_studio.project.plugin_check import settings_problems as plugin_settings_problems
from twinflow_studio.project.plugin_check import unknown_kind_message
from twinflow_studio.project.plugins import target_kind_names
from twinflow_studio.project.secrets import check_secrets
from twinflow_studio.project.triggers import validate_trigger
from twinflow_studio.project.uq_wiring import UQ_KINDS, uq_wiring_problems
from twinflow_studio.project.url_expiry import url_expiry_problem, url_expiry_value

# Linux's own ceiling on process ids; 1 TiB of outputs from one node is surely a mistake.
MAX_PIDS_LIMIT = 4_194_304
MAX_OUTPUT_MIB = 1_048_576


def validate(project: Project) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_profiles_and_targets(project)
    problems += plugin_settings_problems(project)
    placements = Placements(project)
    for node in project.nodes.values():
        problems += _check_node(project, node, placements)
    problems += _check_edges(project)
    problems += _check_cycles(project)
    problems += _check_triggers(project)
    problems += check_limits(project) + check_settings(project.settings)
    problems += check_secrets(project)
    return problems


def ensure_valid(project: Project) -> None:
    problems = validate(project)
    if problems:
        raise ValidationError(problems)


def _check_profiles_and_targets(project: Project) -> list[Problem]:
    out = []
    for name, p in project.profiles.items():
        if p.vcpus <= 0:
            out.append(Problem(f"profiles.{name}.vcpus", "must be greater than 0"))
        if p.memory_mib <= 0:
            out.append(Problem(f"profiles.{name}.memory_mib", "must be greater than 0"))
        if p.gpus < 0:
            out.append(Problem(f"profiles.{name}.gpus", "must not be negative"))
        if not 1 <= p.pids_limit <= MAX_PIDS_LIMIT:
            out.append(
                Problem(f"profiles.{name}.pids_limit", f"must be from 1 to {MAX_PIDS_LIMIT}")
            )
        if not 1 <= p.max_output_mib <= MAX_OUTPUT_MIB:
            out.append(
                Problem(f"profiles.{name}.max_output_mib", f"must be from 1 to {MAX_OUTPUT_MIB}")
            )
    known_targets = target_kind_names()
    for name, t in project.targets.items():
        if t.kind not in known_targets:
            out.append(
                Problem(
                    f"targets.{name}.kind",
                    f"unknown target kind {t.kind!r} (known: {', '.join(known_targets)}; "
                    "a target kind from a plugin needs its package installed)",
                )
            )
        if t.vcpus <= 0 or t.memory_mib <= 0:
            out.append(Problem(f"targets.{name}", "capacity (vcpus, memory_mib) must be positive"))
        if t.kind == "batch" and "url_expiry_s" in t.options:
            if url_expiry_value(t.options["url_expiry_s"]) is None:
                problem = url_expiry_problem(t.options["url_expiry_s"])
                out.append(Problem(f"targets.{name}.options.url_expiry_s", problem))
    return out


def _type_ok(expected: str, value: Any) -> bool:
    if expected == "any" or value is None:
        return True
    if expected == "bool":
        return isinstance(value, bool)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, {"str": str, "list": list, "dict": dict}[expected])


def check_param(node: Node, key: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for ``node``'s parameter ``key`` (None when it is)."""
    kind = get_kind(node.kind)
    if kind is None:
        return None
    return _param_problem(kind, key, value)


def _param_problem(kind: NodeKind, key: str, value: Any) -> str | None:
    spec = kind.param(key)
    if spec is None and kind.user_params:
        return None if key.isidentifier() else f"parameter name {key!r} is not an identifier"
    if spec is None:
        known = ", ".join(s.name for s in kind.params) or "none"
        return f"unknown parameter {key!r} for a {kind.name} node (known: {known})"
    if spec.type in PARAM_TYPES and not _type_ok(spec.type, value):
        return f"expected {spec.type}, found {type(value).__name__} {value!r}"
    if spec.choices and value not in spec.choices:
        return f"must be one of {', '.join(map(repr, spec.choices))}, found {value!r}"
    return None


def _check_node(project: Project, node: Node, placements: Placements) -> list[Problem]:
    base = f"nodes.{node.id}"
    out: list[Problem] = []

    def add(path: str, message: str, code: str = "invalid") -> None:
        out.append(Problem(f"{base}{path}", message, node.id, code))

    # is_identifier first: identifier_problem builds its message only for a bad name, but
    # this runs for every node and port of every run.
    if not is_identifier(node.id):
        add(".id", identifier_problem(node.id) or "", "bad_id")
    kind = get_kind(node.kind)
    if kind is None:
        add(".kind", unknown_kind_message(project, node.kind), "unknown_kind")
        return out
    for key, value in node.params.items():
        reason = _param_problem(kind, key, value)
        if reason:
            add(f".params.{key}", reason, "bad_param")
    for spec in kind.params:
        if spec.required and _empty(node.params.get(spec.name)):
            add(f".params.{spec.name}", "is required", "missing_param")
    for side, ports in (("inputs", node.input_ports()), ("outputs", node.output_ports())):
        seen: set[str] = set()
        for i, port in enumerate(ports):
            if not is_identifier(port.name):
                add(f".{side}[{i}].name", identifier_problem(port.name) or "", "bad_port_name")
            if port.type not in PORT_TYPES:
                add(
                    f".{side}[{i}].type",
                    f"unknown port type {port.type!r} (known: {', '.join(PORT_TYPES)})",
                    "bad_port_type",
                )
            if port.name in seen:
                add(f".{side}[{i}].name", f"duplicate port name {port.name!r}", "duplicate_port")
            seen.add(port.name)
    if not kind.user_ports and (node.inputs or node.outputs):
        fixed = {p.name for p in (*kind.inputs, *kind.outputs)}
        for port in (*node.inputs, *node.outputs):
            if port.name not in fixed:
                add(".ports", f"a {kind.name} node has fixed ports; {port.name!r} is not one")
    if node.profile not in project.profiles:
        add(".profile", f"unknown hardware profile {node.profile!r}", "unknown_profile")
    elif node.target is not None and node.target not in project.targets:
        add(".target", f"unknown target {node.target!r}", "unknown_target")
    else:
        try:
            placements.target(node)
        except PlacementError as exc:
            add(".target" if node.target else ".profile", str(exc), "no_target")
    if node.retries.count < 0:
        add(".retries.count", "must not be negative")
    if node.retries.backoff_s < 0 or node.retries.backoff_factor < 1:
        add(".retries", "backoff_s must be >= 0 and backoff_factor >= 1")
    if node.timeout_s is not None and node.timeout_s <= 0:
        add(".timeout_s", "must be greater than 0")
    if node.map_over is not None:
        out += map_problems(node, f"nodes.{node.id}")
    if node.kind == "container":
        for suffix, reason in cap_add_problems(node.params.get("cap_add")):
            add(f".params.cap_add{suffix}", reason, "bad_param")
    if node.kind == "mqtt":
        for field, reason in mqtt_param_problems(node.params):
            add(f".params.{field}", reason, "bad_param")
    if node.kind in UQ_KINDS:
        out += uq_wiring_problems(project, node.id)
    return out


def _empty(value: Any) -> bool:
    """None, "", [] or {} (what a required parameter must not be)."""
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def _check_edges(project: Project) -> list[Problem]:
    out: list[Problem] = []
    fed: dict[tuple[str, str], int] = defaultdict(int)
    for i, edge in enumerate(project.edges):
        path = f"edges[{i}]"
        src = project.nodes.get(edge.source)
        dst = project.nodes.get(edge.target)
        if src is None:
            out.append(
                Problem(f"{path}.source", f"no node {edge.source!r}", edge.target, "dangling_edge")
            )
        if dst is None:
            out.append(
                Problem(f"{path}.target", f"no node {edge.target!r}", edge.source, "dangling_edge")
            )
        if src is None or dst is None:
            continue
        out_port = next((p for p in src.output_ports() if p.name == edge.source_port), None)
        in_port = next((p for p in dst.input_ports() if p.name == edge.target_port), None)
        if out_port is None:
            out.append(
                Problem(
                    f"{path}.source_port",
                    f"node {src.id!r} has no output {edge.source_port!r}",
                    src.id,
                    "dangling_edge",
                )
            )
        if in_port is None:
            out.append(
                Problem(
                    f"{path}.target_port",
                    f"node {dst.id!r} has no input {edge.target_port!r}",
                    dst.id,
                    "dangling_edge",
                )
            )
        if out_port is None or in_port is None:
            continue
        fed[(dst.id, in_port.name)] += 1
        if not port_types_compatible(out_port.type, in_port.type):
            out.append(
                Problem(
                    path,
                    f"{src.id}.{out_port.name} ({out_port.type}) cannot feed "
                    f"{dst.id}.{in_port.name} ({in_port.type})",
                    dst.id,
                    "type_mismatch",
                )
            )
    for node in project.nodes.values():
        for port in node.input_ports():
            count = fed.get((node.id, port.name), 0)
            if count == 0 and port.required:
                out.append(
                    Problem(
                        f"nodes.{node.id}.inputs.{port.name}",
                        "required input is not connected",
                        node.id,
                        "missing_input",
                    )
                )
            if count > 1:
                out.append(
                    Problem(
                        f"nodes.{node.id}.inputs.{port.name}",
                        f"has {count} incoming edges; an input takes one",
                        node.id,
                        "multiple_inputs",
                    )
                )
    return out


def _check_cycles(project: Project) -> list[Problem]:
    order = topological_order(project)
    if len(order) == len(project.nodes):
        return []
    stuck = sorted(set(project.nodes) - set(order))
    return [
        Problem(f"nodes.{n}", "is part of a cycle (or downstream of one)", n, "cycle")
        for n in stuck
    ]


def topological_order(project: Project) -> list[str]:
    """Kahn's algorithm over valid edges; nodes in or behind a cycle are left out."""
    indegree = {n: 0 for n in project.nodes}
    children: dict[str, list[str]] = defaultdict(list)
    for edge in project.edges:
        if edge.source in indegree and edge.target in indegree:
            indegree[edge.target] += 1
            children[edge.source].append(edge.target)
    queue = deque(sorted(n for n, d in indegree.items() if d == 0))
    order = []
    while queue:
        n = queue.popleft()
        order.append(n)
        for child in children[n]:
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    return order


def _check_triggers(project: Project) -> list[Problem]:
    out = []
    seen: set[str] = set()
    for i, trig in enumerate(project.triggers):
        path = f"triggers[{i}]"
        out += validate_trigger(trig, project.nodes, where=path)
        tid = trig.get("id")
        if isinstance(tid, str) and tid in seen:
            out.append(Problem(f"{path}.id", f"duplicate trigger id {tid!r}", code="bad_trigger"))
        seen.add(str(tid))
    return out
