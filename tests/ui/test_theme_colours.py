"""Issue 12 item 11: every colour comes from the theme: run-state badges readable on the
light canvas, calibration plots dark in the dark theme."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsSimpleTextItem

from twinflow_studio.twinstat.posterior import Posterior


def luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def badge_colour(window, node_id: str) -> QColor:
    view = window.canvas.node_view(node_id).view
    (badge,) = [i for i in view.childItems() if isinstance(i, QGraphicsSimpleTextItem)]
    return badge.brush().color()


def test_state_badges_are_readable_in_both_themes(window, hello_dir):
    window.open_path(hello_dir / "hello.twin", ask=False)
    for theme in ("light", "dark"):
        window.set_theme(theme)
        window.canvas.set_states({"fit": ("succeeded", "succeeded 0.12s")})
        background = QColor(*window.canvas.graph.background_color())
        ratio = contrast(badge_colour(window, "fit"), background)
        assert ratio >= 4.5, f"{theme}: badge contrast {ratio:.2f} against the canvas"


def posterior() -> Posterior:
    rng = np.random.default_rng(0)
    chain = rng.normal(size=(50, 4, 2))
    return Posterior(["slope", "offset"], chain.reshape(-1, 2), np.zeros(200), chain)


def lightness(color) -> float:
    return QColor.fromRgbF(*to_rgb(color)).lightnessF()


def test_calibration_plots_follow_the_theme(window):
    panel = window.calibration
    for theme, dark in (("dark", True), ("light", False), ("dark", True)):
        window.set_theme(theme)
        post = posterior()
        panel.runs = [("run-1", post)]
        panel._draw_trace(post)
        fig = panel.trace.figure
        ax = fig.axes[0]
        face, axes_face = lightness(fig.get_facecolor()), lightness(ax.get_facecolor())
        label = lightness(ax.yaxis.label.get_color())
        line = lightness(ax.lines[0].get_color())
        if dark:
            assert face < 0.35 and axes_face < 0.35, f"{theme}: a white figure"
            assert label > 0.6 and line > 0.4, f"{theme}: dark ink on a dark figure"
        else:
            assert face > 0.8 and label < 0.4
