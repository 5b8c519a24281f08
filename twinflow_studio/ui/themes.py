"""Dark and light themes (Fusion style with a palette). Every colour the studio draws with
comes from the current ``Theme``: the canvas, run-state badges, error and muted text, and
the matplotlib figures of the calibration panel."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

RGB = tuple[int, int, int]

# Node fills per run state. Nodes keep dark fills under light titles (NodeGraphQt's
# translucent white) in both themes, so one set serves both: each fill is dark enough for
# that title to keep a contrast of at least 4.5.
STATE_FILLS: dict[str, RGB] = {
    "pending": (84, 84, 94),
    "queued": (80, 80, 126),
    "running": (22, 82, 157),
    "retrying": (117, 74, 11),
    "succeeded": (22, 96, 48),
    "cached": (35, 92, 82),
    "failed": (152, 34, 34),
    "skipped": (84, 84, 84),
    "skipped_branch": (88, 76, 122),
    "cancelled": (117, 74, 43),
}


@dataclass(frozen=True)
class Theme:
    name: str
    window: RGB
    base: RGB
    text: RGB
    muted: RGB
    error: RGB
    canvas: RGB
    grid: RGB
    badge: RGB  # run-state text under nodes, on the canvas
    node_title: RGB  # titles of zoomed-out nodes, on the canvas
    plot_ink: RGB
    plot_accent: RGB
    marker: RGB  # notes above nodes on the canvas ("update available")
    disabled_text: RGB  # text and icons of disabled widgets and actions: dimmed, still legible
    states: dict[str, RGB] = field(default_factory=lambda: dict(STATE_FILLS), hash=False)

    def hex(self, field: str) -> str:
        return QColor(*getattr(self, field)).name()

    def mpl(self, field: str) -> tuple[float, float, float]:
        r, g, b = getattr(self, field)
        return (r / 255, g / 255, b / 255)


DARK = Theme(
    name="dark",
    window=(45, 48, 53),
    base=(35, 37, 41),
    text=(220, 222, 225),
    muted=(150, 154, 160),
    error=(240, 110, 110),
    canvas=(33, 33, 36),
    grid=(45, 45, 50),
    badge=(225, 227, 230),
    node_title=(235, 236, 240),
    plot_ink=(215, 218, 222),
    plot_accent=(95, 160, 235),
    marker=(240, 200, 80),
    disabled_text=(128, 131, 137),
)
LIGHT = Theme(
    name="light",
    window=(239, 239, 239),
    base=(255, 255, 255),
    text=(20, 20, 20),
    muted=(100, 100, 105),
    error=(185, 30, 30),
    canvas=(235, 236, 240),
    grid=(215, 216, 222),
    badge=(35, 38, 45),
    node_title=(25, 27, 32),
    plot_ink=(25, 25, 25),
    plot_accent=(30, 100, 180),
    marker=(150, 85, 0),
    disabled_text=(118, 118, 122),
)
THEMES = {"dark": DARK, "light": LIGHT}
_CURRENT: list[Theme] = [DARK]


def theme(name: str) -> Theme:
    return THEMES.get(name, DARK)


def current_theme() -> Theme:
    return _CURRENT[0]


def apply_theme(app: QApplication, name: str) -> Theme:
    chosen = theme(name)
    _CURRENT[0] = chosen
    app.setStyle("Fusion")
    if chosen.name != "dark":
        p = app.style().standardPalette()
        _dim_disabled(p, chosen)
        app.setPalette(p)
        return chosen
    p = QPalette()
    base, window, text = QColor(*chosen.base), QColor(*chosen.window), QColor(*chosen.text)
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
    _dim_disabled(p, chosen)
    app.setPalette(p)
    return chosen


def _dim_disabled(p: QPalette, chosen: Theme) -> None:
    """Disabled text in the theme's dimmed colour; setColor(role, ...) sets every group,
    which made disabled actions and widgets look enabled."""
    dim = QColor(*chosen.disabled_text)
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, dim)


def canvas_colors(name: str) -> tuple[RGB, RGB]:
    """(background, grid) colours of the canvas for a theme."""
    chosen = theme(name)
    return chosen.canvas, chosen.grid


def _luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two opaque colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(rgb: RGB, background: RGB, ratio: float = 4.5) -> QColor:
    """``rgb`` as text on ``background``: lightened (dark background) or darkened (light
    one) until it reaches ``ratio``; state fills are node fills, too dark for dark lists."""
    color, back = QColor(*rgb), QColor(*background)
    lighten = _luminance(back) < 0.18
    for _ in range(40):
        if contrast(color, back) >= ratio:
            break
        color = color.lighter(110) if lighten else color.darker(110)
    return color
