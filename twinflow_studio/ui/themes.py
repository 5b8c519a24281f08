"""Dark and light themes (Fusion style with a palette); the canvas follows the theme."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light")


def apply_theme(app: QApplication, name: str) -> None:
    app.setStyle("Fusion")
    if name != "dark":
        app.setPalette(app.style().standardPalette())
        return
    p = QPalette()
    base, window, text = QColor(35, 37, 41), QColor(45, 48, 53), QColor(220, 222, 225)
    for role, color in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.ToolTipBase, window),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.Highlight, QColor(42, 110, 190)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140)),
    ):
        p.setColor(role, color)
    app.setPalette(p)


def canvas_colors(name: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(background, grid) colours of the canvas for a theme."""
    return ((33, 33, 36), (45, 45, 50)) if name == "dark" else ((235, 236, 240), (215, 216, 222))
