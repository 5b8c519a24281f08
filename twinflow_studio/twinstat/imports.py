"""Resolving ``module:attr`` / ``module.attr`` import paths named in node parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twinflow_studio.engine.errors import ImportPathError
from twinflow_studio.engine.executors import resolve_import_path
from twinflow_studio.twinstat.errors import TwinStatError


def import_object(path: str, field: str) -> Any:
    if not isinstance(path, str) or not path.strip():
        raise TwinStatError("an import path like 'package.module:name' is required", field=field)
    try:
        return resolve_import_path(path, dotted=True)
    except ImportPathError as exc:
        raise TwinStatError(str(exc), field=field) from exc


def import_callable(path: str, field: str) -> Callable[..., Any]:
    obj = import_object(path, field)
    if not callable(obj):
        raise TwinStatError(f"{path!r} is not callable", field=field)
    return obj
