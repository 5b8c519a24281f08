"""Opening another project (or a new one) starts every per-project view afresh."""

from __future__ import annotations

from ui_helpers import chain_project, run_to_end

from twinflow_studio.ui.run_panel import ALL


def _filter_items(window) -> list[str]:
    combo = window.run_panel.node_filter
    return [combo.itemText(i) for i in range(combo.count())]


def _problems(window) -> list[str]:
    panel = window.run_panel.problems
    return [panel.item(i).text() for i in range(panel.count())]


def test_open_and_new_reset_the_log_summary_problems_and_calibration(
    window, qt_loop, tmp_path, hello_dir
):
    assert window.open_path(chain_project(tmp_path / "a", "ui_mod_switch_a", fail=True))
    run_to_end(qt_loop, window.run_all())
    window.runs.flush()
    window.run_panel.show_node_log("make")
    assert {"make", "total"} <= set(_filter_items(window))
    assert window.run_panel.summary.toPlainText()
    assert any("boom" in p for p in _problems(window))
    window.canvas.select(["make"])
    assert "make" in window.calibration.info.text()  # "No posterior recorded for make yet."

    assert window.open_path(hello_dir / "hello.twin")
    assert _filter_items(window) == [ALL]
    assert window.run_panel.node_filter.currentText() == ALL
    assert window.run_panel.log.toPlainText() == ""
    assert window.run_panel.summary.toPlainText() == ""
    assert _problems(window) == []
    assert window.calibration.info.text().startswith("Select a calibration node")
    assert window.runs.last_summary is None

    # The filter of the next project lists that project's nodes only.
    run_to_end(qt_loop, window.run_all())
    window.runs.flush()
    assert set(_filter_items(window)) - {ALL} <= set(window.doc.project.nodes)

    window.validate_now()
    window.new_project()
    assert _filter_items(window) == [ALL]
    assert window.run_panel.summary.toPlainText() == ""
    assert _problems(window) == []
