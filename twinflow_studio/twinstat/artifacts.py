"""Model artifacts: written by a node into its run-store folder, loaded back only after
checking the content hash the run store recorded for them.

Model files are pickles (joblib), so they are never read from a ``.twin`` or any other
place than the run store that wrote them, and a hash mismatch refuses to load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

from twinflow_studio.project.hashing import hash_file
from twinflow_studio.twinstat.errors import TwinStatError

MODEL_FORMAT = "twinflow-twinstat-model/1"


def save_model(payload: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"format": MODEL_FORMAT, **payload}, path)
    return path


def load_model(path: Path, expected_sha256: str | None, field: str = "model") -> dict[str, Any]:
    """Load a model written by :func:`save_model` after verifying its recorded hash."""
    path = Path(path)
    if not path.is_file():
        raise TwinStatError(f"model artifact {path} is missing", field=field)
    if not expected_sha256:
        raise TwinStatError(
            "refusing to load a model artifact without a recorded sha256", field=field
        )
    expected = expected_sha256.removeprefix("sha256:").lower()
    actual = hash_file(path)
    if actual != expected:
        raise TwinStatError(
            f"model artifact {path.name} changed since it was written "
            f"(recorded sha256 {expected[:12]}…, file has {actual[:12]}…); not loading it",
            field=field,
        )
    payload = joblib.load(path)
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise TwinStatError(f"{path.name} is not a TwinStat model artifact", field=field)
    return payload
