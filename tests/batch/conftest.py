"""Fixtures for the Batch target: moto_server's Batch runs real containers on Docker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_helpers import MotoBatch, create_moto_batch, write_credentials

_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


@pytest.fixture(scope="session")
def aws_profile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The test profile in a private credentials file; no other credentials are visible."""
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
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A world without AWS credentials: empty config files, no env keys, no IMDS."""
    (tmp_path / "empty").write_text("")
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None
