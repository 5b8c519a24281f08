"""Entry point of the desktop studio: a QApplication whose event loop is asyncio's (qasync),
so the engine runs as an asyncio task on the Qt thread."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from twinflow_studio.ui.prompts import Prompter


def launch(project_path: Path | None = None, prompter: Prompter | None = None) -> int:
    """Open the studio (on ``project_path`` if given) and run until it is closed."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from twinflow_studio.ui.desktop import install_fatal_hint, remove_fatal_hint
    from twinflow_studio.ui.main_window import APP_NAME, MainWindow

    app = QApplication.instance()
    if app is None:
        install_fatal_hint()
        app = QApplication(sys.argv[:1])
        remove_fatal_hint()
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("TwinFlow")
    app.setDesktopFileName("twinflow-studio")
    from PySide6.QtGui import QIcon

    app.setWindowIcon(QIcon(str(Path(__file__).parent / "resources" / "twinflow-studio.svg")))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    window = MainWindow(prompter=prompter)
    window.start(project_path)
    window.show()
    with loop:
        loop.run_until_complete(closed.wait())
        # Quit by other means than the window (the session ending): a run still going is
        # cancelled and ends recorded before the loop and its threads go away.
        loop.run_until_complete(window.runs.stop())
    return 0
