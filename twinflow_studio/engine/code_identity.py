"""What a Python node's code is, found without importing it.

A node's code is the module its callable lives in plus every module of the user's own that
module imports (directly or through others), each read from disk and hashed by content.
"The user's own" means found in the project folder or in a folder on ``sys.path`` that is
neither the standard library nor an installed-packages folder. The imports are found by
reading the source with ``ast``: nothing of the user's is imported or run in the studio's
process. The worker process is handed exactly these bytes, so what ran is what was hashed.

Installed packages (numpy, scikit-learn, TwinFlow Studio itself) are not shipped: they are
the same in the worker as here, and stand in the identity by their version where we have it.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sys
import sysconfig
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import twinflow_studio
from twinflow_studio.project.hashing import hash_value

# Parameters whose string value names Python code ('module:attr', or 'module.attr').
CODE_PARAMS = ("callable", "model", "estimator", "transition", "measurement")
_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*(:[A-Za-z_][\w.]*)?$")
_PACKAGE_DIR = Path(twinflow_studio.__file__).resolve().parent


@dataclass(frozen=True)
class ModuleSource:
    """One module's bytes as the worker will run them."""

    name: str
    filename: str
    source: bytes
    is_package: bool
    sha256: str


@dataclass
class CodeSnapshot:
    """The identity digest and the user modules behind it, by module name."""

    digest: str
    modules: dict[str, ModuleSource] = field(default_factory=dict)


class _ParseCache:
    """Imports found in a source, by its content hash: unchanged files are parsed once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._imports: dict[str, tuple[tuple[str, int, tuple[str, ...]], ...]] = {}

    def imports(self, sha: str, source: bytes, filename: str) -> tuple[Any, ...]:
        with self._lock:
            found = self._imports.get(sha)
        if found is None:
            found = _imports_of(source, filename)
            with self._lock:
                if len(self._imports) > 4096:
                    self._imports.clear()
                self._imports[sha] = found
        return found


_PARSED = _ParseCache()
# CPython 3.11's parser keeps its recursion depth in per-interpreter state, so two threads
# parsing at once can fail with "AST constructor recursion depth mismatch"; parse one at a time.
_PARSE_LOCK = threading.Lock()


def parse_source(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse`` that is safe to call from several threads at once."""
    with _PARSE_LOCK:
        return ast.parse(source, filename)


