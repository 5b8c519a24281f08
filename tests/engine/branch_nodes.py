"""Functions the composition tests run: labels that show which branch ran."""

from __future__ import annotations

from typing import Any


def label(x: Any, name: str = "") -> str:
    return f"{name}:{x['drift'] if isinstance(x, dict) else x}"


def pick(value: Any) -> str:
    """A switch predicate: recalibrate when drift is large."""
    return "recal" if value["drift"] > 0.2 else "predict"
