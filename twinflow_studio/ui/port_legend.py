"""Ports explain themselves: a tooltip per port (name, type, what it carries) and a legend of
the port-type colours (View → Port types)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QWidget

from twinflow_studio.project import Node, Port, get_kind
from twinflow_studio.project.kinds import PORT_TYPES, port_types_compatible
from twinflow_studio.ui.canvas_items import PORT_COLORS

TYPE_DOCS: dict[str, str] = {
    "file": "a file or folder (any format), passed by path",
    "dataframe": "a table: a CSV or Parquet file, read as a pandas DataFrame",
    "json": "a JSON value (number, text, list, object)",
    "model": "a fitted model (TwinStat inductive model or surrogate)",
    "posterior": "calibration samples: a posterior over model parameters",
    "any": "whatever the upstream node makes",
}


def accepts(port_type: str) -> list[str]:
    """The port types a port of ``port_type`` connects to."""
    return [t for t in PORT_TYPES if port_types_compatible(port_type, t)]


def port_tooltip(node: Node, port: Port, side: str) -> str:
    """Name, type, what the type carries, the kind's own word on the port, and whether it
    must be fed."""
    kind = get_kind(node.kind)
    specs = (kind.inputs if side == "input" else kind.outputs) if kind else ()
    doc = next((s.doc for s in specs if s.name == port.name and s.doc), "")
    lines = [f"{port.name} ({side}, {port.type})"]
    if doc:
        lines.append(doc)
    lines.append(f"{port.type}: {TYPE_DOCS.get(port.type, 'a port type of a plugin')}")
    joins = ", ".join(t for t in accepts(port.type) if t != port.type)
    if joins:
        lines.append(f"connects to {port.type} and {joins} ports")
    if side == "input":
        lines.append("required" if port.required else "optional: may be left unconnected")
    return "\n".join(lines)


def swatch(rgb: tuple[int, int, int], size: int = 14) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*rgb))
    return pixmap


class PortLegend(QDialog):
    """What each port colour means (non-modal: it stays open beside the canvas)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Port types")
        grid = QGridLayout(self)
        self.rows: dict[str, QLabel] = {}
        for row, name in enumerate(PORT_TYPES):
            colour = QLabel()
            colour.setPixmap(swatch(PORT_COLORS.get(name, PORT_COLORS["any"])))
            grid.addWidget(colour, row, 0)
            grid.addWidget(QLabel(f"<b>{name}</b>"), row, 1)
            text = QLabel(TYPE_DOCS.get(name, ""))
            text.setWordWrap(True)
            grid.addWidget(text, row, 2)
            self.rows[name] = text
        note = QLabel(
            "An output feeds an input of the same type or of type any; files and "
            "dataframes feed each other. A pipe drawn below the nodes runs backwards, "
            "from an output on the right to an input on the left."
        )
        note.setWordWrap(True)
        grid.addWidget(note, len(PORT_TYPES), 0, 1, 3)
        self.resize(460, self.sizeHint().height())


def show_legend(parent: QWidget) -> PortLegend:
    legend = parent.findChild(PortLegend)
    if legend is None:
        legend = PortLegend(parent)
    legend.show()
    legend.raise_()
    return legend
