"""Issue 12 item 11: every colour comes from the theme: run-state badges readable on the
light canvas, calibration plots dark in the dark theme."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QGraphicsSimpleTextItem, QToolButton

from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.ui.canvas_items import STATE_COLORS
from twinflow_studio.ui.themes import contrast
from twinflow_studio.ui.themes import theme as theme_named


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


def composited(fg: QColor, bg: QColor) -> QColor:
    """What a translucent ``fg`` looks like drawn on ``bg``."""
    a = fg.alphaF()
    return QColor.fromRgbF(
        *(a * f + (1 - a) * b for f, b in zip(fg.getRgbF()[:3], bg.getRgbF()[:3], strict=True))
    )


def test_disabled_controls_look_disabled_in_both_themes(window, qtbot):
    for name in ("light", "dark"):
        window.set_theme(name)
        QApplication.processEvents()  # the palette reaches widgets by a posted event
        # Redo, with nothing to redo in a fresh window, among the toolbar's disabled buttons.
        button = next(
            w
            for w in window.findChildren(QToolButton)
            if w.defaultAction() is not None
            and not w.defaultAction().isEnabled()
            and not w.defaultAction().icon().isNull()
        )
        action = button.defaultAction()
        pal = button.palette()
        background = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button)
        for role in (
            QPalette.ColorRole.ButtonText,
            QPalette.ColorRole.WindowText,
            QPalette.ColorRole.Text,
        ):
            on = pal.color(QPalette.ColorGroup.Active, role)
            off = pal.color(QPalette.ColorGroup.Disabled, role)
            assert off != on, f"{name}: disabled {role.name} looks enabled"
            dimmed = contrast(off, background)
            assert 3.0 <= dimmed < contrast(on, background) - 2, (
                f"{name}: disabled {role.name} contrast {dimmed:.2f}"
            )
        # The toolbar's icon is drawn greyed out too, in the disabled text colour.
        icon = action.icon()
        size = button.iconSize()
        normal = icon.pixmap(size, QIcon.Mode.Normal).toImage()
        grey = icon.pixmap(size, QIcon.Mode.Disabled).toImage()
        assert normal != grey, f"{name}: a disabled icon is drawn as an enabled one"
        inks = {
            grey.pixelColor(x, y).rgb()
            for x in range(grey.width())
            for y in range(grey.height())
            if grey.pixelColor(x, y).alpha() == 255
        }
        off_rgb = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText).rgb()
        assert off_rgb in inks, f"{name}: the disabled icon is not in the disabled colour"


def test_state_fills_keep_node_titles_readable_in_both_themes(window, hello_dir):
    window.open_path(hello_dir / "hello.twin", ask=False)
    item = window.canvas.node_view("fit").view
    for name in ("light", "dark"):
        window.set_theme(name)
        assert STATE_COLORS == theme_named(name).states  # the fills are the theme's
        for state in theme_named(name).states:
            window.canvas.set_states({"fit": (state, state)})
            fill = QColor(*item.color[:3])
            assert item.color[:3] == theme_named(name).states[state]
            for label in (
                item._text_item,
                *item._input_items.values(),
                *item._output_items.values(),
            ):
                ratio = contrast(composited(label.color, fill), fill)
                assert ratio >= 4.5, f"{name}: {state}: {label.text!r} contrast {ratio:.2f}"


def test_node_console_state_colours_are_readable_in_both_themes(window):
    console = window.console
    for name in ("light", "dark"):
        window.set_theme(name)
        background = QColor(*theme_named(name).base)
        for state in theme_named(name).states:
            console._states({state: (state, state)})
            (item,) = console.nodes.findItems(state, Qt.MatchFlag.MatchExactly)
            ratio = contrast(item.foreground().color(), background)
            assert ratio >= 4.5, f"{name}: console entry of a {state} node: {ratio:.2f}"
