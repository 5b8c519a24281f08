"""Lineage: every run as a PROV-style provenance graph (see docs/lineage.md)."""

from twinflow_studio.lineage.backends import BACKENDS, LineageConfigError, neptune_sigv4_headers
from twinflow_studio.lineage.queries import LineageQueries
from twinflow_studio.lineage.store import LineageBusyError, LineageStore, open_lineage

__all__ = [
    "BACKENDS",
    "LineageBusyError",
    "LineageConfigError",
    "LineageQueries",
    "LineageStore",
    "neptune_sigv4_headers",
    "open_lineage",
]
