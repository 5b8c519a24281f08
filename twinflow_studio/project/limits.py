"""Ranges of the numeric fields and the types of ``project.settings``.

The `.twin` reader already refuses what JSON cannot hold (NaN, infinities, integers beyond
64 bits); these are the ranges within which the engine's arithmetic (nano-CPUs, retry
back-off, timers, memory limits) stays finite and meaningful. A project built in code is
held to them too, so every check lives here rather than in the reader.
"""

from __future__ import annotations

import math
from typing import Any

from twinflow_studio.project.errors import Problem, json_type
from twinflow_studio.project.model import Project

MAX_VCPUS = 4096.0
MAX_MEMORY_MIB = 2**30  # one PiB
MAX_GPUS = 1024
MAX_RETRIES = 100
MAX_BACKOFF_S = 86400.0
MAX_BACKOFF_FACTOR = 100.0
MAX_TIMEOUT_S = 1e7  # about 115 days

# settings.lineage keys and the JSON types they take (values are checked by the lineage layer).
_LINEAGE_TYPES: dict[str, tuple[type, ...]] = {
    "backend": (str,),
    "url": (str,),
    "path": (str,),
    "region": (str,),
    "traversal_source": (str,),
    "batch_ops": (int,),
    "timeout": (int, float),
}


def check_limits(project: Project) -> list[Problem]:
    out: list[Problem] = []

    def check(path: str, value: Any, high: float, node_id: str | None = None) -> None:
        if not _finite(value):
            out.append(Problem(path, f"expected a finite number, found {value!r}", node_id))
        elif value > high:
            out.append(Problem(path, f"must be at most {high:g}, found {value!r}", node_id))

    for kind, table in (("profiles", project.profiles), ("targets", project.targets)):
        for name, item in table.items():
            check(f"{kind}.{name}.vcpus", item.vcpus, MAX_VCPUS)
            check(f"{kind}.{name}.memory_mib", item.memory_mib, MAX_MEMORY_MIB)
            check(f"{kind}.{name}.gpus", item.gpus, MAX_GPUS)
    for node in project.nodes.values():
        retries = node.retries
        if (
            _within(retries.count, MAX_RETRIES)
            and _within(retries.backoff_s, MAX_BACKOFF_S)
            and _within(retries.backoff_factor, MAX_BACKOFF_FACTOR)
            and (node.timeout_s is None or _within(node.timeout_s, MAX_TIMEOUT_S))
            and node.kind != "container"
        ):
            continue  # nothing to report: the paths below are built only for a problem
        base = f"nodes.{node.id}"
        check(f"{base}.retries.count", node.retries.count, MAX_RETRIES, node.id)
        check(f"{base}.retries.backoff_s", node.retries.backoff_s, MAX_BACKOFF_S, node.id)
        check(
            f"{base}.retries.backoff_factor",
            node.retries.backoff_factor,
            MAX_BACKOFF_FACTOR,
            node.id,
        )
        if node.timeout_s is not None:
            check(f"{base}.timeout_s", node.timeout_s, MAX_TIMEOUT_S, node.id)
        command = node.params.get("command")
        if node.kind == "container" and isinstance(command, list):
            for i, arg in enumerate(command):
                if isinstance(arg, bool) or not isinstance(arg, (str, int, float)):
                    out.append(
                        Problem(
                            f"{base}.params.command[{i}]",
                            f"expected a string (one argument), found {json_type(arg)}",
                            node.id,
                            "bad_param",
                        )
                    )
    return out


def check_settings(settings: dict[str, Any]) -> list[Problem]:
    """The types of the settings the engine and the lineage layer read."""
    out: list[Problem] = []
    run_store = settings.get("run_store")
    if run_store is not None and not isinstance(run_store, str):
        out.append(
            Problem(
                "project.settings.run_store",
                f"expected a folder path (a string), found {json_type(run_store)}",
                code="bad_setting",
            )
        )
    lineage = settings.get("lineage")
    if lineage is None:
        return out
    if not isinstance(lineage, dict):
        out.append(
            Problem(
                "project.settings.lineage",
                f'expected an object such as {{"backend": "embedded"}}, found {json_type(lineage)}',
                code="bad_setting",
            )
        )
        return out
    for key, value in lineage.items():
        types = _LINEAGE_TYPES.get(key)
        if types is None:
            out.append(
                Problem(
                    f"project.settings.lineage.{key}",
                    f"unknown key; expected some of {', '.join(sorted(_LINEAGE_TYPES))}",
                    code="bad_setting",
                )
            )
        elif value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            expected = "a number" if float in types else ("a string" if types[0] is str else "")
            expected = expected or "a whole number"
            out.append(
                Problem(
                    f"project.settings.lineage.{key}",
                    f"expected {expected}, found {json_type(value)}",
                    code="bad_setting",
                )
            )
    return out


def _within(value: Any, high: float) -> bool:
    """A plain int or float that is finite and at most ``high`` (what ``check`` accepts)."""
    kind = type(value)
    return (kind is int or kind is float) and math.isfinite(value) and value <= high


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
