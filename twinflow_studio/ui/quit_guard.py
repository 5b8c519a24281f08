"""Quitting while a run is in progress: the studio asks, and never cancels silently.

The window only closes once the run has ended (finished, or cancelled and stopped): its
containers are removed, ``run.json`` and the lineage record say how it ended, and no worker
thread is left running when Qt and the event loop go away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

if TYPE_CHECKING:
    from twinflow_studio.ui.main_window import MainWindow

WAIT, CANCEL, KEEP = "wait", "cancel", "keep"
CHOICES = (WAIT, CANCEL, KEEP)


def ask_quit_during_run(parent: QWidget | None) -> str:
    """The question as a message box; Escape or closing it keeps the studio running."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "A run is in progress",
        "A run is in progress. Quit when it has finished, cancel it and quit, or keep "
        "the studio open?",
        QMessageBox.StandardButton.NoButton,
        parent,
    )
    buttons = {
        box.addButton("Wait, then quit", QMessageBox.ButtonRole.AcceptRole): WAIT,
        box.addButton("Cancel run and quit", QMessageBox.ButtonRole.DestructiveRole): CANCEL,
    }
    keep = box.addButton("Keep running", QMessageBox.ButtonRole.RejectRole)
    buttons[keep] = KEEP
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return buttons.get(box.clickedButton(), KEEP)


class QuitGuard:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.quitting: str | None = None  # the answer while the studio waits to quit
        self._watched: object = None  # the run task whose end closes the window

    def allow_close(self) -> bool:
        """True when the window may close now; else the question was asked and, unless the
        answer was to keep running, the window closes itself when the run has ended."""
        runs = self.window.runs
        if not runs.busy or runs.task is None:
            return True
        choice = self.window.prompter.quit_during_run()
        if choice not in CHOICES:
            choice = KEEP
        earlier, self.quitting = self.quitting, None if choice == KEEP else choice
        if choice == KEEP:  # also takes back an earlier "wait" or "cancel"
            self.window.show_message(
                "The studio stays open; the run is being cancelled"
                if earlier == CANCEL
                else "The run goes on; the studio stays open"
            )
            return False
        if choice == CANCEL:
            runs.cancel()
            self.window.show_message("Cancelling the run; the studio quits once it has stopped")
        else:
            self.window.show_message("The studio quits when the run has finished")
        if self._watched is not runs.task:
            self._watched = runs.task
            runs.task.add_done_callback(lambda _task: self._run_ended())
        return False

    def _run_ended(self) -> None:
        if self.quitting is not None:
            # From the loop's next turn, not from inside the task's completion.
            QTimer.singleShot(0, self.window, self.window.close)
