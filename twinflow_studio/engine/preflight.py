"""Pre-run checks: what can be known about a project's surroundings before it runs.

``project.validate`` checks the document alone (it does no I/O beyond the `.twin`); these
checks look around it: data files and folders exist, the images of Docker nodes are on the
local engine, and Python callables resolve. Nothing of the user's is imported or run: a
module is found with the import system's path finder (no parent package ``__init__`` runs)
and its source is parsed, not executed, to find the function. The CLI's ``--validate`` and
``--run`` and the studio's Validate all call :func:`preflight`.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterable
from importlib.machinery import PathFinder, SourceFileLoader
from pathlib import Path
from typing import Any

from twinflow_studio.engine.code_identity import parse_source
from twinflow_studio.project.errors import Problem, ValidationError
from twinflow_studio.project.model import Node, Project
from twinflow_studio.project.placement import PlacementError, resolve_target
from twinflow_studio.project.subgraphs import expand_ids, flatten

# Parameters that name a Python function as "package.module:function".
CALLABLE_PARAMS = ("callable", "model")
DOCKER_TIMEOUT_S = 10


def preflight(
    project: Project,
    project_dir: Path,
    only: Iterable[str] | None = None,
    check_images: bool = True,
) -> list[Problem]:
    """Problems found around ``project`` (errors stop a run; warnings do not). ``only``
    restricts the checks to those nodes and what they need upstream, as a run of them."""
    project_dir = Path(project_dir)
    # Subgraphs are checked as they run: flattened (a body that cannot be read, a part
    # changed since it was pinned or a recursion is the problem then).
    try:
        project = flatten(project, project_dir)
    except ValidationError as exc:
        return list(exc.problems)
    if only is not None:
        only = expand_ids(project, only)
    ids = project.reachable(set(only), upstream=True) if only is not None else set(project.nodes)
    problems: list[Problem] = []
    images: dict[str, dict[str, list[str]]] = {}  # docker base url -> image -> node ids
    for node_id in sorted(ids):
        node = project.nodes[node_id]
        problems += _check_paths(node, project_dir)
        problems += _check_callables(node, project_dir)
        if node.kind == "container" and isinstance(node.params.get("image"), str):
            url = _docker_url(project, node)
            if url is not None:
                images.setdefault(url, {}).setdefault(node.params["image"], []).append(node.id)
    if check_images:
        for url, wanted in images.items():
            problems += _check_images(url, wanted)
    if only is None:
        problems += _check_trigger_folders(project, project_dir)
    return problems


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity != "warning"]


# -- data files ---------------------------------------------------------------------------


def _check_paths(node: Node, project_dir: Path) -> list[Problem]:
    if node.kind != "datasource":
        return []
    location = node.params.get("path")
    if not isinstance(location, str) or not location or location.startswith("s3://"):
        return []  # missing is validate's to report; S3 is checked when it is downloaded
    path = _resolve(location, project_dir)
    if path.exists():
        return []
    where = "" if str(path) == location else f" (looked for {path})"
    return [
        Problem(
            f"nodes.{node.id}.params.path",
            f"data file or folder {location!r} does not exist{where}",
            node.id,
            "missing_file",
        )
    ]


def _resolve(location: str, project_dir: Path) -> Path:
    path = Path(location).expanduser()
    return path if path.is_absolute() else project_dir / path


def _check_trigger_folders(project: Project, project_dir: Path) -> list[Problem]:
    out = []
    for i, trig in enumerate(project.triggers):
        config = trig.get("config") if isinstance(trig, dict) else None
        path = config.get("path") if isinstance(config, dict) else None
        if trig.get("kind") == "new_data" and isinstance(path, str) and path:
            folder = _resolve(path, project_dir)
            if not folder.is_dir():
                out.append(
                    Problem(
                        f"triggers[{i}].config.path",
                        f"folder {path!r} does not exist (yet); the trigger watches {folder}",
                        code="missing_folder",
                        severity="warning",
                    )
                )
    return out


# -- Python callables ---------------------------------------------------------------------


def _check_callables(node: Node, project_dir: Path) -> list[Problem]:
    out = []
    for key in CALLABLE_PARAMS:
        value = node.params.get(key)
        if not isinstance(value, str) or ":" not in value:
            continue
        reason = callable_problem(value, project_dir)
        if reason:
            out.append(Problem(f"nodes.{node.id}.params.{key}", reason, node.id, "bad_callable"))
    return out


def callable_problem(path: str, project_dir: Path) -> str | None:
    """Why ``module:function`` would not resolve in a run (None when it would, or when it
    cannot be told without importing)."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr or not all(p.isidentifier() for p in module_name.split(".")):
        return f"{path!r} must look like 'package.module:function'"
    # The engine appends the project folder to sys.path: it is searched last, as there.
    parts = module_name.split(".")
    spec = PathFinder.find_spec(parts[0], [*sys.path, str(project_dir)])
    if spec is None:
        # Built-in modules and installed packages with their own finders (editable
        # installs): for a top-level name, find_spec consults them without importing.
        try:
            spec = importlib.util.find_spec(parts[0])
        except (ImportError, ValueError):
            spec = None
    if spec is None:
        return f"cannot find module {parts[0]!r} (looked in the project folder and sys.path)"
    for i, part in enumerate(parts[1:], start=2):
        if spec.submodule_search_locations is None:
            return None  # not a package (os.path): only an import would tell
        spec = PathFinder.find_spec(part, list(spec.submodule_search_locations))
        if spec is None:
            return f"cannot find module {'.'.join(parts[:i])!r} in its package"
    if not isinstance(spec.loader, SourceFileLoader) or not spec.origin:
        return None  # compiled or namespace modules: only an import would tell
    try:
        source = Path(spec.origin).read_text(encoding="utf-8")
        tree = parse_source(source, spec.origin)
    except SyntaxError as exc:
        return f"module {module_name!r} ({spec.origin}) has a syntax error at line {exc.lineno}"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"cannot read module {module_name!r} ({spec.origin}): {exc}"
    first = attr.split(".")[0]
    if _defines(tree, first):
        return None
    return f"module {module_name!r} ({spec.origin}) defines no {first!r}"


