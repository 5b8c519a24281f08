"""Fixtures for the attack tests: real Docker, moto Batch, and sentinel files on the host."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The Batch rig (moto compute environment, queue, bucket) is the one tests/batch uses.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "batch"))

from batch_helpers import MotoBatch, create_moto_batch, write_credentials  # noqa: E402
from security_helpers import Host  # noqa: E402

_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


@pytest.fixture(scope="session")
def aws_profile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = write_credentials(tmp_path_factory.mktemp("aws"))
    with pytest.MonkeyPatch.context() as patch:
        for name in _AWS_ENV:
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="session")
def moto_batch(moto_url: str, base_image: str, aws_profile: dict[str, str]) -> MotoBatch:
    return create_moto_batch(moto_url)


@pytest.fixture()
def image(base_image: str) -> str:
    return base_image


@pytest.fixture()
def host(tmp_path: Path) -> Iterator[Host]:
    """Sentinel files outside the project; each test ends by proving them untouched."""
    planted = Host.plant(tmp_path)
    yield planted
    planted.assert_untouched()
