"""``settings.lineage`` as the document states it: which lineage the project records.

``{"backend": "none"}`` turns lineage off (as ``--no-lineage`` does for one run): nothing is
opened, nothing asks for trust, and validation accepts it. Every caller (the CLI, the studio,
the trust check) asks :func:`lineage_settings`, so "none" means the same everywhere; the
lineage layer's ``BackendConfig`` is only ever handed a backend to connect to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LINEAGE_OFF = "none"


def lineage_settings(settings: Mapping[str, Any]) -> dict[str, Any] | None:
    """The project's ``settings.lineage`` (empty: the embedded default), or None when the
    project records no lineage."""
    lineage = settings.get("lineage") or {}
    if not isinstance(lineage, Mapping):
        return {}  # a malformed value is validation's to report, not a way to turn it off
    if lineage.get("backend") == LINEAGE_OFF:
        return None
    return dict(lineage)
