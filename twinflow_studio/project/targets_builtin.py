"""The core's target kinds: where nodes run. Declarative: the engine imports a target's
class only when a run uses it."""

from __future__ import annotations

from twinflow_studio.project.plugins import TargetKindSpec

_TARGETS = "twinflow_studio.engine.targets"

TARGETS = [
    TargetKindSpec(
        name="process",
        label="Worker processes",
        doc="Python nodes in warm worker processes of the project (killable, memory-capped).",
        implementation=f"{_TARGETS}.process:ProcessTarget",
        runs_python=True,
    ),
    TargetKindSpec(
        name="inprocess",
        label="Engine threads",
        doc="Python nodes on the engine's threads: trusted, cheap functions only.",
        implementation=f"{_TARGETS}.inprocess:InProcessTarget",
        runs_python=True,
    ),
    TargetKindSpec(
        name="docker",
        label="Local Docker",
        doc="Container nodes on the local Docker engine.",
        implementation=f"{_TARGETS}.docker:DockerTarget",
    ),
    TargetKindSpec(
        name="batch",
        label="AWS Batch",
        doc="Container nodes as AWS Batch jobs, inputs and outputs through S3.",
        implementation=f"{_TARGETS}.batch:BatchTarget",
    ),
]
