"""Fan-out ("map") nodes: one task per element of a list input, outputs gathered in order.

A json output becomes the list of the items' values; a file output becomes a folder holding
one entry per item, named by its index. Batch runs a map node as one array job; other
targets run the items one after another within the node's capacity.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.engine.paths import child_path
from twinflow_studio.engine.targets.base import TaskResult, TaskSpec
from twinflow_studio.engine.task import InputArtifact
from twinflow_studio.project.hashing import hash_value
from twinflow_studio.project.map_dims import map_ports


def map_items(spec: TaskSpec) -> list[Any]:
    """The items: the mapped list's values, or with several mapped ports the list of their
    combinations (each a list, one value per port; product order is row-major)."""
    ports = map_ports(spec.node)
    lists = [_mapped_list(spec, port) for port in ports]
    if len(lists) == 1:
        return lists[0]
    if spec.node.map_mode == "zip":
        lengths = {port: len(values) for port, values in zip(ports, lists, strict=True)}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{port} has {n}" for port, n in lengths.items())
            raise TaskFailed(f"zipped map inputs differ in length: {shown}", retryable=False)
        return [list(combo) for combo in zip(*lists, strict=True)]
    return [list(combo) for combo in itertools.product(*lists)]


def _mapped_list(spec: TaskSpec, port: str) -> list[Any]:
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
    ports = map_ports(spec.node)
    work = spec.work_dir / "items" / str(index)
    work.mkdir(parents=True, exist_ok=True)
    inputs = dict(spec.inputs)
    values = [item] if len(ports) == 1 else item
    for port, value in zip(ports, values, strict=True):
        item_file = child_path(work, port, ".json")
        item_file.write_text(json.dumps(value), encoding="utf-8")
        inputs[port] = InputArtifact(port, "json", item_file, hash_value(value), "value")
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
