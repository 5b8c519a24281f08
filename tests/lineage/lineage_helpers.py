"""Helpers of the lineage suite (events of small runs, backend configs, graph components)."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from twinflow_studio.engine.events import (
    ArtifactRef,
    NodeStateChanged,
    RunFinished,
    RunStarted,
    TaskRecord,
)
from twinflow_studio.lineage import LineageStore

BACKENDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("gremlin-server", id="gremlin_server", marks=pytest.mark.gremlin_server),
]


def gremlin_url() -> str:
    url = os.environ.get("TWINFLOW_GREMLIN_URL")
    if url:
        return url
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("TWINFLOW_GREMLIN_URL is not set in CI: run scripts/services/gremlin-server.sh")
    pytest.skip("Gremlin Server not configured (set TWINFLOW_GREMLIN_URL)")


def backend_config(backend: str) -> dict[str, Any]:
    if backend == "embedded":
        return {"backend": "embedded"}
    return {"backend": "gremlin-server", "url": gremlin_url(), "timeout": 10}


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha(text: str | None = None) -> str:
    return hashlib.sha256((text or uuid.uuid4().hex).encode()).hexdigest()


class RunScript:
    """Emits the events of small runs of a two-node project (load -> fit) to a subscriber."""

    def __init__(self, project: str | None = None) -> None:
        self.project = project or f"proj-{uuid.uuid4().hex[:10]}"
        self.raw = ArtifactRef("data", "table", "file:///data/raw.csv", sha(), 100)
        self.image = f"sha256:{sha()}"

    def run(
        self,
        subscriber: Callable[[Any], None],
        *,
        table_sha: str | None = None,
        model_sha: str | None = None,
        trigger: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        version: str = "v1",
        fit_status: str = "succeeded",
    ) -> dict[str, Any]:
        run_id = uuid.uuid4().hex
        now = time.time()
        table = ArtifactRef(
            "table", "table", f"file:///runs/{run_id}/table", table_sha or sha(), 50
        )
        model = ArtifactRef(
            "model", "model", f"file:///runs/{run_id}/model", model_sha or sha(), 20
        )
        events = [
            RunStarted(
                run_id, self.project, version, "/projects/x.twin", ("load", "fit"), now, trigger
            ),
            NodeStateChanged(run_id, "load", "running", 1, now),
            NodeStateChanged(
                run_id,
                "load",
                "succeeded",
                1,
                now + 1,
                record=TaskRecord(
                    "load",
                    "python",
                    "local",
                    "inprocess",
                    "small",
                    sha("ck-load"),
                    sha(f"{self.project}-code-load"),
                    1,
                    "succeeded",
                    now,
                    now + 1,
                    0,
                    None,
                    (self.raw,),
                    (table,),
                ),
            ),
            NodeStateChanged(
                run_id,
                "fit",
                fit_status,
                1,
                now + 2,
                record=TaskRecord(
                    "fit",
                    "sklearn",
                    "docker",
                    "docker",
                    "medium",
                    sha("ck-fit"),
                    self.image,
                    1,
                    fit_status,
                    now + 1,
                    now + 2,
                    0,
                    None,
                    (table,),
                    (model,) if fit_status == "succeeded" else (),
                    metrics=metrics or {"r2": 0.91},
                    params=params or {"alpha": 0.5},
                ),
            ),
            RunFinished(
                run_id,
                "succeeded" if fit_status == "succeeded" else "failed",
                now + 3,
                {"succeeded": 2},
            ),
        ]
        for event in events:
            subscriber(event)
        return {"run_id": run_id, "table": table, "model": model, "events": events}


def component(store: LineageStore, uid: str) -> tuple[set[str], set[str]]:
    """Ids of the vertices and edges connected to ``uid`` (a test's own data on a shared graph)."""
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import P

    g = store.queries.g
    vertices = set(
        g.V(uid)
        .aggregate("seen")
        .repeat(__.both().where(P.without("seen")).dedup().aggregate("seen"))
        .emit()
        .id_()
        .to_list()
    ) | {uid}
    edges: set[str] = set()
    ids = sorted(vertices)
    for start in range(0, len(ids), 200):
        edges |= set(g.V(*ids[start : start + 200]).both_e().id_().to_list())
    return {str(v) for v in vertices}, {str(e) for e in edges}
