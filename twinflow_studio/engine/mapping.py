"""Fan-out ("map") nodes: one task per element of a list input, outputs gathered in order.

A json output becomes the list of the items' values; a file output becomes a folder holding
one entry per item, named by its index. Batch runs a map node as one array job; other
targets run the items one after another within the node's capacity.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.engine.paths import child_path
from twinflow_studio.engine.targets.base import TaskResult, TaskSpec
from twinflow_studio.engine.task import InputArtifact
from twinflow_studio.project.hashing import hash_value


def map_items(spec: TaskSpec) -> list[Any]:
    port = spec.node.map_over
    assert port is not None
    art = spec.inputs.get(port)
    if art is None:
        raise TaskFailed(f"map input {port!r} is not connected", retryable=False)
    value = json.loads(art.path.read_text(encoding="utf-8"))
    if not isinstance(value, list):
        raise TaskFailed(
            f"map input {port!r} must be a JSON list, found {type(value).__name__}",
            retryable=False,
        )
    return value


def item_spec(spec: TaskSpec, index: int, item: Any) -> TaskSpec:
    port = spec.node.map_over
    assert port is not None
    work = spec.work_dir / "items" / str(index)
    work.mkdir(parents=True, exist_ok=True)
    item_file = child_path(work, port, ".json")
    item_file.write_text(json.dumps(item), encoding="utf-8")
    inputs = dict(spec.inputs)
    inputs[port] = InputArtifact(port, "json", item_file, hash_value(item), "value")
    return dataclasses.replace(spec, inputs=inputs, work_dir=work)


def gather(spec: TaskSpec, results: list[TaskResult]) -> TaskResult:
    outputs: dict[str, Any] = {}
    for port, port_type in spec.output_ports.items():
        values = [r.outputs.get(port) for r in results]
        if all(v is None for v in values):
            continue
        if port_type == "json":
            outputs[port] = [_as_value(v) for v in values]
            continue
        folder = child_path(spec.work_dir / "gathered", port)
        folder.mkdir(parents=True, exist_ok=True)
        for index, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, Path):
                dest = folder / str(index)
                (shutil.copytree if value.is_dir() else shutil.copy2)(value, dest)
            else:
                (folder / f"{index}.json").write_text(json.dumps(value), encoding="utf-8")
        outputs[port] = folder
    metrics = {
        f"{key}[{i}]": value for i, r in enumerate(results) for key, value in r.metrics.items()
    }
    return TaskResult(outputs=outputs, exit_code=0, metrics=metrics)


def _as_value(value: Any) -> Any:
    if isinstance(value, Path):
        return json.loads(value.read_text(encoding="utf-8"))
    return value
