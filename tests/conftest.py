"""Shared fixtures: real services, found through the environment that scripts/test.sh sets.

Outside CI a test whose service is missing skips and says why; in CI (CI=true) it fails,
because every service is started there for real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BASE_IMAGE = os.environ.get("TWINFLOW_BASE_IMAGE", "twinflow/python-base:bookworm")


def require(condition: bool, reason: str) -> None:
    """Skip outside CI, fail in CI: a missing service there is a broken CI set-up."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def user_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user config folder: no test reads or writes the real user's trust list
    (subprocesses inherit it through the environment)."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder / "twinflow-studio"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    import docker

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:
        require(False, f"no Docker engine reachable ({exc}); run scripts/services/docker.sh")
        raise
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: object) -> str:
    """The local python base image; built (debootstrap + docker import) when missing."""
    import docker.errors

    try:
        docker_client.images.get(BASE_IMAGE)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        script = ROOT / "scripts" / "services" / "base-image.sh"
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True)
        require(done.returncode == 0, f"cannot build {BASE_IMAGE}: {done.stderr[-500:]}")
    return BASE_IMAGE


@pytest.fixture(scope="session")
def moto_url() -> str:
    url = os.environ.get("TWINFLOW_MOTO_URL", "")
    require(bool(url), "TWINFLOW_MOTO_URL is not set; run scripts/services/moto.sh")
    return url


@pytest.fixture(scope="session")
def gremlin_url() -> str:
    url = os.environ.get("TWINFLOW_GREMLIN_URL", "")
    require(bool(url), "TWINFLOW_GREMLIN_URL is not set; run scripts/services/gremlin-server.sh")
    return url


@pytest.fixture()
def fixtures_on_path(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path for test modules that nodes import by path."""
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