def _imports_of(source: bytes, filename: str) -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    """(module, relative level, names imported from it) for each import statement."""
    try:
        tree = parse_source(source, filename)
    except (SyntaxError, ValueError):
        return ()  # the worker reports the syntax error when it imports the module
    found: list[tuple[str, int, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            found.append((node.module or "", node.level, names))
    return tuple(found)


def _system_roots() -> tuple[str, ...]:
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(os.path.realpath(path))
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        roots.add(os.path.realpath(os.path.join(prefix, "lib")))
    return tuple(sorted(roots))


_SYSTEM = _system_roots()


def _is_system(folder: str) -> bool:
    real = os.path.realpath(folder)
    if "site-packages" in real or "dist-packages" in real:
        return True
    return any(real == root or real.startswith(root + os.sep) for root in _SYSTEM)


def search_roots(project_dir: Path) -> list[tuple[str, bool]]:
    """Folders modules are found in, in the worker's order: (folder, holds user code)."""
    roots: list[tuple[str, bool]] = [(str(project_dir), True)]
    seen = {str(project_dir)}
    for entry in sys.path:
        folder = os.path.abspath(entry or os.getcwd())
        if folder in seen or not os.path.isdir(folder):
            continue
        seen.add(folder)
        roots.append((folder, not _is_system(folder)))
    return roots


class _Resolver:
    def __init__(self, project_dir: Path) -> None:
        self.roots = search_roots(project_dir)
        self.found: dict[str, ModuleSource | None] = {}

    def resolve(self, name: str) -> ModuleSource | None:
        """The user module ``name`` (None: not user code, or not found)."""
        if name in self.found:
            return self.found[name]
        self.found[name] = None  # cycles end here
        result = self._locate(name)
        self.found[name] = result
        return result

    def _locate(self, name: str) -> ModuleSource | None:
        top = name.split(".")[0]
        # A project file named like a standard module (random.py) does not replace it.
        if not name or top in sys.stdlib_module_names or top == "twinflow_studio":
            return None
        head, _, tail = name.rpartition(".")
        if head:
            parent = self.resolve(head)
            if parent is None or not parent.is_package:
                return None  # a submodule of an installed package is the package's business
            folders = [(str(Path(parent.filename).parent), True)]
        else:
            folders = self.roots
        leaf = tail
        for folder, user in folders:
            package = os.path.join(folder, leaf, "__init__.py")
            module = os.path.join(folder, leaf + ".py")
            for path, is_package in ((package, True), (module, False)):
                if os.path.isfile(path):
                    if not user:
                        return None  # first found in an installed location: not shipped
                    return _read(name, path, is_package)
            if user and _has_extension(folder, leaf):
                return None
        return None


def _has_extension(folder: str, leaf: str) -> bool:
    try:
        return any(
            entry.startswith(leaf + ".") and entry.endswith((".so", ".pyd"))
            for entry in os.listdir(folder)
        )
    except OSError:
        return False


def _read(name: str, path: str, is_package: bool) -> ModuleSource | None:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return ModuleSource(
        name=name,
        filename=os.path.abspath(path),
        source=data,
        is_package=is_package,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _closure(resolver: _Resolver, roots: list[str]) -> dict[str, ModuleSource]:
    modules: dict[str, ModuleSource] = {}
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in modules:
            continue
        found = resolver.resolve(name)
        if found is None:
            continue
        modules[name] = found
        # A submodule runs its packages' __init__ first.
        parts = name.split(".")
        stack.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        package = name if found.is_package else name.rpartition(".")[0]
        for module, level, names in _PARSED.imports(found.sha256, found.source, found.filename):
            if level:
                base = package.split(".") if package else []
                base = base[: len(base) - (level - 1)] if level > 1 else base
                target = ".".join([*base, module] if module else base)
            else:
                target = module
            if not target:
                continue
            pieces = target.split(".")
            stack.extend(".".join(pieces[:i]) for i in range(1, len(pieces) + 1))
            # 'from package import submodule' imports the submodule.
            stack.extend(f"{target}.{n}" for n in names)
    return modules


def code_key(executor: str | None, params: dict[str, Any]) -> tuple[Any, ...]:
    """What decides a node's snapshot within a run: cheap, for memoising ``snapshot``."""
    get = params.get
    return (executor, *[v if isinstance(v := get(k), str) else None for k in CODE_PARAMS])


def code_names(params: dict[str, Any]) -> list[str]:
    """The import paths a node's parameters name."""
    names = []
    for key in CODE_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and _IMPORT_PATH.match(value.strip()):
            names.append(value.strip())
    return names


def _module_of(import_path: str) -> str:
    module, sep, _ = import_path.partition(":")
    return module if sep else import_path.rpartition(".")[0] or import_path


def executor_identity(executor: str | None) -> str | None:
    """Our own executor modules: their file's hash (read, not imported) and our version."""
    if not executor:
        return None
    module = executor.partition(":")[0]
    parts = module.split(".")
    path = _PACKAGE_DIR.joinpath(*parts[1:]).with_suffix(".py")
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:  # a frozen app ships bytecode only: then the version stands for it
        digest = None
    identity: dict[str, Any] = {
        "executor": executor,
        "source": digest,
        "version": twinflow_studio.__version__,
    }
    helpers = own_helpers(module)
    if helpers:  # e.g. fmu_run.py, which containers run too: editing it reruns the node
        identity["helpers"] = helpers
    return hash_value(identity)


OWN_HELPERS = "twinflow_studio.twinstat."


def own_helpers(module: str) -> dict[str, str]:
    """The TwinStat modules an executor module imports (statically, transitively), by the
    hash of their source: what the executor runs besides its own file."""
    found: dict[str, str] = {}
    stack = [module]
    while stack:
        name = stack.pop()
        if name in found or not name.startswith(OWN_HELPERS):
            continue
        path = _PACKAGE_DIR.joinpath(*name.split(".")[1:]).with_suffix(".py")
        try:
            data = path.read_bytes()
            tree = parse_source(data, str(path))
        except (OSError, SyntaxError, ValueError):
            continue  # a package folder, or bytecode only in a frozen app
        found[name] = hashlib.sha256(data).hexdigest()
        for item in ast.walk(tree):
            if isinstance(item, ast.ImportFrom) and item.module and not item.level:
                stack.append(item.module)
                stack.extend(f"{item.module}.{alias.name}" for alias in item.names)
            elif isinstance(item, ast.Import):
                stack.extend(alias.name for alias in item.names)
    found.pop(module, None)  # its own file is the identity's "source"
    return dict(sorted(found.items()))


def snapshot(executor: str | None, params: dict[str, Any], project_dir: Path) -> CodeSnapshot:
    """Read and hash the code a node runs. Blocking file I/O: call it off the event loop."""
    resolver = _Resolver(project_dir)
    paths = code_names(params)
    modules = _closure(resolver, [_module_of(p) for p in paths])
    digest = hash_value(
        {
            "executor": executor_identity(executor),
            "callables": paths,
            "modules": {name: m.sha256 for name, m in sorted(modules.items())},
        }
    )
    return CodeSnapshot(digest, modules)
