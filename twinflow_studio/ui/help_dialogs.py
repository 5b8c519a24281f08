"""Help ▸ Keyboard shortcuts and Help ▸ About."""

from __future__ import annotations

from html import escape

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QWidget

from twinflow_studio import __version__

CANVAS_KEYS = [
    ("Tab", "Add a node at the cursor (quick-add)"),
    ("Double-click an output port", "Open what it holds"),
    ("Double-click a node's title", "Rename it"),
    ("Ctrl + wheel (figure viewer)", "Zoom"),
]


def shortcut_rows(actions: dict[str, QAction]) -> list[tuple[str, str]]:
    """(keys, what) for every menu action that has a shortcut, then the canvas gestures."""
    rows = []
    for name, action in actions.items():
        keys = ", ".join(
            s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts()
        )
        if keys:
            rows.append((keys, name))
    return rows + CANVAS_KEYS


def show_shortcuts(parent: QWidget, actions: dict[str, QAction]) -> QMessageBox:
    rows = "".join(
        f"<tr><td><b>{escape(k)}</b></td><td>&nbsp;&nbsp;{escape(w)}</td></tr>"
        for k, w in shortcut_rows(actions)
    )
    box = QMessageBox(parent)
    box.setWindowTitle("Keyboard shortcuts")
    box.setText(f"<table>{rows}</table>")
    box.setModal(False)
    box.show()
    return box


def about_text() -> str:
    return (
        f"<h3>TwinFlow Studio {escape(__version__)}</h3>"
        "<p>A desktop studio for living digital twins: a typed graph of data, containers "
        "and models, run in-process, in local Docker or on AWS Batch, with every run, "
        "artifact and model version recorded as lineage.</p>"
        "<p>Built on PySide6 (Qt), NodeGraphQt, qasync, pandas, scikit-learn, emcee and "
        "Apache TinkerPop.</p>"
    )


def show_about(parent: QWidget) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About TwinFlow Studio")
    box.setText(about_text())
    box.setModal(False)
    box.show()
    return box
