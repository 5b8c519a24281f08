"""Building TaskContexts for the TwinStat executors the way the engine hands them over."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from twinflow_studio.engine.task import InputArtifact, TaskContext
from twinflow_studio.project.hashing import canonical_json

COOLING_TRUTH = {"k": 0.35, "t_env": 20.0, "t0": 90.0}


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def artifact(port: str, type_: str, path: Path, producer: str = "inprocess") -> InputArtifact:
    """Staged as the engine stages an in-process executor's output (``producer``)."""
    return InputArtifact(
        port=port, type=type_, path=Path(path), sha256=sha256(path), producer=producer
    )


def json_artifact(tmp: Path, port: str, value: Any) -> InputArtifact:
    # Stored as the engine's run store does: canonical JSON with sorted keys.
    path = tmp / f"{port}.json"
    path.write_text(canonical_json(value))
    return artifact(port, "json", path)


def make_ctx(
    tmp: Path,
    node_kind: str,
    params: dict[str, Any],
    inputs: dict[str, InputArtifact] | None = None,
    node_id: str = "node1",
    previous: dict[str, InputArtifact] | None = None,
    attempt_dir: str = "out",
) -> TaskContext:
    out = tmp / attempt_dir
    out.mkdir(parents=True, exist_ok=True)
    logs: list[str] = []
    ctx = TaskContext(
        run_id="run-test",
        node_id=node_id,
        node_kind=node_kind,
        params=params,
        inputs=inputs or {},
        output_ports={},
        output_dir=out,
        project_dir=tmp,
        log=logs.append,
        previous_outputs=previous or {},
    )
    ctx.logs = logs  # type: ignore[attr-defined]
    return ctx


def output_artifact(port: str, type_: str, value: Any, tmp: Path) -> InputArtifact:
    """An executor's output as the engine would stage it for a later task."""
    if isinstance(value, Path):
        return artifact(port, type_, value)
    return json_artifact(tmp, port, value)


def cooling_k(theta, t):
    """Newton cooling from 85 toward 20 degrees with only the rate k unknown (theta = (k,))."""
    import numpy as np

    k = np.asarray(theta, dtype=float)[..., 0, None]
    return 20.0 + 65.0 * np.exp(-k * np.asarray(t, dtype=float))


# Parameter-array shapes each call of recording_cooling saw (a test clears it first).
THETA_SHAPES: list[tuple[int, ...]] = []


def recording_cooling(theta: Any, t: Any) -> Any:
    """Newton cooling that records the shape of each ``theta`` it is called with (it says
    nothing about vectorization, so the calibration node probes it)."""
    from twinflow_studio.twinstat.models import newton_cooling

    THETA_SHAPES.append(tuple(getattr(theta, "shape", ())))
    return newton_cooling(theta, t)
