"""Targets: where nodes run. Each module is imported only when a run needs it."""

from __future__ import annotations

import importlib

from twinflow_studio.engine.errors import TargetUnavailable
from twinflow_studio.engine.targets.base import Target, TaskResult, TaskSpec
from twinflow_studio.project.model import TargetConfig
from twinflow_studio.project.plugins import get_target_kind


def make_target(config: TargetConfig) -> Target:
    """The target of ``config``; its class comes from the target kind's entry point
    (the core's or a plugin's), imported now."""
    spec = get_target_kind(config.kind)
    if spec is None:  # validation refuses unknown kinds before a run starts
        raise TargetUnavailable(f"unknown target kind {config.kind!r}")
    module_name, _, class_name = spec.implementation.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    target: Target = cls(config)
    return target


__all__ = ["Target", "TaskResult", "TaskSpec", "make_target"]
