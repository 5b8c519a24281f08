"""Where new nodes go: the free spot nearest to where they were asked for, so that nothing
lands on top of an existing node. Pure geometry (no Qt), rectangles as (x, y, w, h)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

Rect = tuple[float, float, float, float]
Point = tuple[float, float]

GAP = 24.0  # clear space kept around every node
MAX_RINGS = 40


def overlaps(a: Rect, b: Rect, gap: float = GAP) -> bool:
    return (
        a[0] < b[0] + b[2] + gap
        and b[0] < a[0] + a[2] + gap
        and a[1] < b[1] + b[3] + gap
        and b[1] < a[1] + a[3] + gap
    )


def _candidates(step_x: float, step_y: float) -> Iterator[Point]:
    """Offsets on a grid, ring by ring, nearest first within each ring (to the right and
    below before left and above, the way a graph reads)."""
    yield (0.0, 0.0)
    for ring in range(1, MAX_RINGS + 1):
        cells = [
            (i, j)
            for i in range(-ring, ring + 1)
            for j in range(-ring, ring + 1)
            if max(abs(i), abs(j)) == ring
        ]
        cells.sort(key=lambda c: (math.hypot(c[0] * step_x, c[1] * step_y), -c[0], -c[1]))
        for i, j in cells:
            yield (i * step_x, j * step_y)


def free_offset(block: list[Rect], taken: Iterable[Rect], preferred: Point = (0.0, 0.0)) -> Point:
    """The offset nearest to ``preferred`` at which every rect of ``block`` is clear of
    every rect in ``taken``."""
    taken = list(taken)
    if not block:
        return preferred
    w = max(r[2] for r in block)
    h = max(r[3] for r in block)
    step_x, step_y = (w + GAP) / 2, (h + GAP) / 2
    for ox, oy in _candidates(step_x, step_y):
        dx, dy = preferred[0] + ox, preferred[1] + oy
        moved = [(x + dx, y + dy, rw, rh) for x, y, rw, rh in block]
        if not any(overlaps(m, t) for m in moved for t in taken):
            return (dx, dy)
    return preferred  # a canvas full for 40 rings around: give up and stack


def free_spot(want: Point, size: tuple[float, float], taken: Iterable[Rect]) -> Point:
    """The top-left corner nearest to ``want`` for a node of ``size`` clear of ``taken``."""
    dx, dy = free_offset([(want[0], want[1], size[0], size[1])], taken)
    return (want[0] + dx, want[1] + dy)


def estimated_size(n_inputs: int, n_outputs: int) -> tuple[float, float]:
    """A node's size on the canvas before it is drawn (NodeGraphQt's layout, roughly)."""
    return (170.0, max(60.0, 36.0 + 24.0 * max(n_inputs, n_outputs)))
