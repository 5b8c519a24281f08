"""Studio tests drive the real widgets on Qt's offscreen platform, with the engine running on
the Qt loop through qasync, as in the app."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    # In CI the GUI extra is installed: a missing module there is a failure, not a skip.
    import NodeGraphQt  # noqa: F401
    import PySide6  # noqa: F401
    import qasync
else:
    pytest.importorskip("PySide6", reason="the studio tests need the [gui] extra")
    pytest.importorskip("NodeGraphQt", reason="the studio tests need the [gui] extra")
    qasync = pytest.importorskip("qasync", reason="the studio tests need the [gui] extra")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"


@pytest.fixture(scope="session")
def qt_loop(qapp) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()  # joins qasync's executor threads before Qt goes away


@pytest.fixture()
def make_window(qtbot, qt_loop, tmp_path) -> Callable[..., object]:
    from PySide6.QtWidgets import QApplication

    from twinflow_studio.ui.main_window import MainWindow
    from twinflow_studio.ui.prompts import ScriptedPrompter

    asyncio.set_event_loop(qt_loop)  # other test modules may have installed their own loop
    home = tmp_path / "studio-home"
    made = []

    def make(**answers: list) -> MainWindow:
        window = MainWindow(prompter=ScriptedPrompter(**answers), home=home, autosave_ms=3600_000)
        qtbot.addWidget(window)
        remembered = window.settings.value("geometry") is not None
        window.show()
        QApplication.processEvents()  # the window has fitted itself to the (small) screen
        if not remembered:  # the size the tests were written for, bigger than that screen
            window.resize(1280, 800)
        made.append(window)
        return window

    yield make
    for w in made:
        w.doc.undo.setClean()  # teardown must not prompt


@pytest.fixture()
def window(make_window) -> object:
    return make_window()


@pytest.fixture()
def hello_dir(tmp_path) -> Path:
    """A private copy of the hello example (no Docker: in-process Python nodes)."""
    src = EXAMPLES / "hello"
    if not (src / "hello.twin").exists():
        pytest.fail("resources/examples/hello/hello.twin is missing")
    dest = tmp_path / "hello"
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".twinflow", "__pycache__"))
    return dest


def pytest_collection_modifyitems(config, items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gui)
