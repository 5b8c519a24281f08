"""The three lineage backends behind gremlinpython's ``RemoteConnection``.

- ``embedded`` (default): graphersal on disk at ``<project dir>/.twinflow/lineage/graph``.
- ``gremlin-server``: Apache TinkerPop Gremlin Server (``ws://...``), e.g. TinkerGraph.
- ``neptune``: Amazon Neptune over ``wss://`` with IAM SigV4 headers signed from boto3's
  credentials (re-signed for every new connection: a signature is only valid for minutes).

The lineage code builds traversals with ``traversal().with_(conn)`` and runs unchanged on
all three; only the connection differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from gremlin_python.driver.remote_connection import RemoteConnection

from twinflow_studio.project.errors import TwinFlowError
from twinflow_studio.project.lineage_settings import LINEAGE_OFF

BACKENDS = ("embedded", "gremlin-server", "neptune")
DEFAULT_SERVER_URL = "ws://127.0.0.1:18182/gremlin"


class LineageConfigError(TwinFlowError, ValueError):
    """``settings.lineage`` is malformed; the message names the key and what is expected."""


@dataclass(frozen=True)
class BackendConfig:
    backend: str
    url: str | None
    path: Path
    region: str | None
    traversal_source: str
    batch_ops: int
    timeout: float

    @staticmethod
    def from_settings(project_dir: Path, settings: Mapping[str, Any] | None) -> BackendConfig:
        settings = dict(settings or {})
        where = "settings.lineage"
        known = {"backend", "url", "path", "region", "traversal_source", "batch_ops", "timeout"}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise LineageConfigError(
                f"{where}: unknown key(s) {unknown}; expected some of {sorted(known)}"
            )
        backend = settings.get("backend", "embedded")
        if backend not in BACKENDS:
            raise LineageConfigError(
                f"{where}.backend: unknown backend {backend!r}; expected one of {BACKENDS}, "
                f"or {LINEAGE_OFF!r} to record no lineage"
            )
        url = settings.get("url")
        if backend == "gremlin-server":
            url = url or DEFAULT_SERVER_URL
            if urlparse(url).scheme not in ("ws", "wss"):
                raise LineageConfigError(f"{where}.url: {url!r} is not a ws:// or wss:// URL")
        if backend == "neptune":
            if not url or urlparse(url).scheme != "wss":
                raise LineageConfigError(
                    f"{where}.url: Neptune needs a wss:// URL such as "
                    f"'wss://my-cluster.cluster-xyz.us-east-1.neptune.amazonaws.com:8182/gremlin',"
                    f" got {url!r}"
                )
            if not settings.get("region"):
                raise LineageConfigError(f"{where}.region: Neptune needs the AWS region")
        raw_path = settings.get("path")
        path = Path(raw_path) if raw_path else project_dir / ".twinflow" / "lineage"
        if not path.is_absolute():
            path = project_dir / path
        batch_ops = settings.get("batch_ops", 10000 if backend == "embedded" else 200)
        if not isinstance(batch_ops, int) or isinstance(batch_ops, bool) or batch_ops < 1:
            raise LineageConfigError(
                f"{where}.batch_ops: expected a positive integer, got {batch_ops!r}"
            )
        timeout = settings.get("timeout", 30.0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise LineageConfigError(f"{where}.timeout: expected seconds > 0, got {timeout!r}")
        return BackendConfig(
            backend=backend,
            url=url,
            path=path,
            region=settings.get("region"),
            traversal_source=settings.get("traversal_source", "g"),
            batch_ops=batch_ops,
            timeout=float(timeout),
        )


def neptune_sigv4_headers(url: str, region: str, credentials: Any = None) -> dict[str, str]:
    """The SigV4 headers for the WebSocket handshake (an HTTP GET) to Neptune at ``url``.

    ``credentials`` defaults to boto3's credential chain (env, profile, instance role...).
    """
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    if credentials is None:
        found = boto3.Session().get_credentials()
        if found is None:
            raise LineageConfigError(
                "neptune: boto3 found no AWS credentials (env, profile or instance role)"
            )
        credentials = found.get_frozen_credentials()
    parsed = urlparse(url)
    scheme = "https" if parsed.scheme == "wss" else "http"
    request = AWSRequest(method="GET", url=f"{scheme}://{parsed.netloc}{parsed.path or '/'}")
    request.headers["host"] = parsed.netloc
    SigV4Auth(credentials, "neptune-db", region).add_auth(request)
    return {key: value for key, value in request.headers.items()}


def connection_factory(config: BackendConfig) -> Callable[[], RemoteConnection]:
    """A callable opening a new connection to the configured backend (cheap to call again after
    a failure: remote connections are re-created, and for Neptune re-signed, each time)."""
    if config.backend == "embedded":

        def embedded() -> RemoteConnection:
            from twinflow_studio.lineage.embedded import GraphersalConnection

            return GraphersalConnection(config.path / "graph")

        return embedded

    def remote() -> RemoteConnection:
        from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection

        assert config.url is not None
        headers = None
        if config.backend == "neptune":
            assert config.region is not None
            headers = neptune_sigv4_headers(config.url, config.region)
        return DriverRemoteConnection(
            config.url,
            config.traversal_source,
            headers=headers,
            read_timeout=config.timeout,
            write_timeout=config.timeout,
        )

    return remote
