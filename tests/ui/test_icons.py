"""Icons (qtawesome) on the toolbar, in the palette and on node headers, drawn in the
current palette's colours in both themes."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QToolBar

from twinflow_studio.ui.icons import ACTION_ICONS, CATEGORY_ICONS

pytestmark = pytest.mark.gui


def ink(pixmap: QPixmap) -> tuple[int, int, int] | None:
    """The most common colour of the opaque pixels (the glyph's colour)."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    counts: Counter[tuple[int, int, int]] = Counter()
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if c.alpha() == 255:
                counts[(c.red(), c.green(), c.blue())] += 1
    return counts.most_common(1)[0][0] if counts else None


def icon_ink(icon: QIcon) -> tuple[int, int, int] | None:
    return ink(icon.pixmap(32, 32))


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_toolbar_palette_and_node_icons_follow_the_theme(window, hello_dir, theme):
    window.set_theme(theme)
    text = QApplication.instance().palette().color(QPalette.ColorRole.ButtonText)
    want = (text.red(), text.green(), text.blue())
    toolbar = window.findChild(QToolBar, "toolbar_main")
    named = [a for a in toolbar.actions() if a.text().replace("&", "") in ACTION_ICONS]
    assert len(named) >= 10, [a.text() for a in toolbar.actions()]
    for action in named:
        assert not action.icon().isNull(), action.text()
        assert icon_ink(action.icon()) == want, action.text()
    items = [window.palette_panel.list.item(i) for i in range(window.palette_panel.list.count())]
    assert items and all(not item.icon().isNull() for item in items)
    assert {icon_ink(item.icon()) for item in items} == {want}
    # Each category has its own glyph.
    categories = {i.text().split("·")[-1].strip() for i in items}
    assert categories <= set(CATEGORY_ICONS)
    ends = Qt.MatchFlag.MatchEndsWith
    glyphs = {c: window.palette_panel.list.findItems(f"·  {c}", ends)[0] for c in categories}
    images = [item.icon().pixmap(32, 32).toImage() for item in glyphs.values()]
    assert len({bytes(img.constBits()) for img in images}) == len(images)
    assert window.open_path(hello_dir / "hello.twin")
    for node_id in window.doc.project.nodes:
        item = window.canvas.node_view(node_id).view
        header = item._icon_item.pixmap()
        assert not header.isNull()
        assert ink(header) == tuple(QColor(*item.text_color[:3]).getRgb()[:3]), node_id


def header_ink(canvas, node_id: str) -> tuple[tuple[int, int, int] | None, tuple[int, ...]]:
    item = canvas.node_view(node_id).view
    return ink(item._icon_item.pixmap()), tuple(QColor(*item.text_color[:3]).getRgb()[:3])


def test_nodes_inside_a_subgraph_body_have_their_category_icon(window):
    from test_subgraph_body import subgraph_of_b_and_c

    sub = subgraph_of_b_and_c(window)
    have, want = header_ink(window.canvas, sub)
    assert have == want  # the instance itself, on the project's canvas
    window.canvas.nodeActivated.emit(sub)  # a double-click opens the body
    body = window.edit_canvas
    assert body is not window.canvas
    for node_id in ("b", "c"):
        have, want = header_ink(body, node_id)
        assert have is not None and have == want, node_id
    # A node added in the body gets one too, and all follow a change of theme.
    assert window.add_node("python", QPointF(0.0, 300.0)) == "python"
    have, want = header_ink(body, "python")
    assert have is not None and have == want
    other = "light" if window.theme == "dark" else "dark"
    window.set_theme(other)
    for node_id in ("b", "c", "python"):
        have, want = header_ink(body, node_id)
        assert have == want, (other, node_id)
