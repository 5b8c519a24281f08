"""The shape of a `.twin` file's ``layout``: what the studio reads back from it.

The layout carries no meaning for a run, but the studio draws from it on Open, so a file
that was merely opened must not be able to crash the canvas with a position that is a list
or a colour that is a string. Keys the studio does not know are kept as they are.
"""

from __future__ import annotations

import math
from typing import Any

# Canvas coordinates beyond this are a broken file, not a big drawing.
MAX_COORD = 1e9


def layout_problem(layout: dict[str, Any]) -> str | None:
    """``"layout.<path>: <what is wrong>"`` for the first malformed entry, else None."""
    nodes = layout.get("nodes", {})
    if not isinstance(nodes, dict):
        return "layout.nodes: expected an object of node id to position"
    for node_id, pos in nodes.items():
        where = f"layout.nodes.{node_id}"
        if not isinstance(pos, dict):
            return f'{where}: expected an object such as {{"x": 0, "y": 0}}'
        problem = _numbers(pos, ("x", "y"), where)
        if problem:
            return problem
    view = layout.get("view")
    if view is not None:
        if not isinstance(view, dict):
            return "layout.view: expected an object {x, y, w, h}"
        problem = _numbers(view, ("x", "y", "w", "h"), "layout.view")
        if problem:
            return problem
    backdrops = layout.get("backdrops", [])
    if not isinstance(backdrops, list):
        return "layout.backdrops: expected a list of groups"
    for i, item in enumerate(backdrops):
        where = f"layout.backdrops[{i}]"
        if not isinstance(item, dict):
            return f"{where}: expected an object {{id, title, x, y, w, h, nodes}}"
        if not isinstance(item.get("id"), str):
            return f"{where}.id: expected a string"
        if not isinstance(item.get("title", ""), str):
            return f"{where}.title: expected a string"
        problem = _numbers(item, ("x", "y", "w", "h"), where)
        if problem:
            return problem
        members = item.get("nodes", [])
        if not isinstance(members, list) or not all(isinstance(n, str) for n in members):
            return f"{where}.nodes: expected a list of node ids"
        color = item.get("color")
        if color is not None and not (
            isinstance(color, list)
            and 3 <= len(color) <= 4
            and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in color)
        ):
            return f"{where}.color: expected [red, green, blue] with each 0 to 255"
    return None


def _numbers(values: dict[str, Any], keys: tuple[str, ...], where: str) -> str | None:
    for key in keys:
        if key not in values:
            continue
        value = values[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or abs(value) > MAX_COORD
        ):
            return f"{where}.{key}: expected a number within ±{MAX_COORD:g}, found {value!r}"
    return None
