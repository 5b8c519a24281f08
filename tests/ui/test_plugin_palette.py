"""A kind from an installed plugin package shows in the palette, saying where it comes from,
and is added to the canvas like a core kind."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from twinflow_studio.project import plugins


def test_the_example_plugin_kind_is_in_the_palette(
    example_plugin, monkeypatch, make_window, tmp_path
):
    monkeypatch.syspath_prepend(str(example_plugin))
    plugins._reset_for_tests()
    try:
        window = make_window()
        palette = window.palette_panel
        palette.search.setText("rolling")
        assert palette.kinds_shown() == ["rolling_mean"]
        tip = palette.list.item(0).toolTip()
        assert "From twinflow-example-plugin 0.1.0" in tip
        assert "rolling mean" in tip.lower()
        palette.search.setText("data source")
        assert "twinflow-studio (core)" in palette.list.item(0).toolTip()
        palette.search.setText("rolling")
        palette.list.setCurrentRow(0)
        palette.search.returnPressed.emit()  # Enter adds the kind
        kinds = [n.kind for n in window.doc.project.nodes.values()]
        assert "rolling_mean" in kinds
        assert palette.list.item(0).data(Qt.ItemDataRole.UserRole) == "rolling_mean"
        window.doc.save(tmp_path / "smoothing.twin")
        saved = json.loads((tmp_path / "smoothing.twin").read_text())
        assert saved["project"]["settings"]["plugins"] == {
            "rolling_mean": "twinflow-example-plugin"
        }
    finally:
        plugins._reset_for_tests()
