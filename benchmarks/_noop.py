"""The no-op function the engine benchmarks run as a node."""

from typing import Any


def noop(**inputs: Any) -> None:
    return None
