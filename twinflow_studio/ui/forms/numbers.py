"""A spin box for any real number: shown short (``%g``), typed in any float notation."""

from __future__ import annotations

import math

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QWidget

LIMIT = 1e15


class NumberSpin(QDoubleSpinBox):
    """QDoubleSpinBox rounds to its ``decimals`` and prints them all; this one keeps 12
    decimals (so 1e-7 survives) and prints the shortest text that reads back the same."""

    def __init__(self, value: float = 0.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(-LIMIT, LIMIT)
        self.setKeyboardTracking(True)
        self.setAccelerated(True)
        self.setValue(value)
        self.setSingleStep(self._step(value))

    @staticmethod
    def _step(value: float) -> float:
        """A step of about a tenth of the value's magnitude: 0.01 for 0.3, 1 for 35."""
        if value == 0 or not math.isfinite(value):
            return 0.1
        return float(10 ** (math.floor(math.log10(abs(value))) - 1 + 1e-12)) or 0.1

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt API)
        return f"{value:.10g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt API)
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        stripped = text.strip()
        try:
            number = float(stripped)
        except ValueError:
            # A number on its way ("-", "1e", "."): let the typing go on.
            ok = all(c in "0123456789+-.eE" for c in stripped)
            state = QValidator.State.Intermediate if ok else QValidator.State.Invalid
            return state, text, pos
        if not math.isfinite(number) or abs(number) > LIMIT:
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Acceptable, text, pos
