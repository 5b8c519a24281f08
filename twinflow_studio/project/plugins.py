"""The registry of node kinds and target kinds, filled from Python entry points.

A package adds kinds by declaring entry points in the groups ``twinflow_studio.kinds`` and
``twinflow_studio.targets``; the core and TwinStat declare theirs the same way (see
pyproject.toml and docs/plugins.md). An entry point names a module (every kind it declares
with ``register_kind`` or holds at module level), a list of declarations, one declaration,
or a function returning them. Loading happens once, on first use, and imports only the
declaration modules: executors and target classes are import-path strings that the engine
resolves when a node runs. A package that fails to load is recorded, never raised, so a
project using one of its kinds fails validation with a message instead of a traceback.
"""

from __future__ import annotations

import importlib.metadata as metadata
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from twinflow_studio.project.kinds import NodeKind, unbind_registry

KINDS_GROUP = "twinflow_studio.kinds"
TARGETS_GROUP = "twinflow_studio.targets"
CORE_DISTRIBUTION = "twinflow-studio"

# The core's own entry points, as declared in pyproject.toml; used only when the installed
# metadata lacks them (a source checkout on PYTHONPATH, or metadata older than the code).
# tests/project/test_plugins.py checks the two lists agree.
CORE_ENTRY_POINTS: dict[str, tuple[tuple[str, str], ...]] = {
    KINDS_GROUP: (
        ("core", "twinflow_studio.project.kinds_builtin"),
        ("twinstat", "twinflow_studio.project.kinds_twinstat"),
        ("composition", "twinflow_studio.project.kinds_composition"),
        ("mqtt", "twinflow_studio.project.mqtt_params"),
    ),
    TARGETS_GROUP: (("core", "twinflow_studio.project.targets_builtin"),),
}


@dataclass(frozen=True)
class TargetKindSpec:
    """A kind of target: where nodes run. ``implementation`` is ``module:Class``, a subclass
    of the engine's ``Target`` taking the project's ``TargetConfig``."""

    name: str
    label: str
    doc: str
    implementation: str
    # Whether it runs Python executors (the kinds' ``executor``) rather than images.
    runs_python: bool = False
    plugin: str = ""


@dataclass(frozen=True)
class PluginFailure:
    """A package whose entry point could not be loaded, and why."""

    plugin: str
    entry_point: str
    message: str


_lock = threading.RLock()
_loaded = False
_kinds: dict[str, NodeKind] = {}
_targets: dict[str, TargetKindSpec] = {}
_failures: list[PluginFailure] = []
# Kinds declared with register_kind, by the module that declared them, until an entry point
# claims them (or, after loading, added directly: tests and ad hoc declarations).
_declared: dict[str, list[NodeKind]] = {}


def add_kind(kind: NodeKind, module: str = "") -> NodeKind:
    with _lock:
        _declared.setdefault(module, []).append(kind)
        if _loaded and kind.name not in _kinds:
            _kinds[kind.name] = kind
    return kind


def kinds() -> dict[str, NodeKind]:
    _ensure_loaded()
    return _kinds


def targets() -> dict[str, TargetKindSpec]:
    _ensure_loaded()
    return _targets


def get_target_kind(name: str) -> TargetKindSpec | None:
    return targets().get(name)


def target_kind_names() -> list[str]:
    return sorted(targets())


def failures() -> list[PluginFailure]:
    _ensure_loaded()
    return list(_failures)


def origin(plugin: str) -> str:
    """How a kind's provider is shown to the user."""
    if plugin == CORE_DISTRIBUTION:
        return "twinflow-studio (core)"
    if not plugin:
        return "declared in code, not by an installed package"
    try:
        return f"{plugin} {metadata.version(plugin)}"
    except metadata.PackageNotFoundError:
        return plugin


