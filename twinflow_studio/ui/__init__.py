"""The desktop studio (PySide6 + NodeGraphQt). Only this package imports Qt."""

from twinflow_studio.ui.desktop import quiet_qt_py

# Before anything here imports NodeGraphQt (and with it Qt.py): no QtMultimedia warning.
quiet_qt_py()
