"""A prior's density as a small line: the shape of the distribution at a glance."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

POINTS = 64


def density_curve(frozen: Any, bounded: tuple[float, float] | None) -> tuple[Any, Any]:
    """(x, pdf) over the distribution's central mass (its bounds, plus a margin, when
    it has finite ones, so a uniform shows its edges)."""
    if bounded is not None and all(np.isfinite(bounded)):
        lo, hi = bounded
        pad = 0.08 * (hi - lo)
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = (float(v) for v in frozen.ppf([0.002, 0.998]))
    x = np.linspace(lo, hi, POINTS)
    with np.errstate(all="ignore"):
        y = np.nan_to_num(np.asarray(frozen.pdf(x), dtype=float), nan=0.0, posinf=0.0)
    return x, y


class Sparkline(QWidget):
    """Draws ``y`` scaled to its height, in the palette's colours (it follows the theme)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ys: list[float] = []
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFixedSize(self.sizeHint())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(72, 22)

    def set_values(self, ys: Any) -> None:
        peak = float(np.max(ys)) if len(ys) else 0.0
        self.ys = [float(v) / peak for v in ys] if peak > 0 else []
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        w, h = self.width() - 2, self.height() - 3
        base = QColor(pal.color(QPalette.ColorRole.PlaceholderText))
        painter.setPen(QPen(base, 1))
        painter.drawLine(QPointF(1, h + 1), QPointF(w + 1, h + 1))
        if not self.ys:
            return
        step = w / (len(self.ys) - 1)
        line = QPainterPath(QPointF(1, h + 1 - self.ys[0] * h))
        for i, v in enumerate(self.ys[1:], start=1):
            line.lineTo(QPointF(1 + i * step, h + 1 - v * h))
        accent = QColor(pal.color(QPalette.ColorRole.Highlight))
        area = QPainterPath(line)
        area.lineTo(QPointF(w + 1, h + 1))
        area.lineTo(QPointF(1, h + 1))
        area.closeSubpath()
        fill = QColor(accent)
        fill.setAlpha(70)
        painter.fillPath(area, fill)
        painter.setPen(QPen(accent, 1.4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawPath(line)
