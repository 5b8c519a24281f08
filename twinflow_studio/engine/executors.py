"""Executors of the core in-process kinds: Python callables and data sources."""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from twinflow_studio.engine.errors import ImportPathError, TaskFailed
from twinflow_studio.engine.paths import child_path
from twinflow_studio.engine.task import TaskContext


def resolve_import_path(path: str, *, dotted: bool = False) -> Any:
    """The object at ``package.module:attribute`` (a dotted attribute after ':' is allowed;
    with ``dotted``, ``package.module.attribute`` too). Imports the module."""
    module_name, sep, attr = path.partition(":")
    if not sep and dotted:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ImportPathError(f"{path!r} is not an import path like 'package.module:name'")
    obj: Any = sys.modules.get(module_name)
    # importlib.import_module takes the import lock even for a module that is there: a
    # third of a no-op node's cost on its worker. One another thread is still importing
    # (its spec says so) goes through it, to wait for the import to finish.
    if obj is None or getattr(getattr(obj, "__spec__", None), "_initializing", False):
        obj = _import(module_name)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportPathError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def _import(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportPathError(f"cannot import module {module_name!r}: {exc}") from exc


def import_callable(path: str) -> Any:
    """Import ``package.module:attribute``; a failure fails the task (a retry cannot fix it)."""
    try:
        return resolve_import_path(path)
    except ImportPathError as exc:
        raise TaskFailed(str(exc), retryable=False) from exc


@functools.lru_cache(maxsize=1024)
def _accepts_ctx(func: Any) -> bool:
    """Whether ``func`` takes a ``ctx`` argument (inspect.signature is slow: asked once)."""
    try:
        return "ctx" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def run_python_callable(ctx: TaskContext) -> dict[str, Any]:
    func = import_callable(str(ctx.params["callable"]))
    if not callable(func):
        raise TaskFailed(f"{ctx.params['callable']!r} is not callable", retryable=False)
    kwargs = {port: art.load() for port, art in ctx.inputs.items()}
    kwargs.update(ctx.params.get("kwargs") or {})
    if _accepts_ctx(func):
        kwargs["ctx"] = ctx
    result = func(**kwargs)
    ports = list(ctx.output_ports)
    if not ports:
        return {}
    if len(ports) == 1 and not (isinstance(result, dict) and set(result) == {ports[0]}):
        result = {ports[0]: result}
    if not isinstance(result, dict):
        raise TaskFailed(
            f"{ctx.params['callable']} returned {type(result).__name__}; a node with outputs "
            f"{', '.join(ports)} expects a dict of port to value",
            retryable=False,
        )
    return {port: _to_output(ctx, port, value) for port, value in result.items()}


def _to_output(ctx: TaskContext, port: str, value: Any) -> Any:
    port_type = ctx.output_ports.get(port)
    if port_type is None:
        raise TaskFailed(
            f"returned output {port!r}, which the node does not declare", retryable=False
        )
    if port_type == "dataframe" and hasattr(value, "to_csv"):
        from twinflow_studio.engine.dataframes import write_dataframe

        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        return write_dataframe(value, child_path(ctx.output_dir, port, ".csv"))
    if isinstance(value, str) and port_type in ("file", "dataframe", "model", "posterior"):
        return Path(value)
    return value


def run_datasource(ctx: TaskContext) -> dict[str, Any]:
    location = str(ctx.params["path"])
    if location.startswith("s3://"):
        return {"data": _download_s3(ctx, location)}
    path = Path(location).expanduser()
    if not path.is_absolute():
        path = ctx.project_dir / path
    if not path.exists():
        raise TaskFailed(f"data file {str(path)!r} does not exist", retryable=False)
    if not (path.is_file() or path.is_dir()):
        # A FIFO or a device would make hashing block or never end.
        raise TaskFailed(
            f"data file {str(path)!r} is not a regular file or folder", retryable=False
        )
    # Copy (not link) so the artifact cannot change under a later run.
    return {"data": path}


def _download_s3(ctx: TaskContext, uri: str) -> Path:
    import boto3

    bucket, _, key = uri[len("s3://") :].partition("/")
    options = ctx.params.get("s3", {}) if isinstance(ctx.params.get("s3"), dict) else {}
    client = boto3.client(
        "s3", endpoint_url=options.get("endpoint_url"), region_name=options.get("region")
    )
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    dest = ctx.output_dir / (Path(key).name or "data")
    try:
        client.download_file(bucket, key, str(dest))
    except Exception as exc:  # botocore raises several unrelated types here
        raise TaskFailed(f"cannot download {uri}: {exc}") from exc
    return dest
