"""Non-container kinds on container targets: a kind that names a ``container`` adapter (e.g.
``fmu``) runs on Docker and Batch as the image and command its adapter gives, with the extra
inputs it adds (the runner script, content-hashed like any input)."""

from __future__ import annotations

import dataclasses
from typing import Any

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.engine.executors import import_callable
from twinflow_studio.engine.targets.base import TaskSpec
from twinflow_studio.project.kinds import get_kind
from twinflow_studio.project.model import Node


def adapt(
    node: Node, params: dict[str, Any], inputs_dir: str, outputs_dir: str
) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """(params with image and command, extra inputs, extra code identity or None)."""
    kind = get_kind(node.kind)
    if kind is None or kind.container is None:
        return params, {}, None
    task = import_callable(kind.container)(params, inputs_dir, outputs_dir)
    if not isinstance(task, dict) or not task.get("image"):
        raise TaskFailed(f"{kind.container} gave no image", retryable=False)
    # Only the adapter's image and command: container settings are not the kind's params.
    adapted = {"image": task["image"], "command": list(task.get("command") or [])}
    return adapted, dict(task.get("inputs") or {}), task.get("code")


def adapt_spec(spec: TaskSpec, inputs_dir: str, outputs_dir: str) -> TaskSpec:
    params, extra, _ = adapt(spec.node, spec.params, inputs_dir, outputs_dir)
    if not extra and params is spec.params:
        return spec
    return dataclasses.replace(spec, params=params, inputs={**spec.inputs, **extra})
