"""Resolving ``module:attr`` / ``module.attr`` import paths named in node parameters."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from twinflow_studio.twinstat.errors import TwinStatError


def import_object(path: str, field: str) -> Any:
    if not isinstance(path, str) or not path.strip():
        raise TwinStatError("an import path like 'package.module:name' is required", field=field)
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise TwinStatError(
            f"{path!r} is not an import path like 'package.module:name'", field=field
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TwinStatError(f"cannot import module {module_name!r}: {exc}", field=field) from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TwinStatError(f"module {module_name!r} has no {attr!r}", field=field) from None
    return obj


def import_callable(path: str, field: str) -> Callable[..., Any]:
    obj = import_object(path, field)
    if not callable(obj):
        raise TwinStatError(f"{path!r} is not callable", field=field)
    return obj
