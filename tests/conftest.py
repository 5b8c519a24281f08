"""Shared fixtures: real services, found through the environment that scripts/test.sh sets.

Outside CI a test whose service is missing skips and says why; in CI (CI=true) it fails,
because every service is started there for real.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

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
def fmpy_image(base_image: str, docker_client: object) -> str:
    """The base image plus fmpy, for fmu nodes on Docker/Batch; built from cached wheels
    by scripts/services/fmpy-image.sh when missing."""
    import docker.errors

    image = os.environ.get("TWINFLOW_FMPY_IMAGE", "twinflow/fmpy:bookworm")
    try:
        docker_client.images.get(image)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        script = ROOT / "scripts" / "services" / "fmpy-image.sh"
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True)
        require(done.returncode == 0, f"cannot build {image}: {done.stderr[-500:]}")
    return image


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


@dataclass(frozen=True)
class MqttBroker:
    """The Mosquitto broker of scripts/services/mosquitto.sh: plain and TLS (client
    certificate required) listeners on loopback, and the test CA's files."""

    url: str
    tls_url: str
    tls_dir: Path

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlparse(self.url).port or 1883

    @property
    def tls_port(self) -> int:
        return urlparse(self.tls_url).port or 8883


@pytest.fixture(scope="session")
def mqtt_broker() -> MqttBroker:
    url = os.environ.get("TWINFLOW_MQTT_URL", "")
    require(bool(url), "TWINFLOW_MQTT_URL is not set; run scripts/services/mosquitto.sh")
    tls_dir = Path(os.environ.get("TWINFLOW_MQTT_TLS_DIR", "/tmp/twinflow-services/mosquitto-tls"))
    tls_url = os.environ.get("TWINFLOW_MQTT_TLS_URL", "mqtts://127.0.0.1:18831")
    require((tls_dir / "ca.crt").is_file(), f"no test CA in {tls_dir} (TWINFLOW_MQTT_TLS_DIR)")
    return MqttBroker(url, tls_url, tls_dir)


@pytest.fixture()
def fixtures_on_path(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path for test modules that nodes import by path."""
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))


class Listener:
    """A loopback port that accepts and records every connection made to it: the stand-in
    for a host a hostile project names (a lineage database, a Docker engine)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.connections.append(peer)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    lis = Listener()
    yield lis
    lis.close()


def files_under(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """Every entry under ``root`` (links not followed) with its size and mtime, for proving
    that nothing was written."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if str(rel_dir / d) not in skip]
        for name in dirnames + filenames:
            info = os.lstat(Path(dirpath) / name)
            out[str(rel_dir / name)] = (info.st_size, info.st_mtime_ns)
    return out


def make_hostile_project(root: Path, port: int, backend: str = "gremlin-server") -> Path:
    """A project that, if opening it were not inert, would connect to ``port`` (lineage
    database and Docker engine), write to ``root/outside`` (run store) and import its own
    module (which leaves a marker file when imported). Returns the `.twin` path."""
    from twinflow_studio.project import Node, Port, Project, TargetConfig, save

    folder = root / "hostile"
    folder.mkdir()
    outside = root / "outside"
    outside.mkdir()
    marker = outside / "imported.txt"
    (folder / "evil_mod.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"
        "def run():\n    return 1\n"
    )
    p = Project("hostile")
    url = f"ws://127.0.0.1:{port}/gremlin"
    if backend == "neptune":
        p.settings["lineage"] = {
            "backend": "neptune",
            "url": "wss" + url[2:],
            "region": "us-east-1",
        }
    else:
        p.settings["lineage"] = {"backend": "gremlin-server", "url": url, "timeout": 2}
    p.settings["run_store"] = str(outside / "store")
    p.targets["docker"] = TargetConfig(
        "docker", "docker", options={"base_url": f"tcp://127.0.0.1:{port}"}
    )
    p.add_node(
        Node("evil", "python", params={"callable": "evil_mod:run"}, outputs=[Port("out", "json")])
    )
    p.add_node(
        Node(
            "box",
            "container",
            params={"image": BASE_IMAGE, "command": ["true"]},
            outputs=[Port("out", "file")],
        )
    )
    save(p, folder / "hostile.twin")
    return folder / "hostile.twin"


@pytest.fixture()
def hostile_project(tmp_path: Path, listener: Listener) -> Path:
    """``make_hostile_project`` in ``tmp_path`` aimed at the ``listener`` fixture's port."""
    return make_hostile_project(tmp_path, listener.port)


@pytest.fixture()
def make_hostile(tmp_path: Path, listener: Listener) -> Callable[[str], Path]:
    """``make_hostile_project`` for a lineage backend ("gremlin-server" or "neptune")."""
    return lambda backend: make_hostile_project(tmp_path, listener.port, backend)


@pytest.fixture()
def snapshot() -> Callable[..., dict[str, tuple[int, int]]]:
    return files_under


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin package (resources/examples/plugin) installed with pip into a
    private folder, as a user would install it; put the folder on PYTHONPATH / sys.path."""
    source = tmp_path_factory.mktemp("plugin-src") / "plugin"
    # A copy: building writes build/ and *.egg-info next to the sources.
    shutil.copytree(
        ROOT / "resources" / "examples" / "plugin",
        source,
        ignore=shutil.ignore_patterns(".twinflow", "__pycache__", "build", "*.egg-info"),
    )
    site = tmp_path_factory.mktemp("plugin-site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q",
         "--no-deps", "--no-build-isolation", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list(site.glob("twinflow_example_plugin-*.dist-info/entry_points.txt"))
    return site
