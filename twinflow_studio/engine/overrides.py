"""Parameter overrides (``--param NODE.KEY=VALUE``), checked like the file's own values."""

from __future__ import annotations

import json
from typing import Any

from twinflow_studio.project.errors import Problem, ValidationError
from twinflow_studio.project.model import Project
from twinflow_studio.project.validate import check_param


def parse_param(text: str) -> tuple[str, str, Any]:
    """``node.key=value``; the value is JSON when it parses as JSON, else a string."""
    target, sep, raw = text.partition("=")
    node_id, dot, key = target.rpartition(".")
    if not sep or not dot or not node_id or not key:
        raise ValueError(f"--param {text!r}: expected NODE.KEY=VALUE")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return node_id, key, value


def apply_overrides(project: Project, overrides: dict[str, dict[str, Any]]) -> Project:
    if not overrides:
        return project
    problems = []
    result = project.copy()
    for node_id, values in overrides.items():
        node = result.nodes.get(node_id)
        if node is None:
            problems.append(Problem(f"--param {node_id}", f"no node {node_id!r} in the project"))
            continue
        for key, value in values.items():
            reason = check_param(node, key, value)
            if reason:
                problems.append(Problem(f"--param {node_id}.{key}", reason, node_id, "bad_param"))
            else:
                node.params[key] = value
    if problems:
        raise ValidationError(problems)
    return result
