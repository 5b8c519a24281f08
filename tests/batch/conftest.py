"""Fixtures for the Batch target: moto_server's Batch runs real containers on Docker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from batch_helpers import AWS_ENV, aws_profile, image, moto_batch  # noqa: F401 (fixtures)


@pytest.fixture()
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A world without AWS credentials: empty config files, no env keys, no IMDS."""
    (tmp_path / "empty").write_text("")
    for name in AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None
