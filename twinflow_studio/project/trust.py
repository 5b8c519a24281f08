"""Why running a project needs the user's trust: the pure part of project trust.

Opening a project is inert; running it may do what these reasons say. Each reason names
the place in the `.twin` (``where``), what running it would do (``text``) and a stable
``key`` that changes when what it allows changes (another callable, another URL), so a
remembered answer covers exactly the reasons the user saw. Nothing here reads a file or the
environment: the checks that look at the disk (links) live in ``twinflow_studio.trust``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twinflow_studio.project.kinds import PYTHON_TARGETS, get_kind
from twinflow_studio.project.lineage_settings import lineage_settings
from twinflow_studio.project.model import Node, Project, TargetConfig
from twinflow_studio.project.placement import PlacementError, Placements

DEFAULT_DOCKER_URLS = ("", "unix:///var/run/docker.sock", "unix://var/run/docker.sock")
# Parameters of the TwinStat kinds that name a Python function to import and call.
CALLABLE_PARAMS = ("callable", "model", "transition", "measurement")
# Estimators are imported by path too; scikit-learn's own classes are installed code.
TRUSTED_ESTIMATOR_PACKAGES = ("sklearn",)
# Values that Batch resolves from your account's secrets when the job starts.
SECRET_ARNS = ("arn:aws:secretsmanager:", "arn:aws:ssm:")

CATEGORIES = {
    "python": "run Python code (its own modules included) with your user's rights",
    "native": "load and run the native code of the FMUs it simulates, on this machine",
    "lineage": "send lineage records to a database the project names",
    "run_store": "write runs outside the project folder",
    "docker": "talk to a Docker engine the project names",
    "aws": "act on AWS with your credentials",
    "network": "give containers network access",
    "broker": "connect to the MQTT brokers it names and store what they send",
    "files": "read files outside the project folder",
    "env": "pass your environment variables to its nodes",
    "links": "follow links out of the project folder",
}


@dataclass(frozen=True)
class TrustReason:
    category: str  # a key of CATEGORIES
    where: str  # the place in the .twin, e.g. "nodes.fit.params.callable"
    text: str  # what running it would do, for a person
    value: str = ""  # what it names (callable, URL, path); part of the key

    @property
    def key(self) -> str:
        return f"{self.category}:{self.where}={self.value}"

    def __str__(self) -> str:
        return f"{self.text} ({self.where})"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _outside(project_dir: str, location: str) -> bool:
    """Whether ``location`` (absolute, ``~`` or relative to the project folder) lies outside
    it, lexically (``..`` included); links are checked on disk by the caller."""
    if location.startswith("~"):
        return True
    base = _base(project_dir)
    joined = posixpath.normpath(posixpath.join(base, location))
    return joined != base and not joined.startswith(base.rstrip("/") + "/")


def _base(project_dir: str) -> str:
    # Without a folder (an unsaved project) relative paths still count as inside it.
    return posixpath.normpath(project_dir) if project_dir else "/unsaved-project"


def _python_reasons(node: Node) -> list[TrustReason]:
    out: list[TrustReason] = []
    where = f"nodes.{node.id}.params"
    if node.kind == "python":
        target = _text(node.params.get("callable"))
        out.append(
            TrustReason(
                "python", f"{where}.callable", f"node {node.id!r} runs Python code {target}", target
            )
        )
        return out
    kind = get_kind(node.kind)
    # Installed kinds (the core's and plugins') are trusted code; a callable they are told to
    # import from the project is not.
    if kind is None or kind.executor is None:
        return out
    for name in CALLABLE_PARAMS:
        target = _text(node.params.get(name))
        if target.strip():
            out.append(
                TrustReason(
                    "python",
                    f"{where}.{name}",
                    f"node {node.id!r} imports and calls {target}",
                    target,
                )
            )
    estimator = _text(node.params.get("estimator"))
    package = estimator.replace(":", ".").split(".", 1)[0]
    if estimator.strip() and package not in TRUSTED_ESTIMATOR_PACKAGES:
        out.append(
            TrustReason(
                "python",
                f"{where}.estimator",
                f"node {node.id!r} imports estimator {estimator} (not scikit-learn's own)",
                estimator,
            )
        )
    return out


def _fmu_reasons(project: Project, node: Node, target: TargetConfig | None) -> list[TrustReason]:
    """An FMU is a shared library: simulating it on a local worker (thread or process) runs
    its code with your rights (in a container it runs there, like any image's code)."""
    if target is None or target.kind not in PYTHON_TARGETS:
        return []
    sources = [e.source for e in project.edges if e.target == node.id and e.target_port == "fmu"]
    if node.kind != "fmu" and not sources:
        return []
    names = ", ".join(sorted(sources)) or "its fmu input"
    return [
        TrustReason(
            "native",
            f"nodes.{node.id}",
            f"node {node.id!r} loads and runs the FMU from {names} on this machine",
            names,
        )
    ]


def _endpoint(options: Mapping[str, Any], name: str) -> str:
    return _text(options.get(name)).strip()


def _node_reasons(node: Node, project_dir: str) -> list[TrustReason]:
    out = _python_reasons(node)
    where = f"nodes.{node.id}.params"
    if node.kind == "container":
        network = _text(node.params.get("network")) or "none"
        if network != "none":
            out.append(
                TrustReason(
                    "network",
                    f"{where}.network",
                    f"container node {node.id!r} runs with network {network!r}",
                    network,
                )
            )
        env = node.params.get("env")
        for name, value in env.items() if isinstance(env, dict) else ():
            if isinstance(value, str) and value.startswith(SECRET_ARNS):
                value = {"arn": value}
            if isinstance(value, dict):
                named = ", ".join(f"{k}={v}" for k, v in sorted(value.items(), key=str))
                out.append(
                    TrustReason(
                        "env",
                        f"{where}.env.{name}",
                        f"container node {node.id!r} gets {name} from {named}",
                        named,
                    )
                )
    if node.kind == "mqtt":
        broker = _text(node.params.get("broker"))
        out.append(
            TrustReason(
                "broker",
                f"{where}.broker",
                f"node {node.id!r} subscribes to the MQTT broker at {broker}",
                broker,
            )
        )
    if node.kind == "datasource":
        location = _text(node.params.get("path"))
        if location.startswith("s3://"):
            s3 = node.params.get("s3")
            endpoint = _endpoint(s3, "endpoint_url") if isinstance(s3, dict) else ""
            at = f" from {endpoint}" if endpoint else ""
            out.append(
                TrustReason(
                    "aws",
                    f"{where}.path",
                    f"node {node.id!r} downloads {location}{at} with your AWS credentials",
                    f"{location} {endpoint}".strip(),
                )
            )
        elif location and _outside(project_dir, location):
            out.append(
                TrustReason(
                    "files", f"{where}.path", f"node {node.id!r} reads {location}", location
                )
            )
    return out


def _target_reasons(target: TargetConfig, users: list[str]) -> list[TrustReason]:
    where = f"targets.{target.name}.options"
    nodes = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
    if target.kind == "docker":
        url = _endpoint(target.options, "base_url")
        if url not in DEFAULT_DOCKER_URLS:
            return [
                TrustReason(
                    "docker",
                    f"{where}.base_url",
                    f"target {target.name!r} sends node {nodes}'s containers to the Docker "
                    f"engine at {url}",
                    url,
                )
            ]
    if target.kind == "batch":
        endpoint = _endpoint(target.options, "endpoint_url")
        prefix = _text(target.options.get("s3_prefix"))
        queue = _text(target.options.get("job_queue"))
        at = f" at {endpoint}" if endpoint else ""
        return [
            TrustReason(
                "aws",
                where,
                f"target {target.name!r} submits node {nodes} to AWS Batch queue {queue!r} and "
                f"writes {prefix}{at} with your AWS credentials",
                f"{queue} {prefix} {endpoint}".strip(),
            )
        ]
    return []


def _lineage_reasons(project: Project, project_dir: str) -> list[TrustReason]:
    settings = project.settings.get("lineage")
    if not isinstance(settings, dict) or lineage_settings(project.settings) is None:
        return []
    backend = settings.get("backend", "embedded")
    url = _text(settings.get("url"))
    if backend == "embedded":
        path = _text(settings.get("path"))
        if path and not is_inside_twinflow(project_dir, path):
            return [
                TrustReason(
                    "lineage",
                    "settings.lineage.path",
                    f"the lineage graph is written to {path}",
                    path,
                )
            ]
        return []
    shown = url or "its default URL"
    if backend == "neptune":
        text = f"lineage goes to Neptune at {shown}, signed with your AWS credentials"
    else:
        text = f"lineage goes to the {backend} database at {shown}"
    return [TrustReason("lineage", "settings.lineage", text, f"{backend} {url}".strip())]


def is_inside_twinflow(project_dir: str, location: str) -> bool:
    """Whether ``location`` (relative to ``project_dir``) lies in the project's own
    ``.twinflow/`` folder, lexically."""
    base = posixpath.join(_base(project_dir), ".twinflow")
    joined = posixpath.normpath(posixpath.join(_base(project_dir), location))
    return joined == base or joined.startswith(base + "/")


def trust_reasons(
    project: Project, project_dir: str = "", *, lineage: bool = True
) -> list[TrustReason]:
    """What running ``project`` (whose folder is ``project_dir``) may do beyond running its
    containers on the local Docker engine with no network: empty when it needs no trust.
    ``lineage=False`` leaves out the lineage database (a run without lineage)."""
    out: list[TrustReason] = []
    users: dict[str, list[str]] = {}
    placements = Placements(project)
    for node in project.nodes.values():
        out += _node_reasons(node, project_dir)
        try:
            placed = placements.target(node).name
        except (PlacementError, AttributeError, TypeError, KeyError):  # validation says why
            continue
        users.setdefault(placed, []).append(node.id)
        out += _fmu_reasons(project, node, project.targets.get(placed))
    for name, nodes in sorted(users.items()):
        target = project.targets.get(name)
        if target is not None:
            out += _target_reasons(target, sorted(nodes))
    if lineage:
        out += _lineage_reasons(project, project_dir)
    store = _text(project.settings.get("run_store"))
    if store and _outside(project_dir, store):
        out.append(
            TrustReason("run_store", "settings.run_store", f"runs are written to {store}", store)
        )
    for i, trigger in enumerate(project.triggers):
        config = trigger.get("config") if isinstance(trigger, dict) else None
        if not isinstance(config, dict):
            continue
        uri, endpoint = _text(config.get("uri")), _endpoint(config, "endpoint_url")
        if uri.startswith("s3://") or endpoint:
            at = f" at {endpoint}" if endpoint else ""
            out.append(
                TrustReason(
                    "aws",
                    f"triggers[{i}].config",
                    f"trigger {trigger.get('id', i)!r} lists {uri or 'S3'}{at} with your AWS "
                    "credentials",
                    f"{uri} {endpoint}".strip(),
                )
            )
    return out


def grants(reasons: list[TrustReason]) -> list[str]:
    """What trusting a project with these reasons allows, one line per category."""
    seen = dict.fromkeys(r.category for r in reasons)
    return [CATEGORIES.get(c, c) for c in seen]
