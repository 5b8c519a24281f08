"""NodeGraphQt is reached beyond its public API only from ui/nodegraph_adapter.py, and the
pin in pyproject.toml admits the installed version (so an upgrade is a deliberate change)."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
from pathlib import Path

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "twinflow_studio" / "ui"
ADAPTER = UI / "nodegraph_adapter.py"


def nodegraph_private_names() -> set[str]:
    """Underscore attributes and methods NodeGraphQt defines (read from its source)."""
    spec = importlib.util.find_spec("NodeGraphQt")
    assert spec is not None and spec.submodule_search_locations
    text = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in spec.submodule_search_locations
        for path in Path(folder).rglob("*.py")
    )
    return set(re.findall(r"self\.(_[a-z]\w*)", text)) | set(re.findall(r"def (_[a-z]\w*)", text))


def own_private_names(tree: ast.AST) -> set[str]:
    """Underscore names a module defines itself: methods, and attributes it assigns."""
    names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute):
                    names.add(part.attr)
    return {n for n in names if n.startswith("_")}


def test_only_the_adapter_imports_nodegraphqt_or_touches_its_private_api() -> None:
    private = nodegraph_private_names()
    assert {"_scene_range", "_on_connection_changed", "_proxy_mode"} <= private
    offences = []
    for path in sorted(UI.rglob("*.py")):
        if path == ADAPTER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        mine = own_private_names(tree)
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("NodeGraphQt"):
                offences.append(f"{where}:{node.lineno}: from {node.module} import ...")
            elif isinstance(node, ast.Import):
                offences += [
                    f"{where}:{node.lineno}: import {a.name}"
                    for a in node.names
                    if a.name.startswith("NodeGraphQt")
                ]
            elif (
                isinstance(node, ast.Attribute)
                and node.attr in private
                and node.attr not in mine
                and not node.attr.startswith("__")
            ):
                offences.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    assert offences == [], "NodeGraphQt internals outside ui/nodegraph_adapter.py:\n" + "\n".join(
        offences
    )


def test_nodegraphqt_is_pinned_below_its_next_minor_and_the_pin_admits_the_installed_one() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    gui = project["project"]["optional-dependencies"]["gui"]
    req = next(Requirement(r) for r in gui if r.lower().startswith("nodegraphqt"))
    installed = importlib.metadata.version("NodeGraphQt")
    major, minor = (int(p) for p in installed.split(".")[:2])
    assert req.specifier.contains(installed), (str(req), installed)
    assert not req.specifier.contains(f"{major}.{minor + 1}.0"), str(req)
