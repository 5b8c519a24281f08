"""Fixtures for the attack tests: real Docker, moto Batch, and sentinel files on the host."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The Batch rig (moto compute environment, queue, bucket) is the one tests/batch uses.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "batch"))

from batch_helpers import aws_profile, image, moto_batch  # noqa: E402, F401 (fixtures)
from security_helpers import Host  # noqa: E402


@pytest.fixture()
def host(tmp_path: Path) -> Iterator[Host]:
    """Sentinel files outside the project; each test ends by proving them untouched."""
    planted = Host.plant(tmp_path)
    yield planted
    planted.assert_untouched()
