"""Output viewers on real run outputs: a project run through the engine (headless, as a
person would before opening it) makes a table, a Parquet file, a figure, a text file, a
model file, a JSON value and a 1M-row CSV; the studio shows each from the run store."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton
from results_project import BIG_ROWS, results_project, run_headless

from twinflow_studio.ui.run_outputs import confined
from twinflow_studio.ui.viewers import OutputsWindow, folder_of, open_output
from twinflow_studio.ui.viewers.simple_views import (
    FolderView,
    ImageView,
    JsonView,
    MetadataView,
    TextView,
)
from twinflow_studio.ui.viewers.table_view import TableView


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("results") / "results"
    twin = results_project(folder)
    run_headless(twin, tmp_path_factory.mktemp("config"))
    return folder


def wait_table(qt_loop, viewer: TableView, timeout: float = 60) -> None:
    """Turn the loop until the table has loaded."""

    async def until_done() -> None:
        while not viewer.done:
            await asyncio.sleep(0.01)

    qt_loop.run_until_complete(asyncio.wait_for(until_done(), timeout))


def lag_while(qt_loop, start, done, settle: float = 0.2, timeout: float = 60) -> list[float]:
    """How late a 10 ms timer fires on the UI loop from ``start()`` (called from the loop)
    until ``done()`` and ``settle`` seconds more (the first paint of what was opened)."""
    lags: list[float] = []

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(start)
        end = None
        while end is None or loop.time() < end:
            t = loop.time()
            await asyncio.sleep(0.01)
            lags.append(max(0.0, loop.time() - t - 0.01))
            if end is None and done():
                end = loop.time() + settle

    qt_loop.run_until_complete(asyncio.wait_for(probe(), timeout))
    return lags


def test_table_view_of_a_dataframe_output(window, qt_loop, results_dir):
    assert window.open_path(results_dir / "results.twin")
    dialog = open_output(window, "outputs", "table")
    assert isinstance(dialog, OutputsWindow)
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "table (dataframe)"
    viewer = dialog.viewers["table"]
    assert isinstance(viewer, TableView)
    wait_table(qt_loop, viewer)
    assert viewer.error == ""
    preview = viewer.preview
    assert preview.rows_loaded == 200 and preview.describe_extent() == "200 rows"
    assert preview.dtypes["t"] == "int64" and preview.dtypes["temp"] == "float64"
    model = viewer.table.model()
    assert (model.rowCount(), model.columnCount()) == (200, 3)
    assert model.headerData(1, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) == (
        "temp: float64"
    )
    # Statistics of the rows shown, one row per column.
    stats = preview.stats.set_index("column")
    assert stats.loc["t", "max"] == 199 and stats.loc["t", "non-null"] == 200
    assert stats.loc["sensor", "distinct"] == 3
    # Sorting by a header click reorders the rows.
    viewer.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert model.data(model.index(0, 0)) == "199"
    viewer.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert model.data(model.index(0, 0)) == "0"
    # The Parquet output: row count from its footer, first batch only.
    dialog = open_output(window, "outputs", "parquet")
    parquet = dialog.viewers["parquet"]
    wait_table(qt_loop, parquet)
    assert parquet.preview.total_rows == 200 and parquet.preview.rows_loaded == 200
    buttons = [b.text() for b in dialog.findChildren(QPushButton)]
    assert "Show in folder" in buttons
    assert folder_of(dialog.outputs["parquet"].path) == dialog.outputs["parquet"].path.parent


def test_a_million_row_csv_opens_without_reading_it_whole(window, qt_loop, results_dir):
    assert window.open_path(results_dir / "results.twin")
    qt_loop.run_until_complete(asyncio.sleep(0.2))  # the window has settled
    # The node's outputs window is made and painted once (a new top-level window costs
    # its first frame, whatever it shows); the read of the table is measured when the
    # output is opened again, which reads the file afresh into a new table view.
    first = open_output(window, "big", "big")
    wait_table(qt_loop, first.viewers["big"])
    qt_loop.run_until_complete(asyncio.sleep(0.2))
    opened: list[OutputsWindow | None] = []
    lags = lag_while(
        qt_loop,
        lambda: opened.append(open_output(window, "big", "big")),
        lambda: bool(opened) and opened[0].viewers["big"].done,
    )
    assert opened[0] is first and first.viewers["big"] is not None
    # The first two turns are the window's new frame (its tabs rebuilt and painted), the
    # same for any output; what follows is the read of the file, off the UI thread.
    frame, lags = lags[:2], lags[2:]
    dialog = opened[0]
    viewer = dialog.viewers["big"]
    preview = viewer.preview
    assert viewer.error == "" and preview is not None
    size = os.path.getsize(dialog.outputs["big"].path)
    assert size > 15_000_000
    assert preview.rows_loaded == 1000
    assert preview.bytes_read < size / 20, (preview.bytes_read, size)
    assert 0.7 * BIG_ROWS < preview.estimated_rows < 1.3 * BIG_ROWS
    assert "first 1,000 rows of about" in viewer.info.text()
    # The loop kept turning while the file was read; how smoothly (p99 lag against the
    # 50 ms target) is measured by benchmarks/table_view.py, not asserted as a timing here.
    assert len(lags) >= 5, ("the loop did not turn while the table loaded", frame, lags)


def test_json_image_text_and_model_viewers(make_window, qt_loop, results_dir, tmp_path):
    saved = tmp_path / "saved-figure.png"
    window = make_window(save_file=[saved])
    assert window.open_path(results_dir / "results.twin")
    dialog = open_output(window, "outputs")
    assert set(dialog.viewers) == {"table", "parquet", "fig", "notes", "model", "info"}

    info = dialog.viewers["info"]
    assert isinstance(info, JsonView)
    root = info.model.item(0, 0)
    keys = {root.child(i, 0).text(): root.child(i, 1).text() for i in range(root.rowCount())}
    assert keys["rows"] == "200" and "nested" in keys
    assert info.model.item(0, 2).text() == "object (3 keys)"

    fig = dialog.viewers["fig"]
    assert isinstance(fig, ImageView)
    assert (fig.image.width(), fig.image.height()) == (320, 240)
    before = fig.zoom_factor
    fig.view.zoom(1.25)
    assert fig.zoom_factor == pytest.approx(before * 1.25)
    fig._save_clicked()  # Save as…: the scripted answer is where
    assert saved.read_bytes() == dialog.outputs["fig"].path.read_bytes()

    notes = dialog.viewers["notes"]
    assert isinstance(notes, TextView)
    assert notes.text.toPlainText() == "first note\nsecond note\n"

    model = dialog.viewers["model"]
    assert isinstance(model, MetadataView)
    assert "Python pickle (not loaded)" in model.text.text()
    assert not (results_dir / "UNPICKLED").exists()  # never unpickled


def test_outputs_outside_the_run_folder_or_through_links_are_not_shown(
    window, results_dir, tmp_path
):
    folder = tmp_path / "crafted"
    shutil.copytree(results_dir, folder, ignore=shutil.ignore_patterns("lineage*"))
    (run_dir,) = [p for p in (folder / ".twinflow" / "runs").iterdir() if p.is_dir()]
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours", encoding="utf-8")
    link = run_dir / "outputs" / "outputs" / "link.txt"
    link.symlink_to(secret)
    summary = json.loads((run_dir / "run.json").read_text())
    outs = summary["nodes"]["outputs"]["outputs"]
    outs["notes"] = link.as_uri()  # a link a container left in its output folder
    outs["table"] = secret.as_uri()  # a path outside the run store
    outs["info"] = "s3://bucket/key.json"
    (run_dir / "run.json").write_text(json.dumps(summary))
    assert window.open_path(folder / "results.twin")
    dialog = open_output(window, "outputs")
    for port, why in (("notes", "is a link"), ("table", "outside the run store")):
        out = dialog.outputs[port]
        assert out.path is None and why in out.problem
        assert dialog.viewers[port].text().startswith("Not shown:")
    assert dialog.outputs["info"].path is None and "not local" in dialog.outputs["info"].problem
    assert confined(run_dir / ".." / ".." / "x", run_dir) != ""
    # A folder view lists a link but never opens it.
    view = FolderView(link.parent)
    texts = [view.list.item(i).text() for i in range(view.list.count())]
    assert "link.txt  (link or special file: not opened)" in texts


def test_double_click_on_an_output_port_and_on_a_lineage_artifact(window, qt_loop, results_dir):
    assert window.open_path(results_dir / "results.twin")
    window.canvas.zoom_to_fit()
    qt_loop.run_until_complete(asyncio.sleep(0.1))
    viewer = window.canvas.viewer
    port = window.canvas.node_view("outputs").get_output("notes")
    at = viewer.mapFromScene(port.view.sceneBoundingRect().center())
    QTest.mouseDClick(
        viewer.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(at)
    )
    dialog = window.output_windows["outputs"]
    assert dialog.isVisible()
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "notes (file)"
    dialog.close()

    # Lineage panel: a run's task, its output child; double-click opens that output.
    window._ensure_lineage()
    lineage = window.lineage
    item = next(
        lineage.tasks.topLevelItem(i)
        for i in range(lineage.tasks.topLevelItemCount())
        if lineage.tasks.topLevelItem(i).text(0) == "big"
    )
    lineage.tasks.itemDoubleClicked.emit(item.child(0), 0)
    dialog = window.output_windows["big"]
    assert dialog.isVisible() and list(dialog.viewers) == ["big"]
    wait_table(qt_loop, dialog.viewers["big"])

    # Run ▸ Open outputs, on the selected node.
    window.canvas.select(["outputs"])
    window.actions_by_name["Open outputs"].trigger()
    assert window.output_windows["outputs"].isVisible()


def test_a_node_without_outputs_says_so(window, hello_dir):
    assert window.open_path(hello_dir / "hello.twin")
    assert open_output(window, "fit") is None
    assert "has no outputs yet" in window.status_label.text()


def test_figure_preview_on_the_node_switches_off_and_is_remembered(
    make_window, qt_loop, results_dir
):
    window = make_window()
    assert window.open_path(results_dir / "results.twin")
    qt_loop.run_until_complete(asyncio.sleep(0.05))  # the previews are drawn after the open
    previews = window.figure_previews
    assert set(previews.items) == {"outputs"}
    item = previews.items["outputs"]
    assert item.parentItem() is window.canvas.node_view("outputs").view
    assert item.pixmap().width() == 180 and item.isVisible()
    action = window.actions_by_name["Figure previews"]
    assert action.isChecked()
    action.trigger()  # off
    assert not action.isChecked() and previews.items == {}
    assert item.scene() is None
    window.settings.sync()
    again = make_window()  # the same studio home: the choice is remembered
    assert not again.actions_by_name["Figure previews"].isChecked()
    assert again.open_path(results_dir / "results.twin")
    qt_loop.run_until_complete(asyncio.sleep(0.05))
    assert again.figure_previews.items == {}
    again.actions_by_name["Figure previews"].trigger()  # on again
    assert set(again.figure_previews.items) == {"outputs"}
