"""Code identity is read from the files, never imported, and covers the user's imports."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from twinflow_studio.engine.code_identity import snapshot

EXECUTOR = "twinflow_studio.engine.executors:run_python_callable"


def write(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def tree(root: Path) -> None:
    write(
        root / "ci_model.py",
        """
        import json
        import numpy as np
        from ci_pkg import helpers
        from ci_pkg.sub import deep
        raise SystemExit("importing this module in the studio is a bug")
        """,
    )
    write(root / "ci_pkg" / "__init__.py", "from . import constants\n")
    write(root / "ci_pkg" / "constants.py", "K = 1\n")
    write(root / "ci_pkg" / "helpers.py", "from .constants import K\n")
    write(root / "ci_pkg" / "sub" / "__init__.py", "")
    write(root / "ci_pkg" / "sub" / "deep.py", "from ..helpers import K\n")
    write(root / "ci_pkg" / "unused.py", "X = 1\n")


def test_the_scan_follows_user_imports_and_imports_nothing(tmp_path: Path) -> None:
    tree(tmp_path)
    code = snapshot(EXECUTOR, {"callable": "ci_model:f"}, tmp_path)
    assert sorted(code.modules) == [
        "ci_model",
        "ci_pkg",
        "ci_pkg.constants",
        "ci_pkg.helpers",
        "ci_pkg.sub",
        "ci_pkg.sub.deep",
    ]
    assert not any(name.startswith(("ci_model", "ci_pkg")) for name in sys.modules)
    assert "numpy" not in code.modules and "json" not in code.modules
    assert code.modules["ci_pkg.helpers"].source == b"from .constants import K\n"


def test_the_digest_changes_with_any_imported_file_and_only_those(tmp_path: Path) -> None:
    tree(tmp_path)
    params = {"callable": "ci_model:f"}
    first = snapshot(EXECUTOR, params, tmp_path).digest
    assert snapshot(EXECUTOR, params, tmp_path).digest == first
    write(tmp_path / "ci_pkg" / "unused.py", "X = 2\n")
    assert snapshot(EXECUTOR, params, tmp_path).digest == first
    write(tmp_path / "ci_pkg" / "constants.py", "K = 2\n")
    second = snapshot(EXECUTOR, params, tmp_path).digest
    assert second != first
    assert snapshot(EXECUTOR, {"callable": "ci_model:g"}, tmp_path).digest != second


def test_an_estimator_of_the_project_is_code_and_an_installed_one_is_not(tmp_path: Path) -> None:
    write(tmp_path / "ci_est.py", "class Mine:\n    pass\n")
    executor = "twinflow_studio.twinstat.nodes:run_sklearn_train"
    mine = snapshot(executor, {"estimator": "ci_est.Mine"}, tmp_path)
    assert list(mine.modules) == ["ci_est"]
    installed = snapshot(executor, {"estimator": "sklearn.linear_model.Ridge"}, tmp_path)
    assert installed.modules == {}


def test_a_syntax_error_is_left_for_the_worker_to_report(tmp_path: Path) -> None:
    write(tmp_path / "ci_broken.py", "def f(:\n")
    code = snapshot(EXECUTOR, {"callable": "ci_broken:f"}, tmp_path)
    assert list(code.modules) == ["ci_broken"]


def test_a_project_file_named_like_a_standard_module_is_not_shipped(tmp_path: Path) -> None:
    write(tmp_path / "random.py", "raise SystemExit('shadowing the standard library')\n")
    write(tmp_path / "ci_uses_random.py", "import random\n")
    code = snapshot(EXECUTOR, {"callable": "ci_uses_random:f"}, tmp_path)
    assert list(code.modules) == ["ci_uses_random"]
