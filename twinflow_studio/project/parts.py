"""The parts library: `.twin` parts in the project's ``parts/`` folder and in the user's
folder (``$XDG_DATA_HOME/twinflow-studio/parts``), listed with their name, description and
ports, and whether a subgraph node's pinned part has a newer version.

Listing reads each part with the safe `.twin` reader (bounded, regular files only, links not
followed out of the folder); a part that cannot be read is listed with its problem, never
raised. Nothing is executed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from twinflow_studio.project.errors import TwinFileError
from twinflow_studio.project.model import Node, Port
from twinflow_studio.project.subgraphs import file_pin, read_part, resolve_ref

PROJECT_PARTS = "parts"
MAX_PARTS = 500


@dataclass
class PartInfo:
    name: str
    path: Path
    source: str  # "project" or "user"
    pin: str = ""
    description: str = ""
    inputs: list[Port] = field(default_factory=list)
    outputs: list[Port] = field(default_factory=list)
    problem: str | None = None

    @property
    def ref(self) -> str:
        """The reference a project node uses (project parts only)."""
        return f"{PROJECT_PARTS}/{self.path.name}"


def user_parts_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "twinflow-studio" / "parts"


def list_parts(project_dir: Path | None) -> list[PartInfo]:
    """Every part of the project's ``parts/`` and of the user's folder, by name."""
    found: list[PartInfo] = []
    folders = [(user_parts_dir(), "user")]
    if project_dir is not None:
        folders.insert(0, (project_dir / PROJECT_PARTS, "project"))
    for folder, source in folders:
        if not folder.is_dir() or folder.is_symlink():
            continue
        files = sorted(p for p in folder.iterdir() if p.suffix == ".twin")[:MAX_PARTS]
        found += [_info(path, source) for path in files]
    return found


def _info(path: Path, source: str) -> PartInfo:
    info = PartInfo(path.stem, path, source)
    if path.is_symlink():
        info.problem = "is a link; a part must be a regular file"
        return info
    try:
        data, body = read_part(path)
    except TwinFileError as exc:
        info.problem = exc.detail
        return info
    info.pin = file_pin(data)
    info.name = body.project.name if body.project.name != "untitled" else path.stem
    info.description = body.description
    info.inputs, info.outputs = body.input_ports(), body.output_ports()
    return info


def part_node(node_id: str, part: PartInfo, project_dir: Path) -> Node:
    """A subgraph node referencing ``part``; a user part is first copied into the project's
    ``parts/`` (a reference never leaves the project folder)."""
    ref = part.ref
    if part.source == "user":
        ref = import_part(part, project_dir)
    return Node(
        node_id,
        "subgraph",
        name=part.name,
        params={"ref": ref, "pin": part.pin},
        inputs=[Port(p.name, p.type, p.required) for p in part.inputs],
        outputs=[Port(p.name, p.type, p.required) for p in part.outputs],
    )


def import_part(part: PartInfo, project_dir: Path) -> str:
    """Copy a user part into the project's ``parts/`` (under a free name when another part
    holds that name with other bytes); its reference."""
    folder = project_dir / PROJECT_PARTS
    folder.mkdir(exist_ok=True)
    data = part.path.read_bytes()
    dest, n = folder / part.path.name, 1
    while dest.exists() and dest.read_bytes() != data:
        n += 1
        dest = folder / f"{part.path.stem}-{n}.twin"
    if not dest.exists():
        tmp = dest.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    return f"{PROJECT_PARTS}/{dest.name}"


def update_available(node: Node, project_dir: Path | None) -> str | None:
    """The new pin when the part ``node`` references has changed since it was pinned."""
    ref = node.params.get("ref")
    if node.kind != "subgraph" or ref is None or project_dir is None:
        return None
    try:
        data, _ = read_part(resolve_ref(project_dir, ref))
    except (ValueError, TwinFileError):
        return None
    pin = file_pin(data)
    return pin if pin != node.params.get("pin") else None
