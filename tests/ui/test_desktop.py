"""Start-up on a desktop: what is missing is named with the apt-get line to install it,
before Qt would abort the process; no Qt.py warning at every start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from twinflow_studio.ui.desktop import (
    DESKTOP_PACKAGES,
    XCB_LIBRARIES,
    display_problem,
    missing_packages,
)

ROOT = Path(__file__).resolve().parents[2]


def studio(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    full.update(env, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "twinflow_studio", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
    )


def test_missing_libraries_are_named_with_the_apt_get_line() -> None:
    libraries = {"libc.so.6": "libc6", "libtwinflow-absent.so.7": "twinflow-absent7"}
    assert missing_packages(libraries) == ["twinflow-absent7"]
    message = display_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":93"}, libraries)
    assert message is not None
    assert "sudo apt-get install -y twinflow-absent7" in message
    assert "libxcb-cursor0" in DESKTOP_PACKAGES and "libxcb-cursor.so.0" in XCB_LIBRARIES
    # Not ours to judge: offscreen and Wayland sessions.
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, libraries) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, libraries) is None


def test_no_reachable_display_is_a_clear_error_not_an_abort(tmp_path) -> None:
    missing = missing_packages()
    done = studio({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":93"}, str(tmp_path / "p.twin"))
    assert done.returncode == 2, done.stderr  # Qt aborted here before (SIGABRT)
    assert done.stderr.startswith("twinflow-studio: error:"), done.stderr
    if missing:  # a bare desktop: the line that fixes it
        assert "sudo apt-get install -y " + " ".join(missing) in done.stderr
    else:
        assert "cannot connect to the X display ':93'" in done.stderr
    done = studio({"QT_QPA_PLATFORM": "xcb"})
    assert done.returncode == 2
    assert "DISPLAY is not set" in done.stderr and "--run" in done.stderr


def test_when_qt_fails_anyway_it_says_what_to_install_and_exits_2() -> None:
    done = studio({"QT_QPA_PLATFORM": "no-such-platform"})
    assert done.returncode == 2, done.stderr  # not Qt's abort
    assert "twinflow-studio: error: the Qt platform plugin cannot load" in done.stderr
    assert "sudo apt-get install -y " + " ".join(DESKTOP_PACKAGES) in done.stderr


def test_no_qt_py_warning_at_start() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", "import twinflow_studio.ui.main_window, Qt; print(Qt.__binding__)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "PySide6"
    assert "Qt.py [warning]" not in done.stderr, done.stderr
