"""The frame of a structured parameter editor: a form, and a raw JSON line for what the
form cannot express. Nothing invalid is handed on: an edit is either ``edited(value)``
(valid as far as the form can tell) or ``rejected(text, reason)`` (shown inline)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget

from twinflow_studio.ui.themes import current_theme


class ShapedForm(QWidget):
    edited = Signal(object)
    rejected = Signal(str, str)  # the text that was not applied, and why
    # The properties panel draws its error border around this widget; the form marks the
    # faulty row itself, so no border around the whole form.
    error_target = None

    def __init__(self, value: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current = value
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(3)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.setSpacing(3)
        self.raw = QLineEdit()
        self.raw.setToolTip("The value as JSON")
        self.raw.textEdited.connect(self._raw_edited)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {current_theme().hex('muted')};")
        self.buttons = QHBoxLayout()
        self.buttons.setContentsMargins(0, 0, 0, 0)
        self.raw_toggle = QToolButton()
        self.raw_toggle.setText("Raw JSON")
        self.raw_toggle.setCheckable(True)
        self.raw_toggle.setToolTip("Edit the value as JSON (for what the form cannot show)")
        self.raw_toggle.toggled.connect(self._set_raw)
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.raw_toggle)
        outer.addWidget(self.body)
        outer.addWidget(self.raw)
        outer.addWidget(self.note)
        outer.addLayout(self.buttons)
        self.note.hide()
        why = self.cannot_express(value)
        if why is None:
            self.load(value)
            self.raw.hide()
        else:
            self.raw_toggle.setChecked(True)  # shows the raw line with the note

    # ----- for subclasses -----
    def cannot_express(self, value: Any) -> str | None:
        """Why the form cannot show ``value`` (None when it can)."""
        raise NotImplementedError

    def load(self, value: Any) -> None:
        raise NotImplementedError

    def collect(self) -> tuple[Any, str | None]:
        """(value, None), or (None, what is wrong) when a field is not valid."""
        raise NotImplementedError

    # ----- the flow of an edit -----
    def form_changed(self) -> None:
        value, problem = self.collect()
        if problem is not None:
            self.rejected.emit(self._text(value), problem)
            return
        self.current = value
        self.edited.emit(value)

    def is_raw(self) -> bool:
        return self.raw_toggle.isChecked()

    def _text(self, value: Any) -> str:
        return json.dumps(value if value is not None else self.current)

    def _set_raw(self, raw: bool) -> None:
        why = self.cannot_express(self.current)
        if not raw and why is not None:
            self.raw_toggle.blockSignals(True)
            self.raw_toggle.setChecked(True)  # stays raw: the form would lose something
            self.raw_toggle.blockSignals(False)
            raw = True
        if raw:
            self.raw.setText(json.dumps(self.current))
        else:
            self.load(self.current)
        self.body.setVisible(not raw)
        self.raw.setVisible(raw)
        self.note.setText(f"The form cannot show this value: {why}." if raw and why else "")
        self.note.setVisible(bool(raw and why))

    def _raw_edited(self, text: str) -> None:
        try:
            value = json.loads(text)
        except ValueError as exc:
            self.rejected.emit(text, f"expected JSON: {exc.msg} at column {exc.colno}")
            return
        self.current = value
        why = self.cannot_express(value)
        self.note.setText(f"The form cannot show this value: {why}." if why else "")
        self.note.setVisible(bool(why))
        self.edited.emit(value)


def clear_layout(layout: Any) -> None:
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget()
        if widget is not None:
            widget.setParent(None)
            widget.deleteLater()
