"""Subgraph nodes: reading their bodies and flattening them into one plain graph.

A body is a project document with an ``interface``::

    "interface": {"inputs":  [{"name": "x", "type": "json", "node": "a", "port": "x"}],
                  "outputs": [{"name": "y", "type": "json", "node": "b", "port": "y"}]}

An input may name several inner ports (several entries with the same name); an output
names exactly one. A referenced part is untrusted input like any opened ``.twin``: a
relative path inside the project folder (no absolute path, no ``..``, no link leaving
the folder), a regular file of bounded size, read by the same safe reader, and it must
match its pin (``sha256:`` of its bytes) or validation says "part changed, update pin".

Flattened ids are ``INSTANCE--INNER`` (the identifier grammar allows ``-``), so each is still
one safe path component; the slash path ``instance/inner`` is kept on the node as
``subgraph_path`` for lineage and the UI.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinflow_studio.project.errors import Problem, TwinFileError, TwinFlowError, ValidationError
from twinflow_studio.project.identifiers import identifier_problem, is_identifier
from twinflow_studio.project.kinds import PORT_TYPES
from twinflow_studio.project.model import Edge, Node, Port, Project
from twinflow_studio.project.safejson import parse, read_bounded

SEPARATOR = "--"
MAX_DEPTH = 16
# Parts using parts many times over multiply: a few small files could ask for billions of
# nodes. Counted over every level of the flattening (each level copies the one below).
MAX_FLAT_NODES = 1_000_000


class _TooBig(TwinFlowError):
    """Raised inside the expansion when it passes MAX_FLAT_NODES; turned into a Problem."""


def _cap() -> int:
    return MAX_FLAT_NODES  # read at call time (tests lower it)


@dataclass(frozen=True)
class InterfacePort:
    name: str
    type: str
    node: str
    port: str


@dataclass
class Body:
    """A subgraph's body: its graph and its declared interface."""

    project: Project
    inputs: list[InterfacePort]
    outputs: list[InterfacePort]
    description: str = ""

    def input_ports(self) -> list[Port]:
        seen: dict[str, Port] = {}
        for p in self.inputs:
            seen.setdefault(p.name, Port(p.name, p.type))
        return list(seen.values())

    def output_ports(self) -> list[Port]:
        return [Port(p.name, p.type, required=False) for p in self.outputs]


