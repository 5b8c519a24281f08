"""Node ids the user types (``--only``): which a flattened project knows, and close matches
for the ones it does not.

A flattened project holds its inner nodes as ``outer--inner``; the subgraph ``outer`` itself
is gone, but naming it stands for all of its nodes (see ``subgraphs.expand_ids``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from twinflow_studio.project.model import Project
from twinflow_studio.project.subgraphs import SEPARATOR

MAX_SUGGESTIONS = 3


def known_ids(flat: Project) -> set[str]:
    """Every id a user may name: the flat nodes and each subgraph instance around them."""
    known = set(flat.nodes)
    for node_id in flat.nodes:
        parts = node_id.split(SEPARATOR)
        known.update(SEPARATOR.join(parts[:i]) for i in range(1, len(parts)))
    return known


def unknown_ids(flat: Project, ids: Iterable[str]) -> list[str]:
    known = known_ids(flat)
    return sorted({n for n in ids if n not in known})


def suggestions(flat: Project, node_id: str) -> list[str]:
    """The known ids closest to ``node_id``: those ending in it (an inner node named without
    its subgraph) first, then the ones spelled alike."""
    known = sorted(known_ids(flat))
    inner = [k for k in known if k.endswith(f"{SEPARATOR}{node_id}")]
    alike = difflib.get_close_matches(node_id, known, n=MAX_SUGGESTIONS, cutoff=0.6)
    return list(dict.fromkeys(inner + alike))[:MAX_SUGGESTIONS]


def unknown_message(flat: Project, unknown: list[str]) -> str:
    """``no such node to run: 'x' (did you mean: a--x?)``, one clause per unknown id."""
    said = []
    for node_id in unknown:
        close = suggestions(flat, node_id)
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        said.append(f"{node_id!r}{hint}")
    noun = "node" if len(unknown) == 1 else "nodes"
    return f"no such {noun} to run: {'; '.join(said)}"
