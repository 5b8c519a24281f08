"""Fixtures of the lineage suite: the same tests run on every backend.

``embedded`` always runs. ``gremlin_server`` needs ``TWINFLOW_GREMLIN_URL`` (set by
scripts/services/gremlin-server.sh through scripts/test.sh); outside CI it is skipped when the
variable is unset, with ``CI=true`` it fails instead. The server's graph is shared, so tests
there only look at data under their own unique project name and ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lineage_helpers import BACKENDS, backend_config

from twinflow_studio.lineage import LineageStore, open_lineage


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_store(tmp_path: Path, backend: str) -> Iterator[Callable[..., LineageStore]]:
    stores: list[LineageStore] = []

    def make(config: dict[str, Any] | None = None, project_dir: Path | None = None) -> LineageStore:
        store = open_lineage(project_dir or tmp_path, config or backend_config(backend)).start()
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close(timeout=5)
