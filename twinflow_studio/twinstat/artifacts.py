"""Model artifacts: written by a node into its run-store folder, loaded back only after
checking the content hash the run store recorded for them.

Models are written as skops files (``skops.io``: a zip of JSON and numpy arrays, loaded without
``pickle``). Which files are loaded depends on who wrote them, as the run store recorded it:

- skops from our own local executors (in-process threads, local worker processes): loaded.
- skops from anywhere else (a container, a Batch job, a data source's file): loaded only when
  every type in it that skops does not trust by default is on :data:`ALLOWED_TYPES`, and only
  as a scikit-learn estimator or a TwinStat sklearn/surrogate payload (a hybrid payload names a
  Python callable to import, so it is accepted only from our own executors).
- pickle/joblib: loaded only when our own local executors wrote it in this run store
  (unpickling runs whatever code the file names). From anywhere else it is refused unread.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import joblib
import skops.io

from twinflow_studio.engine.task import LOCAL_PRODUCERS
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.model_types import ALLOWED_TYPES, describe_producer

MODEL_FORMAT = "twinflow-twinstat-model/1"
MODEL_SUFFIX = ".skops"

HOW_TO_EXPORT = (
    "export the model with skops instead: in the container, "
    "`import skops.io; skops.io.dump(model, '/twinflow/outputs/<port>')`, where model is a "
    "scikit-learn estimator fitted on a pandas DataFrame (so it knows its feature names), "
    "or a dict {'format': '" + MODEL_FORMAT + "', 'kind': 'sklearn', 'estimator': model, "
    "'features': [column names]}"
)


def save_model(payload: dict[str, Any], path: Path) -> Path:
    """Write ``payload`` as a skops file (``path`` gets the ``.skops`` suffix)."""
    path = Path(path).with_suffix(MODEL_SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    skops.io.dump({"format": MODEL_FORMAT, **payload}, path)
    return path


def load_model(
    path: Path,
    expected_sha256: str | None,
    field: str = "model",
    *,
    producer: str = "",
) -> dict[str, Any]:
    """Load a model artifact after verifying its recorded hash. ``producer`` is what the run
    store recorded as having written it (``InputArtifact.producer``); unknown is untrusted."""
    written_locally = producer in LOCAL_PRODUCERS
    data = _verified_bytes(Path(path), expected_sha256, field)
    name = Path(path).name
    if _is_skops(data):
        obj = _load_skops(data, name, field, producer, written_locally)
    elif written_locally:
        try:
            obj = joblib.load(io.BytesIO(data))
        except Exception as exc:  # whatever a corrupt pickle raises
            raise TwinStatError(f"cannot read model file {name}: {exc}", field=field) from None
    else:
        raise TwinStatError(
            f"model file {name} from {describe_producer(producer)} is not a skops file "
            "(a pickle or joblib file, or something else); TwinStat never unpickles a model "
            "it did not write itself, because unpickling runs whatever code the file names. "
            + HOW_TO_EXPORT,
            field=field,
        )
    if written_locally:
        if not isinstance(obj, dict) or obj.get("format") != MODEL_FORMAT:
            raise TwinStatError(f"{name} is not a TwinStat model artifact", field=field)
        return obj
    return _foreign_payload(obj, name, field, producer)


def _verified_bytes(path: Path, expected_sha256: str | None, field: str) -> bytes:
    """The file's bytes, read once: hashed and then parsed from memory, so the file cannot
    change between the check and the load."""
    if not path.is_file():
        raise TwinStatError(f"model artifact {path} is missing", field=field)
    if not expected_sha256:
        raise TwinStatError(
            "refusing to load a model artifact without a recorded sha256", field=field
        )
    data = path.read_bytes()
    expected = expected_sha256.removeprefix("sha256:").lower()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise TwinStatError(
            f"model artifact {path.name} changed since it was written "
            f"(recorded sha256 {expected[:12]}…, file has {actual[:12]}…); not loading it",
            field=field,
        )
    return data


def _is_skops(data: bytes) -> bool:
    if not data.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "schema.json" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _load_skops(data: bytes, name: str, field: str, producer: str, written_locally: bool) -> Any:
    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as exc:
        raise TwinStatError(f"cannot read skops model file {name}: {exc}", field=field) from None
    if written_locally:
        # Our own executor wrote these bytes in this run store (the hash was checked): every
        # type in it is one our code chose.
        trusted = list(untrusted)
    else:
        refused = sorted(set(untrusted) - ALLOWED_TYPES)
        if refused:
            raise TwinStatError(
                f"skops model file {name} from {describe_producer(producer)} holds type(s) "
                f"outside TwinStat's allow-list: {', '.join(refused)}. Only scikit-learn "
                "estimators, numpy data and the helper types listed in docs/twinstat.md are "
                "loaded from files a container, a Batch job or a data source produced",
                field=field,
            )
        trusted = sorted(ALLOWED_TYPES)
    try:
        return skops.io.loads(data, trusted=trusted)
    except Exception as exc:  # skops raises several types for malformed files
        raise TwinStatError(f"cannot load skops model file {name}: {exc}", field=field) from None


def _foreign_payload(obj: Any, name: str, field: str, producer: str) -> dict[str, Any]:
    """A payload from an untrusted producer, as data only: no import path in it is used."""
    from sklearn.base import BaseEstimator
    from sklearn.gaussian_process import GaussianProcessRegressor

    source = describe_producer(producer)
    if isinstance(obj, BaseEstimator):
        names = getattr(obj, "feature_names_in_", None)
        if names is None:
            raise TwinStatError(
                f"the estimator in {name} from {source} does not know its feature names; "
                "fit it on a pandas DataFrame, or save a dict with 'features' "
                "(see docs/twinstat.md)",
                field=field,
            )
        return {
            "format": MODEL_FORMAT,
            "kind": "sklearn",
            "estimator": obj,
            "features": [str(n) for n in names],
        }
    if not isinstance(obj, dict) or obj.get("format") != MODEL_FORMAT:
        raise TwinStatError(
            f"{name} from {source} is neither a scikit-learn estimator nor a TwinStat model "
            "payload; " + HOW_TO_EXPORT,
            field=field,
        )
    kind = obj.get("kind")
    if kind == "sklearn":
        features = obj.get("features")
        if not isinstance(obj.get("estimator"), BaseEstimator) or not _names(features):
            raise TwinStatError(
                f"{name} from {source}: a 'sklearn' payload needs an 'estimator' and "
                "'features' (a list of column names)",
                field=field,
            )
        return obj
    if kind == "surrogate":
        if not isinstance(obj.get("gp"), GaussianProcessRegressor) or not _names(obj.get("names")):
            raise TwinStatError(
                f"{name} from {source}: a 'surrogate' payload needs a 'gp' "
                "(GaussianProcessRegressor) and 'names'",
                field=field,
            )
        return obj
    raise TwinStatError(
        f"{name} from {source} is a {kind!r} payload; only 'sklearn' and 'surrogate' models "
        "are accepted from producers other than this studio's own executors (a 'hybrid' "
        "names a Python callable to import)",
        field=field,
    )


def _names(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
