"""Toolbar pieces whose size does not change as the studio's state does."""

from __future__ import annotations

from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import QProgressBar, QStyle, QWidget


def fixed_undo_actions(parent: QWidget, stack: QUndoStack) -> list[QAction]:
    """Undo and Redo for a toolbar: fixed labels and icons (what would be undone is in the
    tooltip), so the buttons after them never move."""
    style = parent.style()
    made = []
    for text, icon, act, can, what, changed, text_changed in (
        (
            "Undo",
            QStyle.StandardPixmap.SP_ArrowBack,
            stack.undo,
            stack.canUndo,
            stack.undoText,
            stack.canUndoChanged,
            stack.undoTextChanged,
        ),
        (
            "Redo",
            QStyle.StandardPixmap.SP_ArrowForward,
            stack.redo,
            stack.canRedo,
            stack.redoText,
            stack.canRedoChanged,
            stack.redoTextChanged,
        ),
    ):
        action = QAction(style.standardIcon(icon), text, parent)
        action.setObjectName(f"toolbar_{text.lower()}")
        action.triggered.connect(lambda _c=False, a=act: a())
        action.setEnabled(can())
        changed.connect(action.setEnabled)

        def tip(t: str, base: str = text, a: QAction = action) -> None:
            a.setToolTip(f"{base} {t}".strip() if t else base)

        text_changed.connect(tip)
        tip(what())
        made.append(action)
    return made


def fit_progress_text(bar: QProgressBar, text: str) -> None:
    """Wide enough for ``text`` (the bar grows, never shrinks, so it does not flicker)."""
    need = bar.fontMetrics().horizontalAdvance(text) + 40
    if bar.minimumWidth() < need:
        bar.setMinimumWidth(need)
