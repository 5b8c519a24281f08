"""One error root: every exception class of the package derives from TwinFlowError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import twinflow_studio
from twinflow_studio.project.errors import TwinFlowError

# Exceptions that must not be a TwinFlowError, and why.
ALLOWED: dict[str, str] = {
    # fmu_run.py also runs alone inside containers (numpy, fmpy and the standard library
    # only), so it cannot import the package; twinstat.fmu turns FmuError into TwinStatError.
    "twinflow_studio.twinstat.fmu_run.FmuError": "runs standalone in containers",
}


def package_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(twinflow_studio.__path__, "twinflow_studio."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def test_every_exception_class_derives_from_the_root() -> None:
    found: dict[str, type] = {}
    for name in package_modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == name:
                found[f"{name}.{obj.__qualname__}"] = obj
    assert len(found) >= 15, sorted(found)  # the walk did see the package
    strays = [
        qualname
        for qualname, cls in found.items()
        if not issubclass(cls, TwinFlowError) and qualname not in ALLOWED
    ]
    assert strays == [], f"exceptions outside the TwinFlowError root: {strays}"


def test_the_root_keeps_the_builtin_bases_callers_catch() -> None:
    from twinflow_studio.lineage.backends import LineageConfigError
    from twinflow_studio.twinstat.errors import TwinStatError

    assert issubclass(TwinStatError, ValueError)
    assert issubclass(LineageConfigError, ValueError)