def file_pin(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def has_subgraphs(project: Project) -> bool:
    return any(node.kind == "subgraph" for node in project.nodes.values())


def resolve_ref(project_dir: Path, ref: Any) -> Path:
    """The file a part reference names, refused unless it stays inside ``project_dir``."""
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError("must be a relative path to a .twin file")
    if "\\" in ref or "\x00" in ref or os.path.isabs(ref) or ref.startswith("~"):
        raise ValueError(f"{ref!r} must be a relative path inside the project folder")
    parts = Path(ref).parts
    if ".." in parts:
        raise ValueError(f"{ref!r} must not leave the project folder ('..')")
    root = Path(os.path.realpath(project_dir))
    path = root / ref
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        raise ValueError(f"{ref!r} leads out of the project folder (through a link)")
    if path.is_symlink():
        raise ValueError(f"{ref!r} is a link; a part must be a regular file")
    return path


def read_part(path: Path) -> tuple[bytes, Body]:
    """The bytes and body of the part file at ``path`` (a ``TwinFileError`` when unreadable)."""
    data = read_bounded(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TwinFileError(str(path), f"is not UTF-8 text (byte {exc.start})") from None
    return data, body_from_text(text, str(path))


def body_from_text(text: str, file: str) -> Body:
    from twinflow_studio.project import twinfile

    doc = parse(text, file)
    project = twinfile.loads(text, file)
    raw = doc.get("interface", {}) if isinstance(doc, dict) else {}
    if not isinstance(raw, dict):
        raise TwinFileError(file, '"interface" must be an object {inputs, outputs}')
    inputs = _interface(raw.get("inputs", []), "interface.inputs", file, project)
    outputs = _interface(raw.get("outputs", []), "interface.outputs", file, project)
    names = [p.name for p in outputs]
    if len(set(names)) != len(names):
        raise TwinFileError(file, "interface.outputs: each output name may appear once")
    return Body(project, inputs, outputs, project.description)


def _interface(raw: Any, where: str, file: str, project: Project) -> list[InterfacePort]:
    if not isinstance(raw, list):
        raise TwinFileError(file, f"{where} must be a list")
    out = []
    for i, item in enumerate(raw):
        path = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise TwinFileError(file, f"{path} must be an object {{name, type, node, port}}")
        for key in ("name", "node", "port"):
            problem = identifier_problem(item.get(key))
            if problem is not None:
                raise TwinFileError(file, f"{path}.{key}: {problem}")
        port_type = item.get("type", "any")
        if port_type not in PORT_TYPES:
            raise TwinFileError(file, f"{path}.type must be one of {', '.join(PORT_TYPES)}")
        if item["node"] not in project.nodes:
            raise TwinFileError(file, f"{path}.node: the body has no node {item['node']!r}")
        out.append(InterfacePort(item["name"], port_type, item["node"], item["port"]))
    return out


_Flat = tuple[
    Project, dict[tuple[str, str], list[tuple[str, str]]], dict[tuple[str, str], tuple[str, str]]
]


class _Flattener:
    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self.problems: list[Problem] = []
        self.made = 0
        self.embedded: dict[str, Body] = {}
        # A part is read once per flattening: every instance sees the same bytes.
        self.parts: dict[Path, tuple[bytes, Body]] = {}

    def body(self, node: Node, where: str, chain: tuple[str, ...]) -> tuple[Body, str] | None:
        """The node's body and the name it goes by in a reference chain (None: a problem)."""
        params = node.params
        ref, embedded = params.get("ref"), params.get("body")
        if (ref is None) == (embedded is None):
            self._problem(where, node, "a subgraph needs exactly one of 'body' or 'ref'")
            return None
        if embedded is not None:
            if not isinstance(embedded, dict):
                self._problem(f"{where}.params.body", node, "must be a project document")
                return None
            # Instances of one body are read once. Keyed by the exact text: an equality of
            # dicts would take 1 for True or 1.0 and reuse a body that differs.
            text = json.dumps(embedded)
            body = self.embedded.get(text)
            if body is None:
                try:
                    body = body_from_text(text, f"{where}.params.body")
                except TwinFileError as exc:
                    self._problem(f"{where}.params.body", node, exc.detail, "bad_body")
                    return None
                self.embedded[text] = body
            return body, f"{node.id} (embedded)"
        try:
            path = resolve_ref(self.project_dir, ref)
        except ValueError as exc:
            self._problem(f"{where}.params.ref", node, str(exc), "bad_ref")
            return None
        name = str(ref)
        if name in chain:
            loop = " -> ".join([*chain[chain.index(name) :], name])
            self._problem(f"{where}.params.ref", node, f"recursive reference: {loop}", "recursive")
            return None
        try:
            if path not in self.parts:
                self.parts[path] = read_part(path)
            data, body = self.parts[path]
        except TwinFileError as exc:
            self._problem(f"{where}.params.ref", node, f"{ref}: {exc.detail}", "bad_ref")
            return None
        actual, pin = file_pin(data), params.get("pin")
        if pin != actual:
            said = "is not pinned" if not pin else f"was pinned as {pin}"
            self._problem(
                f"{where}.params.pin",
                node,
                f"part changed, update pin: {ref} {said}; its content is now {actual}",
                "part_changed",
            )
            return None
        return body, name

    def _problem(self, path: str, node: Node, message: str, code: str = "invalid") -> None:
        self.problems.append(Problem(path, message, node.id, code))

    def flatten(self, project: Project, prefix: str, chain: tuple[str, ...]) -> _Flat:
        """``project`` with every subgraph replaced by its (flattened) body, and where each
        subgraph port of this level went (for the interface of the level above)."""
        out = copy.copy(project)
        out.nodes, out.edges = {}, []
        # (instance, port) -> inner (node, port) targets / source, for the rewiring below.
        ins: dict[tuple[str, str], list[tuple[str, str]]] = {}
        outs: dict[tuple[str, str], tuple[str, str]] = {}
        for node in project.nodes.values():
            where = f"nodes.{prefix}{node.id}"
            if node.kind != "subgraph":
                out.nodes[node.id] = node
                continue
            if len(chain) >= MAX_DEPTH:
                self._problem(where, node, f"subgraphs nest deeper than {MAX_DEPTH}: {chain}")
                continue
            found = self.body(node, where, chain)
            if found is None:
                continue
            body, name = found
            inner, inner_ins, inner_outs = self.flatten(
                body.project, f"{prefix}{node.id}{SEPARATOR}", (*chain, name)
            )
            self._override(inner, node, where)
            for inner_node in inner.nodes.values():
                # Instances share nested parameter values, as a run only reads them.
                flat = Node(**{**inner_node.__dict__, "params": dict(inner_node.params)})
                flat.id = _join(node.id, inner_node.id)
                flat.subgraph_path = f"{node.id}/{inner_node.subgraph_path or inner_node.id}"
                flat.muted = inner_node.muted or node.muted  # a muted instance mutes its body
                if not is_identifier(flat.id):
                    self._problem(where, node, f"the flattened id {flat.id!r} is too long")
                    continue
                if flat.id in project.nodes:
                    self._problem(where, node, f"the flattened id {flat.id!r} is taken")
                    continue
                out.nodes[flat.id] = flat
                self.made += 1
                if self.made > _cap():
                    raise _TooBig(node.id)
            for e in inner.edges:
                out.edges.append(
                    Edge(
                        _join(node.id, e.source),
                        e.source_port,
                        _join(node.id, e.target),
                        e.target_port,
                    )
                )
            for p in body.inputs:
                target = inner_ins.get((p.node, p.port), [(p.node, p.port)])
                ins.setdefault((node.id, p.name), []).extend(
                    (_join(node.id, n), port) for n, port in target
                )
            for p in body.outputs:
                source = inner_outs.get((p.node, p.port), (p.node, p.port))
                outs[(node.id, p.name)] = (_join(node.id, source[0]), source[1])
        for e in project.edges:
            sources = [(e.source, e.source_port)]
            if (e.source, e.source_port) in outs:
                sources = [outs[(e.source, e.source_port)]]
            elif (
                project.nodes.get(e.source) is not None
                and project.nodes[e.source].kind == "subgraph"
            ):
                sources = self._unknown(e, e.source, e.source_port, "output")
            targets = [(e.target, e.target_port)]
            if (e.target, e.target_port) in ins:
                targets = ins[(e.target, e.target_port)]
            elif (
                project.nodes.get(e.target) is not None
                and project.nodes[e.target].kind == "subgraph"
            ):
                targets = self._unknown(e, e.target, e.target_port, "input")
            for s in sources:
                for t in targets:
                    out.edges.append(Edge(s[0], s[1], t[0], t[1]))
        return out, ins, outs

    def _unknown(self, e: Edge, node_id: str, port: str, side: str) -> list[tuple[str, str]]:
        if not any(p.node_id == node_id for p in self.problems):
            self.problems.append(
                Problem(
                    f"edges.{e.source}.{e.source_port}->{e.target}.{e.target_port}",
                    f"subgraph {node_id!r} has no {side} {port!r} in its interface",
                    node_id,
                )
            )
        return []

    def _override(self, inner: Project, node: Node, where: str) -> None:
        overrides = node.params.get("overrides") or {}
        if not isinstance(overrides, dict):
            self._problem(f"{where}.params.overrides", node, "must be {inner node: {param: value}}")
            return
        for inner_id, values in overrides.items():
            target = inner.nodes.get(inner_id)
            if target is None or not isinstance(values, dict):
                self._problem(
                    f"{where}.params.overrides.{inner_id}",
                    node,
                    f"the body has no node {inner_id!r}"
                    if target is None
                    else "must be an object {param: value}",
                )
                continue
            inner.nodes[inner_id] = Node(
                **{**target.__dict__, "params": {**target.params, **values}}
            )


def _join(outer: str, inner: str) -> str:
    return f"{outer}{SEPARATOR}{inner}"


def flatten(project: Project, project_dir: Path, parts_read: list[Path] | None = None) -> Project:
    """``project`` with its subgraphs flattened (itself when it has none); a
    ``ValidationError`` names every body that cannot be read, a changed pin, a recursion.
    ``parts_read`` (when given) receives the part files it read, even when it fails."""
    if not has_subgraphs(project):
        return project
    flattener = _Flattener(project_dir)
    try:
        flat = flattener.flatten(project, "", ())[0]
    except _TooBig as exc:
        message = f"its subgraphs expand to more than {_cap()} nodes"
        raise ValidationError([Problem(f"nodes.{exc}", message, str(exc), "too_big")]) from None
    finally:
        if parts_read is not None:
            parts_read.extend(sorted(flattener.parts))
    if flattener.problems:
        raise ValidationError(flattener.problems)
    return flat


def expand_ids(flat: Project, ids: Iterable[str]) -> set[str]:
    """``ids`` of a flattened project, with a subgraph's id standing for every node
    flattened out of it (``--only`` and "Run selected" name what the user sees)."""
    wanted = set(ids)
    found = {n for n in wanted if n in flat.nodes}
    prefixes = tuple(f"{n}{SEPARATOR}" for n in wanted - found)
    if prefixes:
        found |= {n for n in flat.nodes if n.startswith(prefixes)}
        found |= {n for n in wanted if not any(p.startswith(f"{n}{SEPARATOR}") for p in found)}
    return found


def subgraph_problems(project: Project, project_dir: Path) -> list[Problem]:
    """What ``flatten`` would refuse, as problems (for ``--validate`` and the studio)."""
    try:
        flatten(project, project_dir)
    except ValidationError as exc:
        return list(exc.problems)
    return []


def load_body(node: Node, project_dir: Path) -> Body | None:
    """The body of a subgraph node as it is now (no pin check; None when unreadable)."""
    flattener = _Flattener(project_dir)
    found = flattener.body(node, f"nodes.{node.id}", ())
    if found is not None:
        return found[0]
    if node.params.get("ref") is not None:
        try:
            return read_part(resolve_ref(project_dir, node.params.get("ref")))[1]
        except (ValueError, TwinFileError):
            return None
    return None
