"""What a project says about the plugin packages its kinds come from.

A `.twin` may name, per kind, the package that provides it: ``settings.plugins`` maps a kind
name to a package name. When that package is not installed, validation says which one to
install instead of only "unknown kind".
"""

from __future__ import annotations

from typing import Any

from twinflow_studio.project.errors import Problem
from twinflow_studio.project.kinds import get_kind
from twinflow_studio.project.model import Project
from twinflow_studio.project.plugins import CORE_DISTRIBUTION, kind_problem_hint, origin

SETTING = "plugins"


def recorded_plugin(project: Project, kind_name: str) -> str | None:
    plugins = project.settings.get(SETTING)
    if isinstance(plugins, dict):
        value = plugins.get(kind_name)
        if isinstance(value, str) and value:
            return value
    return None


def unknown_kind_message(project: Project, kind_name: str) -> str:
    return f"unknown node kind {kind_name!r}: " + kind_problem_hint(
        kind_name, recorded_plugin(project, kind_name)
    )


def settings_problems(project: Project) -> list[Problem]:
    plugins: Any = project.settings.get(SETTING)
    if plugins is None:
        return []
    where = f"project.settings.{SETTING}"
    if not isinstance(plugins, dict):
        return [Problem(where, 'expected an object {"kind": "package-name"}', code="bad_setting")]
    return [
        Problem(f"{where}.{kind}", "expected a package name (a string)", code="bad_setting")
        for kind, package in plugins.items()
        if not isinstance(package, str) or not package
    ]


def plugin_packages(project: Project) -> dict[str, str]:
    """Kind name -> providing package, for every kind the project uses that is not the
    core's: what a saved `.twin` records so that a machine without the package can say so."""
    out: dict[str, str] = {}
    for node in project.nodes.values():
        kind = get_kind(node.kind)
        if kind is not None and kind.plugin and kind.plugin != CORE_DISTRIBUTION:
            out[kind.name] = kind.plugin
    return out


def record_plugins(project: Project) -> None:
    """Write ``settings.plugins`` for the plugin kinds in use (kept for kinds not installed)."""
    used = plugin_packages(project)
    current = project.settings.get(SETTING)
    merged = dict(current) if isinstance(current, dict) else {}
    kinds_in_use = {n.kind for n in project.nodes.values()}
    merged = {k: v for k, v in merged.items() if k in kinds_in_use}
    merged.update(used)
    if merged:
        project.settings[SETTING] = merged
    else:
        project.settings.pop(SETTING, None)


def kind_origins(project: Project) -> list[str]:
    """One line per kind the project uses: where it comes from."""
    lines = []
    for name in sorted({n.kind for n in project.nodes.values()}):
        kind = get_kind(name)
        if kind is not None:
            lines.append(f"kind {name!r} from {origin(kind.plugin)}")
    return lines