def _entry_points(group: str) -> list[tuple[str, metadata.EntryPoint]]:
    found: list[tuple[str, metadata.EntryPoint]] = []
    seen: set[str] = set()
    for ep in metadata.entry_points(group=group):
        dist = ep.dist.name if ep.dist is not None else ""
        if ep.value in seen:  # the same package installed twice (e.g. editable and built)
            continue
        seen.add(ep.value)
        found.append((_canonical(dist), ep))
    if not any(dist == CORE_DISTRIBUTION for dist, _ in found):
        core = [
            (CORE_DISTRIBUTION, metadata.EntryPoint(name, value, group))
            for name, value in CORE_ENTRY_POINTS[group]
            if value not in seen
        ]
        found = core + found
    # The core first, so a plugin can never replace one of its kinds.
    found.sort(key=lambda item: (item[0] != CORE_DISTRIBUTION, item[0], item[1].name))
    return found


def _canonical(dist: str) -> str:
    return dist.lower().replace("_", "-").replace(".", "-")


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        for dist, ep in _entry_points(KINDS_GROUP):
            for kind in _load(dist, ep, NodeKind):
                _add(_kinds, replace(kind, plugin=dist), dist, ep)
        for dist, ep in _entry_points(TARGETS_GROUP):
            for target in _load(dist, ep, TargetKindSpec):
                _add(_targets, replace(target, plugin=dist), dist, ep)
        # Declared in code outside any entry point: kept, shown as such.
        for declared in list(_declared.values()):
            for kind in declared:
                _kinds.setdefault(kind.name, kind)
        _loaded = True


def _add(into: dict[str, Any], item: Any, dist: str, ep: metadata.EntryPoint) -> None:
    existing = into.get(item.name)
    if existing is not None and existing.plugin != dist:
        _failures.append(
            PluginFailure(
                dist,
                f"{ep.group}:{ep.name}",
                f"{item.name!r} is already provided by {origin(existing.plugin)}; ignored",
            )
        )
        return
    into[item.name] = item


def _load(dist: str, ep: metadata.EntryPoint, cls: type) -> list[Any]:
    try:
        obj = ep.load()
        items = _collect(obj, cls, ep)
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the studio
        _failures.append(
            PluginFailure(dist, f"{ep.group}:{ep.name}", f"{type(exc).__name__}: {exc}")
        )
        return []
    return items


def _collect(obj: Any, cls: type, ep: metadata.EntryPoint) -> list[Any]:
    if isinstance(obj, ModuleType):
        items: list[Any] = []
        if cls is NodeKind:
            items.extend(_declared.get(obj.__name__, []))
        listed = getattr(obj, "KINDS" if cls is NodeKind else "TARGETS", None)
        values: Iterable[Any] = listed if listed is not None else vars(obj).values()
        items.extend(v for v in values if isinstance(v, cls))
        return _unique(items)
    if callable(obj) and not isinstance(obj, cls):
        obj = obj()
    if isinstance(obj, cls):
        return [obj]
    items = list(obj)
    wrong = [v for v in items if not isinstance(v, cls)]
    if wrong:
        raise TypeError(f"{ep.value} holds {type(wrong[0]).__name__}, not {cls.__name__}")
    return items


def _unique(items: list[Any]) -> list[Any]:
    by_name: dict[str, Any] = {}
    for item in items:
        by_name.setdefault(item.name, item)
    return list(by_name.values())


def kind_problem_hint(kind_name: str, plugin: str | None) -> str:
    """What to do about a kind no installed package provides."""
    broken = [f for f in failures() if not plugin or f.plugin == _canonical(plugin)]
    if plugin:
        hint = f"it comes from the plugin package {plugin!r}: install it (pip install {plugin})"
    else:
        hint = (
            "if it comes from a plugin package, install that package "
            "(see docs/plugins.md); known kinds: " + ", ".join(sorted(kinds()))
        )
    if broken:
        hint += "; plugins that failed to load: " + "; ".join(
            f"{f.plugin} ({f.entry_point}): {f.message}" for f in broken
        )
    return hint


def _reset_for_tests() -> None:
    """Forget what was loaded so the next use reads the entry points again."""
    global _loaded
    with _lock:
        _loaded = False
        unbind_registry()
        _kinds.clear()
        _targets.clear()
        _failures.clear()


__all__ = [
    "CORE_ENTRY_POINTS",
    "PluginFailure",
    "TargetKindSpec",
    "failures",
    "get_target_kind",
    "kind_problem_hint",
    "kinds",
    "origin",
    "target_kind_names",
    "targets",
]
