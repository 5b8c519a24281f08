"""`.twin` files: UTF-8 JSON, deterministic key order, atomic save, schema migrations.

Loading only parses JSON into plain data classes: nothing is imported, executed or unpickled.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twinflow_studio.project.errors import TwinFileError, json_type
from twinflow_studio.project.hashing import canonical_json, hash_text
from twinflow_studio.project.identifiers import identifier_problem
from twinflow_studio.project.layout_check import layout_problem
from twinflow_studio.project.limits import check_settings
from twinflow_studio.project.model import (
    DEFAULT_MAX_OUTPUT_MIB,
    DEFAULT_PIDS_LIMIT,
    Edge,
    HardwareProfile,
    Node,
    Port,
    Project,
    RetryPolicy,
    TargetConfig,
    default_process_target,
)
from twinflow_studio.project.safejson import MAX_INT, parse, read_bounded

FORMAT = "twinflow-studio"
SCHEMA_VERSION = 3


def _profile_to_dict(p: HardwareProfile) -> dict[str, Any]:
    out: dict[str, Any] = {
        "vcpus": p.vcpus,
        "memory_mib": p.memory_mib,
        "gpus": p.gpus,
        "arch": p.arch,
    }
    # Written only when set: projects saved before these fields keep their content hash.
    if p.pids_limit != DEFAULT_PIDS_LIMIT:
        out["pids_limit"] = p.pids_limit
    if p.max_output_mib != DEFAULT_MAX_OUTPUT_MIB:
        out["max_output_mib"] = p.max_output_mib
    return out


def semantic_to_dict(project: Project) -> dict[str, Any]:
    """What the project means (its version hashes this): everything but the layout."""
    small = _small_parts(project)
    return {
        "project": small["project"],
        "profiles": small["profiles"],
        "targets": small["targets"],
        "nodes": [_node_to_dict(n) for n in _sorted_nodes(project)],
        "edges": [e.to_dict() for e in _sorted_edges(project)],
        "triggers": small["triggers"],
    }


def _small_parts(project: Project) -> dict[str, Any]:
    """The semantic parts other than nodes and edges (a few entries, whatever the size)."""
    return {
        "project": {
            "name": project.name,
            "description": project.description,
            "settings": project.settings,
        },
        "profiles": {name: _profile_to_dict(p) for name, p in sorted(project.profiles.items())},
        "targets": {
            name: {
                "kind": t.kind,
                "vcpus": t.vcpus,
                "memory_mib": t.memory_mib,
                "gpus": t.gpus,
                "arch": t.arch,
                "options": t.options,
            }
            for name, t in sorted(project.targets.items())
        },
        "triggers": sorted(project.triggers, key=lambda t: str(t.get("id", ""))),
    }


def _sorted_nodes(project: Project) -> list[Node]:
    return sorted(project.nodes.values(), key=lambda n: n.id)


def _sorted_edges(project: Project) -> list[Edge]:
    return sorted(
        project.edges, key=lambda e: (e.target, e.target_port, e.source, e.source_port)
    )


def semantic_json(project: Project) -> str:
    """``canonical_json(semantic_to_dict(project))``, written a node and an edge at a time:
    the same text without the whole dictionary alive at once. For a large project that
    dictionary was most of what the garbage collector had to walk, several times, at the
    start of every run. Keys sort as edges, nodes, profiles, project, targets, triggers."""
    edges = ",".join(canonical_json(e.to_dict()) for e in _sorted_edges(project))
    nodes = ",".join(canonical_json(_node_to_dict(n)) for n in _sorted_nodes(project))
    rest = canonical_json(_small_parts(project))
    return f'{{"edges":[{edges}],"nodes":[{nodes}],{rest[1:]}'


def _node_to_dict(node: Node) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": node.id,
        "kind": node.kind,
        "name": node.name,
        "params": node.params,
        "inputs": [p.to_dict() for p in node.inputs],
        "outputs": [p.to_dict() for p in node.outputs],
        "profile": node.profile,
        "retries": {
            "count": node.retries.count,
            "backoff_s": node.retries.backoff_s,
            "backoff_factor": node.retries.backoff_factor,
        },
    }
    if node.target is not None:
        data["target"] = node.target
    if node.timeout_s is not None:
        data["timeout_s"] = node.timeout_s
    if node.map_over is not None:
        data["map_over"] = node.map_over
    if node.map_mode != "product":
        data["map_mode"] = node.map_mode
    if node.muted:  # only when set, so that older files and their versions stay as they were
        data["muted"] = True
    return data


def to_document(project: Project) -> dict[str, Any]:
    doc = {"format": FORMAT, "schema_version": SCHEMA_VERSION}
    doc.update(semantic_to_dict(project))
    doc["layout"] = project.layout
    return doc


def dumps(project: Project) -> str:
    return json.dumps(to_document(project), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def versioned_record(project: Project) -> tuple[str, bytes]:
    """The project version and a loadable ``.twin`` document of the project, from one
    encoding of its semantic part. The document is compact and only its semantic part has
    sorted keys: it records what a run ran, it is not a file for people to diff."""
    canonical = semantic_json(project)
    version = hash_text(canonical)
    # The canonical text is a non-empty JSON object: splice the envelope in before its '}'.
    envelope = canonical_json({"format": FORMAT, "schema_version": SCHEMA_VERSION})[1:-1]
    layout = canonical_json(project.layout)
    return version, f'{canonical[:-1]},{envelope},"layout":{layout}}}\n'.encode()


def save(project: Project, path: str | os.PathLike[str]) -> None:
    """Write atomically: a crash leaves either the old file or the new one, never half."""
    write_atomic(Path(path), dumps(project).encode("utf-8"))


def write_atomic(target: Path, data: bytes) -> None:
    """A crash leaves either the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp creates 0600; the saved file keeps the mode of the file it replaces, or
        # gets what a plain open() would give a new file (0666 less the umask).
        os.fchmod(fd, _mode_for(target))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:  # a new file (or one we cannot stat): what open() would have made
        return 0o666 & ~_umask()