def _defines(tree: ast.Module, name: str) -> bool:
    """Whether the module's top level binds ``name`` (or might: star imports, __getattr__)."""
    for stmt in _top_level(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if stmt.name in (name, "__getattr__"):
                return True
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                bound = alias.asname or alias.name.split(".")[0]
                if alias.name == "*" or bound == name:
                    return True
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                    return True
    return False


def _top_level(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Statements at module level, including those inside if/try/with/for blocks there."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # a new scope: what it binds is not the module's
        for field in ("body", "orelse", "finalbody"):
            yield from _top_level(getattr(stmt, field, []))
        for handler in getattr(stmt, "handlers", []):
            yield from _top_level(handler.body)


# -- Docker images ------------------------------------------------------------------------


def _docker_url(project: Project, node: Node) -> str | None:
    try:
        config = resolve_target(project, node)
    except PlacementError:
        return None  # validate reports it
    if config.kind != "docker":
        return None  # Batch pulls from a registry; only local images can be checked here
    if config.options.get("base_url"):
        # An endpoint the file names is contacted only by a run the user trusted: validating
        # (or opening) a project stays inert, so its images are checked then.
        return None
    from twinflow_studio.engine.targets.docker import DockerTarget

    return DockerTarget(config).base_url


def _check_images(url: str, wanted: dict[str, list[str]]) -> list[Problem]:
    try:
        import docker
        import docker.errors
    except ImportError:
        return [_docker_warning(wanted, "the docker Python package is not installed")]
    client: Any = None
    try:
        client = docker.DockerClient(base_url=url, timeout=DOCKER_TIMEOUT_S)
        client.ping()
    except Exception as exc:  # DockerException, requests errors, OSError
        if client is not None:
            client.close()
        reason = f"cannot reach the Docker engine at {url} to check images ({_short(exc)})"
        return [_docker_warning(wanted, reason)]
    out = []
    try:
        for image, node_ids in sorted(wanted.items()):
            try:
                client.images.get(image)
            except docker.errors.ImageNotFound:
                out += [
                    Problem(
                        f"nodes.{n}.params.image",
                        f"image {image!r} is not on the Docker engine at {url}; build or pull "
                        "it first (no registry is contacted during a run)",
                        n,
                        "missing_image",
                    )
                    for n in node_ids
                ]
            except docker.errors.APIError as exc:
                out += [
                    Problem(
                        f"nodes.{n}.params.image",
                        f"cannot inspect image {image!r}: {_short(exc)}",
                        n,
                        "missing_image",
                        "warning",
                    )
                    for n in node_ids
                ]
    finally:
        client.close()
    return out


def _docker_warning(wanted: dict[str, list[str]], reason: str) -> Problem:
    first = sorted(n for ids in wanted.values() for n in ids)[0]
    return Problem(f"nodes.{first}.params.image", reason, first, "docker_unreachable", "warning")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
