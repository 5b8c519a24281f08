"""Pipes that stay readable when they run backwards (target left of its source).

NodeGraphQt draws such a pipe as an S-curve through the nodes, where it is hard to tell which
ports it joins. ``RoutedPipeItem`` routes it instead: out of the source port to the right,
down below both nodes, back left, and into the target port from the left, with its direction
arrow on the way back.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath

from twinflow_studio.ui.canvas_items import FastPipeItem
from twinflow_studio.ui.nodegraph_adapter import PortTypeEnum, draw_direction_pointer

STUB = 28.0  # how far the pipe leaves a port before it turns
CLEARANCE = 26.0  # how far below the lower node it runs back
BACKWARD_SLACK = 12.0  # a target this little left of its source is still drawn as usual


def port_centre(port: Any) -> QPointF:
    rect = port.boundingRect()
    pos = port.scenePos()
    return QPointF(pos.x() + rect.width() / 2, pos.y() + rect.height() / 2)


def backward_route(out_pos: QPointF, in_pos: QPointF, bottom: float) -> QPainterPath:
    """The detour from ``out_pos`` to ``in_pos`` below ``bottom`` (scene coordinates)."""
    low = max(bottom, out_pos.y(), in_pos.y()) + CLEARANCE
    path = QPainterPath(out_pos)
    path.lineTo(out_pos.x() + STUB, out_pos.y())
    path.lineTo(out_pos.x() + STUB, low)
    path.lineTo(in_pos.x() - STUB, low)
    path.lineTo(in_pos.x() - STUB, in_pos.y())
    path.lineTo(in_pos)
    return path


class RoutedPipeItem(FastPipeItem):
    backward = False

    def draw_path(self, start_port: Any, end_port: Any = None, cursor_pos: Any = None) -> None:
        super().draw_path(start_port, end_port, cursor_pos)
        self.backward = False
        if end_port is None or cursor_pos is not None or not self.isVisible():
            return
        out, inp = (
            (start_port, end_port)
            if start_port.port_type == PortTypeEnum.OUT.value
            else (end_port, start_port)
        )
        if out.node is inp.node:
            return  # NodeGraphQt's own loop for a node fed by itself
        out_pos, in_pos = port_centre(out), port_centre(inp)
        if in_pos.x() >= out_pos.x() - BACKWARD_SLACK:
            return
        bottom = max(out.node.sceneBoundingRect().bottom(), inp.node.sceneBoundingRect().bottom())
        self.backward = True
        self.setPath(backward_route(out_pos, in_pos, bottom))
        draw_direction_pointer(self)
