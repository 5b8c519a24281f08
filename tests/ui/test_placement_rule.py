"""Issue 12 item 9: the placement rule for new nodes, a pure function (no Qt)."""

from __future__ import annotations

from twinflow_studio.ui.placement import Rect, free_offset, free_spot


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_free_spot_is_the_wanted_point_when_it_is_free():
    assert free_spot((100.0, 50.0), (160.0, 60.0), [(400.0, 400.0, 160.0, 60.0)]) == (100.0, 50.0)


def test_free_spot_avoids_every_node_and_stays_near():
    taken = [(x * 200.0, y * 100.0, 160.0, 60.0) for x in range(4) for y in range(3)]
    x, y = free_spot((210.0, 110.0), (160.0, 60.0), taken)
    assert not any(overlaps((x, y, 160.0, 60.0), r) for r in taken)
    assert abs(x - 210.0) + abs(y - 110.0) <= 600.0


def test_free_offset_moves_a_block_clear_of_its_original():
    block = [(0.0, 0.0, 160.0, 60.0), (300.0, 0.0, 160.0, 60.0)]
    dx, dy = free_offset(block, block, (40.0, 40.0))
    moved = [(x + dx, y + dy, w, h) for x, y, w, h in block]
    assert not any(overlaps(m, r) for m in moved for r in block)
