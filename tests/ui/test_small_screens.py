"""Issue 12 item 10: the window fits the screen, the docks give way to the canvas, and
zoomed-out nodes still show their titles (level of detail)."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from twinflow_studio.ui.main_window import MainWindow
from twinflow_studio.ui.prompts import ScriptedPrompter


def settle(qtbot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(10)


def test_first_start_fits_the_available_screen(qtbot, qt_loop, tmp_path):
    window = MainWindow(prompter=ScriptedPrompter(), home=tmp_path / "home")
    qtbot.addWidget(window)
    window.show()
    settle(qtbot)
    screen = window.screen().availableGeometry()
    frame = window.frameGeometry()
    assert frame.width() <= screen.width() and frame.height() <= screen.height(), (frame, screen)
    assert screen.contains(frame.topLeft())


def test_the_window_can_be_as_small_as_a_scaled_laptop_screen(window):
    # 1280x800 at QT_SCALE_FACTOR=2 is 640x400 logical pixels, title bar included.
    smallest = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert smallest.width() <= 640 and smallest.height() <= 370, smallest


def test_remembered_geometry_larger_than_the_screen_is_shrunk(qtbot, qt_loop, tmp_path):
    first = MainWindow(prompter=ScriptedPrompter(), home=tmp_path / "home")
    qtbot.addWidget(first)
    first.show()
    first.setGeometry(0, 0, 2600, 1900)  # as on a bigger monitor, or at QT_SCALE_FACTOR=1
    first.close()
    again = MainWindow(prompter=ScriptedPrompter(), home=tmp_path / "home")
    qtbot.addWidget(again)
    again.show()
    settle(qtbot)
    screen = again.screen().availableGeometry()
    assert again.frameGeometry().height() <= screen.height()
    assert again.frameGeometry().width() <= screen.width()


def test_docks_give_way_to_the_canvas_on_a_small_window(window, qtbot, hello_dir):
    window.open_path(hello_dir / "hello.twin", ask=False)
    window.resize(1600, 900)
    settle(qtbot)
    roomy = {k: window.docks[k].width() for k in ("palette", "properties")}
    window.resize(1024, 700)
    settle(qtbot)
    assert window.canvas.width() >= 0.5 * window.width(), {
        "canvas": window.canvas.width(),
        **{k: d.width() for k, d in window.docks.items() if d.isVisible()},
    }
    window.resize(1600, 900)
    settle(qtbot)
    assert window.canvas.width() >= 0.5 * window.width()
    for name, width in roomy.items():  # what the docks gave up, they get back
        assert abs(window.docks[name].width() - width) <= 12, (name, width)


def bright_pixels(window, node_id: str, margin: int = 24) -> int:
    """Light-coloured pixels (text on the dark theme) on and just around a node on screen."""
    viewer = window.canvas.viewer
    image = viewer.viewport().grab().toImage()
    rect = viewer.mapFromScene(
        window.canvas.node_view(node_id).view.sceneBoundingRect()
    ).boundingRect()
    rect = rect.adjusted(-margin, -margin, margin, margin).intersected(image.rect())
    count = 0
    for x in range(rect.left(), rect.right()):
        for y in range(rect.top(), rect.bottom()):
            if QColor(image.pixel(x, y)).lightness() > 170:
                count += 1
    return count


def test_zoomed_out_nodes_keep_their_titles_and_drop_tiny_badges(window, qtbot, hello_dir):
    window.open_path(hello_dir / "hello.twin", ask=False)
    window.add_node("python", QPointF(5200, 3200))  # far away: fitting all zooms far out
    window.canvas.select([])
    window.canvas.zoom_to_fit()
    window.canvas.set_states({"fit": ("succeeded", "succeeded 0.12s")})
    settle(qtbot)
    view = window.canvas.node_view("fit")
    assert window.canvas.viewer.transform().m11() < 0.3
    assert bright_pixels(window, "fit") > 15, "the title of a zoomed-out node is not drawn"
    badges = [item for item in view.view.childItems() if hasattr(item, "text") and item.isVisible()]
    assert not badges, "a state label too small to read is still drawn"


def test_state_badges_come_back_when_zoomed_in(window, qtbot, hello_dir):
    window.open_path(hello_dir / "hello.twin", ask=False)
    window.canvas.set_states({"fit": ("succeeded", "succeeded 0.12s")})
    settle(qtbot)  # the first zoom-to-fit of an opened project
    window.canvas.graph.reset_zoom()
    window.canvas.select(["fit"], center=True)
    settle(qtbot)
    view = window.canvas.node_view("fit")
    assert window.canvas.viewer.transform().m11() >= 0.5
    assert [i for i in view.view.childItems() if hasattr(i, "text") and i.isVisible()]