def _umask() -> int:
    # Linux shows the umask in /proc without changing it; elsewhere it is read by setting
    # it and putting it back at once.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open a directory; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path: str | os.PathLike[str]) -> Project:
    """Read a `.twin` file: a regular file of bounded size, else a ``TwinFileError``."""
    file = str(path)
    raw = read_bounded(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TwinFileError(file, f"is not UTF-8 text (byte {exc.start})") from None
    return loads(text, file)


def loads(text: str, file: str = "<memory>") -> Project:
    doc = parse(text, file)
    if not isinstance(doc, dict):
        raise TwinFileError(file, "the top level must be a JSON object")
    if doc.get("format") != FORMAT:
        shown = json.dumps(doc.get("format"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise TwinFileError(file, f'"format" must be "{FORMAT}" (found {shown})')
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TwinFileError(file, '"schema_version" must be a positive whole number')
    if version > SCHEMA_VERSION:
        raise TwinFileError(
            file,
            f"schema_version {version} was written by a newer TwinFlow Studio; this one reads "
            f"up to {SCHEMA_VERSION}",
        )
    while version < SCHEMA_VERSION:
        doc = MIGRATIONS[version](doc)
        version = doc["schema_version"]
    return _Reader(file).project(doc)


def _migrate_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    """v1 (the prototype) kept nodes in an object keyed by id and retries as a bare count."""
    doc = dict(doc)
    nodes = doc.get("nodes", {})
    if isinstance(nodes, dict):
        converted = []
        for node_id, node in nodes.items():
            node = dict(node) if isinstance(node, dict) else node
            if isinstance(node, dict):
                node.setdefault("id", node_id)
                if isinstance(node.get("retries"), int):
                    node["retries"] = {"count": node["retries"]}
                if "timeout" in node and "timeout_s" not in node:
                    node["timeout_s"] = node.pop("timeout")
            converted.append(node)
        doc["nodes"] = converted
    doc["schema_version"] = 2
    return doc


def _migrate_2_to_3(doc: dict[str, Any]) -> dict[str, Any]:
    """v3 added the ``process`` target kind, the default home of Python and TwinStat nodes.
    A v2 file that lists its targets gets the default process target beside them (under a
    free name), so its unpinned Python nodes move to worker processes as in a new project;
    nodes pinned to a target stay where they are."""
    doc = dict(doc)
    targets = doc.get("targets")
    if isinstance(targets, dict) and not any(
        isinstance(t, dict) and t.get("kind") == "process" for t in targets.values()
    ):
        config = default_process_target()
        name = config.name
        while name in targets:
            name += "_"
        doc["targets"] = {
            **targets,
            name: {
                "kind": config.kind,
                "vcpus": config.vcpus,
                "memory_mib": config.memory_mib,
                "gpus": config.gpus,
                "arch": config.arch,
                "options": {},
            },
        }
    doc["schema_version"] = 3
    return doc


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
}


class _Reader:
    """Turns a parsed document into a Project, naming the JSON path of anything malformed."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, message: str) -> TwinFileError:
        return TwinFileError(self.file, f"{path}: {message}")

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, found {json_type(value)}")
        return value

    def lst(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, found {json_type(value)}")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"expected a string, found {json_type(value)}")
        return value

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"expected a number, found {json_type(value)}")
        if not math.isfinite(value) or abs(value) > MAX_INT:
            raise self.fail(path, f"{value!r} is out of range")
        return value

    def integer(self, value: Any, path: str) -> int:
        number = self.number(value, path)
        if isinstance(number, float) and not number.is_integer():
            raise self.fail(path, f"expected a whole number, found {number!r}")
        return int(number)

    def identifier(self, value: Any, path: str) -> str:
        """A node id or port name: the one identifier grammar (``identifiers.py``)."""
        text = self.string(value, path)
        problem = identifier_problem(text)
        if problem is not None:
            raise self.fail(path, f"{problem}; rename it in the file")
        return text

    def project(self, doc: dict[str, Any]) -> Project:
        meta = self.obj(doc.get("project", {}), "project")
        project = Project(
            name=self.string(meta.get("name", "untitled"), "project.name"),
            description=self.string(meta.get("description", ""), "project.description"),
            settings=self.obj(meta.get("settings", {}), "project.settings"),
        )
        # The studio reads these on Open (lineage panel, run history): types checked here.
        problems = check_settings(project.settings)
        if problems:
            raise TwinFileError(self.file, str(problems[0]))
        if "profiles" in doc:
            project.profiles = {
                name: self.profile(name, value, f"profiles.{name}")
                for name, value in self.obj(doc["profiles"], "profiles").items()
            }
        if "targets" in doc:
            project.targets = {
                name: self.target(name, value, f"targets.{name}")
                for name, value in self.obj(doc["targets"], "targets").items()
            }
        for i, raw in enumerate(self.lst(doc.get("nodes", []), "nodes")):
            node = self.node(raw, f"nodes[{i}]")
            if node.id in project.nodes:
                raise self.fail(f"nodes[{i}].id", f"duplicate node id {node.id!r}")
            project.nodes[node.id] = node
        for i, raw in enumerate(self.lst(doc.get("edges", []), "edges")):
            path = f"edges[{i}]"
            edge = self.obj(raw, path)
            project.edges.append(
                Edge(
                    *(
                        self.string(edge.get(key), f"{path}.{key}")
                        for key in ("source", "source_port", "target", "target_port")
                    )
                )
            )
        project.triggers = [
            self.obj(t, f"triggers[{i}]")
            for i, t in enumerate(self.lst(doc.get("triggers", []), "triggers"))
        ]
        project.layout = self.obj(doc.get("layout", {}), "layout")
        problem = layout_problem(project.layout)
        if problem is not None:
            raise TwinFileError(self.file, problem)
        return project

    def profile(self, name: str, raw: Any, path: str) -> HardwareProfile:
        value = self.obj(raw, path)
        return HardwareProfile(
            name=name,
            vcpus=self.number(value.get("vcpus", 1.0), f"{path}.vcpus"),
            memory_mib=self.integer(value.get("memory_mib", 512), f"{path}.memory_mib"),
            gpus=self.integer(value.get("gpus", 0), f"{path}.gpus"),
            arch=self.string(value.get("arch", "x86_64"), f"{path}.arch"),
            pids_limit=int(
                self.number(value.get("pids_limit", DEFAULT_PIDS_LIMIT), f"{path}.pids_limit")
            ),
            max_output_mib=int(
                self.number(
                    value.get("max_output_mib", DEFAULT_MAX_OUTPUT_MIB), f"{path}.max_output_mib"
                )
            ),
        )

    def target(self, name: str, raw: Any, path: str) -> TargetConfig:
        value = self.obj(raw, path)
        return TargetConfig(
            name=name,
            kind=self.string(value.get("kind"), f"{path}.kind"),
            vcpus=self.number(value.get("vcpus", 2.0), f"{path}.vcpus"),
            memory_mib=self.integer(value.get("memory_mib", 4096), f"{path}.memory_mib"),
            gpus=self.integer(value.get("gpus", 0), f"{path}.gpus"),
            arch=self.string(value.get("arch", "x86_64"), f"{path}.arch"),
            options=self.obj(value.get("options", {}), f"{path}.options"),
        )

    def ports(self, raw: Any, path: str) -> list[Port]:
        ports = []
        for i, item in enumerate(self.lst(raw, path)):
            value = self.obj(item, f"{path}[{i}]")
            required = value.get("required", True)
            if not isinstance(required, bool):
                raise self.fail(f"{path}[{i}].required", "expected true or false")
            ports.append(
                Port(
                    name=self.identifier(value.get("name"), f"{path}[{i}].name"),
                    type=self.string(value.get("type", "any"), f"{path}[{i}].type"),
                    required=required,
                )
            )
        return ports

    def node(self, raw: Any, path: str) -> Node:
        value = self.obj(raw, path)
        retries_raw = self.obj(value.get("retries", {}), f"{path}.retries")
        timeout = value.get("timeout_s")
        target = value.get("target")
        map_over = value.get("map_over")
        muted = value.get("muted", False)
        if not isinstance(muted, bool):
            raise self.fail(f"{path}.muted", f"expected true or false, found {json_type(muted)}")
        return Node(
            id=self.identifier(value.get("id"), f"{path}.id"),
            kind=self.string(value.get("kind"), f"{path}.kind"),
            name=self.string(value.get("name", ""), f"{path}.name"),
            params=self.obj(value.get("params", {}), f"{path}.params"),
            inputs=self.ports(value.get("inputs", []), f"{path}.inputs"),
            outputs=self.ports(value.get("outputs", []), f"{path}.outputs"),
            profile=self.string(value.get("profile", "default"), f"{path}.profile"),
            target=None if target is None else self.string(target, f"{path}.target"),
            retries=RetryPolicy(
                count=self.integer(retries_raw.get("count", 0), f"{path}.retries.count"),
                backoff_s=self.number(
                    retries_raw.get("backoff_s", 1.0), f"{path}.retries.backoff_s"
                ),
                backoff_factor=self.number(
                    retries_raw.get("backoff_factor", 2.0), f"{path}.retries.backoff_factor"
                ),
            ),
            timeout_s=None if timeout is None else self.number(timeout, f"{path}.timeout_s"),
            map_over=None if map_over is None else self.string(map_over, f"{path}.map_over"),
            map_mode=self.string(value.get("map_mode", "product"), f"{path}.map_mode"),
            muted=muted,
        )
