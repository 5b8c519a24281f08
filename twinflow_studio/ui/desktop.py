"""What the studio needs from the desktop, checked before Qt is started.

Qt aborts the whole process when its platform plugin cannot load, after a message that is
often beside the point (it asks for libxcb-cursor0 when no X server is reachable at all).
So, before the QApplication exists: the libraries of the X11 (xcb) plugin are opened (no
subprocess; a few milliseconds) and the display is reached; what is missing is named, with
the exact ``apt-get install`` line. Should Qt still fail, a message handler adds the same
hint and exits with status 2 instead of a core dump. Nothing here imports Qt at module level.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import socket
import sys
import types
from collections.abc import Mapping

# The libraries Qt's xcb platform plugin (PySide6 6.5+) loads, and their Debian packages.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
DESKTOP_PACKAGES = sorted(set(XCB_LIBRARIES.values()))
EXIT_BAD_INPUT = 2


def apt_line(packages: list[str]) -> str:
    return "sudo apt-get install -y " + " ".join(packages)


def missing_packages(libraries: Mapping[str, str] = XCB_LIBRARIES) -> list[str]:
    """The packages of the libraries the dynamic loader cannot open (as Qt would load them:
    LD_LIBRARY_PATH and the loader cache both count)."""
    missing = set()
    for soname, package in libraries.items():
        try:
            ctypes.CDLL(soname, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
        except OSError:
            missing.add(package)
    return sorted(missing)


def _platform(env: Mapping[str, str]) -> str:
    return env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()


def display_problem(
    env: Mapping[str, str] | None = None, libraries: Mapping[str, str] = XCB_LIBRARIES
) -> str | None:
    """Why the studio's window cannot open on this desktop (None when it can, or when it
    is not ours to tell: other platforms than X11, other systems than Linux)."""
    env = os.environ if env is None else env
    platform = _platform(env)
    if not sys.platform.startswith("linux") or platform not in ("", "xcb"):
        return None
    if platform == "" and env.get("WAYLAND_DISPLAY"):
        return None  # Qt takes Wayland first there
    display = env.get("DISPLAY", "")
    if not display:
        return (
            "no display to open the studio on (DISPLAY is not set). Start it from a desktop "
            "session; headless runs need no display: twinflow-studio --run PROJECT.twin"
        )
    missing = missing_packages(libraries)
    if missing:
        return (
            f"the Qt platform plugin 'xcb' cannot load: {len(missing)} system "
            f"package(s) missing ({', '.join(missing)}). Install them with:\n  " + apt_line(missing)
        )
    if not x_server_reachable(display):
        return (
            f"cannot connect to the X display {display!r}: no X server answers there "
            "(is DISPLAY right, and is the session running?)"
        )
    return None


def x_server_reachable(display: str, timeout: float = 1.0) -> bool:
    """Whether an X server listens for ``display`` (":0", "unix:0", "host:10.0")."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return True  # a form we do not parse: let Qt try
    if host in ("", "unix"):
        for address in (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                try:
                    sock.connect(address)
                    return True
                except OSError:
                    continue
        return False
    if host.startswith("/"):  # launchd-style socket paths (macOS XQuartz)
        return True
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=timeout):
            return True
    except OSError:
        return False


def install_fatal_hint() -> None:
    """Until the QApplication exists: if Qt's platform plugin fails anyway, say what to
    install and exit with status 2 instead of letting Qt abort the process."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(mode: QtMsgType, _context: object, message: str) -> None:
        sys.stderr.write(message + "\n")
        if mode == QtMsgType.QtFatalMsg and "platform plugin" in message:
            sys.stderr.write(
                "twinflow-studio: error: the Qt platform plugin cannot load. On Debian or "
                "Ubuntu, the X11 desktop needs:\n  " + apt_line(DESKTOP_PACKAGES) + "\n"
            )
            sys.stderr.flush()
            os._exit(EXIT_BAD_INPUT)

    qInstallMessageHandler(handler)


def remove_fatal_hint() -> None:
    from PySide6.QtCore import qInstallMessageHandler

    qInstallMessageHandler(None)


# Qt modules the studio never uses that Qt.py (the binding shim NodeGraphQt imports) would
# load anyway, printing a warning when they cannot (QtMultimedia needs libpulse, which a
# desktop without sound lacks).
UNUSED_QT_MODULES = ("QtMultimedia", "QtMultimediaWidgets")


def quiet_qt_py() -> None:
    """Keep Qt.py from importing (and warning about) Qt modules the studio does not use,
    through its documented hook: a ``QtSiteConfig`` module with ``update_members``. A
    QtSiteConfig of the user's own is left alone, and so is a Qt.py already imported."""
    if "Qt" in sys.modules or "QtSiteConfig" in sys.modules:
        return
    try:
        if importlib.util.find_spec("QtSiteConfig") is not None:
            return
    except (ImportError, ValueError):
        return
    site = types.ModuleType("QtSiteConfig", "TwinFlow Studio: Qt modules it does not use.")

    def update_members(members: dict[str, list[str]]) -> None:
        for name in UNUSED_QT_MODULES:
            members.pop(name, None)

    site.update_members = update_members  # type: ignore[attr-defined]
    sys.modules["QtSiteConfig"] = site
