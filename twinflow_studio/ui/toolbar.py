"""Toolbar pieces whose size does not change as the studio's state does."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import QProgressBar, QWidget


class _StackAction(QAction):
    """Undo or Redo with a fixed label; what it would undo is in its tooltip. The tooltip
    is a method of the action, so Qt drops the connection when the action goes."""

    def __init__(self, text: str, parent: QWidget) -> None:
        super().__init__(text, parent)
        self._base = text

    def describe(self, what: str) -> None:
        self.setToolTip(f"{self._base} {what}" if what else self._base)


def fixed_undo_actions(
    parent: QWidget,
    stack: QUndoStack,
    undo_step: Callable[[], object] | None = None,
    redo_step: Callable[[], object] | None = None,
) -> list[QAction]:
    """Undo and Redo for a toolbar: fixed labels, so the buttons after them never move as
    the undo text changes. ``undo_step``/``redo_step`` do the step (the stack's own by
    default; the document's when it has rules about when a step may be taken)."""
    undo = _StackAction("Undo", parent)
    redo = _StackAction("Redo", parent)
    do_undo, do_redo = undo_step or stack.undo, redo_step or stack.redo
    undo.triggered.connect(lambda _checked=False: do_undo())
    redo.triggered.connect(lambda _checked=False: do_redo())
    stack.canUndoChanged.connect(undo.setEnabled)
    stack.canRedoChanged.connect(redo.setEnabled)
    stack.undoTextChanged.connect(undo.describe)
    stack.redoTextChanged.connect(redo.describe)
    undo.setEnabled(stack.canUndo())
    redo.setEnabled(stack.canRedo())
    undo.describe(stack.undoText())
    redo.describe(stack.redoText())
    return [undo, redo]


def fit_progress_text(bar: QProgressBar, text: str) -> None:
    """Wide enough for ``text`` (the bar grows, never shrinks, so it does not flicker)."""
    need = bar.fontMetrics().horizontalAdvance(text) + 40
    if bar.minimumWidth() < need:
        bar.setMinimumWidth(need)
