"""The desktop studio (PySide6 + NodeGraphQt). Only this package imports Qt."""
