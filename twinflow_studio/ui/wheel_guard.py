"""The mouse wheel edits a field only when the field has the keyboard focus.

Combo boxes, spin boxes and sliders take wheel events as edits by default, so scrolling a
form that passes one under the pointer silently changes a value. Guarded fields take focus
only by click or Tab (``StrongFocus``) and pass the wheel on to their parent (the scroll
area) while they do not have focus.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


class WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(watched, QWidget)
            and not watched.hasFocus()
        ):
            area = _scroll_area(watched)
            if area is not None:  # the scroll bar takes it, as if the field were not there
                bar = area.verticalScrollBar()
                if not bar.isVisible() and area.horizontalScrollBar().isVisible():
                    bar = area.horizontalScrollBar()
                QApplication.sendEvent(bar, event)
            event.accept()
            return True
        return False


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


_GUARD: list[WheelGuard] = []


def guard_wheel(root: QWidget) -> None:
    """Guard every combo box, spin box and slider inside ``root`` (and ``root`` itself)."""
    if not _GUARD:
        _GUARD.append(WheelGuard())
    widgets = [root] if isinstance(root, GUARDED) else []
    widgets += [w for w in root.findChildren(QWidget) if isinstance(w, GUARDED)]
    # Scroll bars are sliders too, and the ones that should take the wheel.
    widgets = [w for w in widgets if not isinstance(w, QScrollBar)]
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.removeEventFilter(_GUARD[0])
        widget.installEventFilter(_GUARD[0])
