"""A node's cache key: what the run cache is indexed by, for the scheduler and for telling
ahead of a run whether a node's last result still holds (``engine.freshness``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twinflow_studio.project.hashing import hash_value
from twinflow_studio.project.model import Node


def node_cache_key(
    node: Node, params: dict[str, Any], code: str, input_hashes: Mapping[str, str]
) -> str:
    """hash(kind, parameters, declared outputs, mapping, code identity, input bytes)."""
    return hash_value(
        {
            "kind": node.kind,
            "params": params,
            "outputs": [p.to_dict() for p in node.output_ports()],
            "map_over": node.map_over,
            # Only when not the default, so that existing cache keys stay valid.
            **({"map_mode": node.map_mode} if node.map_mode != "product" else {}),
            "code": code,
            "inputs": dict(sorted(input_hashes.items())),
        }
    )
