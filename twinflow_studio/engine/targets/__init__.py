"""Targets: where nodes run. Each module is imported only when a run needs it."""

from __future__ import annotations

import importlib

from twinflow_studio.engine.targets.base import Target, TaskResult, TaskSpec
from twinflow_studio.project.model import TargetConfig

TARGET_CLASSES = {
    "inprocess": "twinflow_studio.engine.targets.inprocess:InProcessTarget",
    "process": "twinflow_studio.engine.targets.process:ProcessTarget",
    "docker": "twinflow_studio.engine.targets.docker:DockerTarget",
    "batch": "twinflow_studio.engine.targets.batch:BatchTarget",
}


def make_target(config: TargetConfig) -> Target:
    module_name, _, class_name = TARGET_CLASSES[config.kind].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(config)


__all__ = ["Target", "TaskResult", "TaskSpec", "make_target"]
