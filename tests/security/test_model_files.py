"""Model files crossing the trust boundary are never unpickled.

A real container writes a model file to a ``model`` output; ``sklearn_predict`` downstream
must refuse a pickle or joblib file (whose ``__reduce__`` would create a marker file on the
host) before reading it, refuse a skops file holding a type outside the allow-list, and
accept a legitimate skops model. The base image has no scikit-learn: the files are made here
on the host and the container writes their bytes.
"""

from __future__ import annotations

import asyncio
import base64
import io
import pickle
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.preprocessing import FunctionTransformer

from twinflow_studio.engine import Engine, RunResult
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import Node, Port, Project
from twinflow_studio.twinstat.artifacts import MODEL_FORMAT


class _CreatesMarker:
    """Unpickling this calls ``open(marker, "w")``: the file appears if anyone unpickles it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def _pickle_bytes(marker: Path) -> bytes:
    return pickle.dumps(_CreatesMarker(marker))


def _joblib_bytes(marker: Path) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(_CreatesMarker(marker), buffer, compress=3)
    return buffer.getvalue()


def _table(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.uniform(0, 1, n), "x2": rng.uniform(0, 1, n)})
    frame["y"] = 2.0 * frame["x1"] - 3.0 * frame["x2"] + 0.5
    return frame


def _project(folder: Path, image: str, model_bytes: bytes) -> Project:
    """A container writes ``model_bytes`` to its ``model`` output; a predict node uses it."""
    _table().to_csv(folder / "data.csv", index=False)
    encoded = base64.b64encode(model_bytes).decode("ascii")
    script = textwrap.dedent(
        f"""
        import base64
        with open('/twinflow/outputs/model', 'wb') as out:
            out.write(base64.b64decode('{encoded}'))
        """
    )
    p = Project("model-files")
    p.add_node(
        Node(
            "maker",
            "container",
            params={"image": image, "command": ["python3", "-c", script]},
            outputs=[Port("model", "model")],
        )
    )
    p.add_node(Node("data", "datasource", params={"path": "data.csv"}))
    p.add_node(Node("predict", "sklearn_predict", params={"column": "y_hat"}))
    p.connect("maker", "model", "predict", "model")
    p.connect("data", "data", "predict", "data")
    return p


def _run(project: Project, folder: Path) -> RunResult:
    return asyncio.run(Engine().run(project, project_dir=folder))


def test_the_payloads_are_real(tmp_path: Path) -> None:
    """The malicious files do run code when unpickled: the refusals below are meaningful."""
    for name, make, load in (
        ("pickle", _pickle_bytes, pickle.loads),
        ("joblib", _joblib_bytes, lambda data: joblib.load(io.BytesIO(data))),
    ):
        marker = tmp_path / f"proof-{name}"
        load(make(marker)).close()
        assert marker.exists(), name


@pytest.mark.parametrize("make", [_pickle_bytes, _joblib_bytes], ids=["pickle", "joblib"])
def test_a_pickle_from_a_container_is_never_loaded(tmp_path: Path, base_image: str, make) -> None:
    marker = tmp_path / "outside" / "MARKER"
    marker.parent.mkdir()
    folder = tmp_path / "project"
    folder.mkdir()
    result = _run(_project(folder, base_image, make(marker)), folder)
    assert result.status == "failed"
    assert result.nodes["maker"].state == "succeeded"
    predict = result.nodes["predict"]
    assert predict.state == "failed"
    error = predict.error or ""
    assert "node 'predict', field 'model'" in error
    assert "from a container (docker target) is not a skops file" in error
    assert "never unpickles" in error
    assert "skops.io.dump(model, '/twinflow/outputs/<port>')" in error
    assert not marker.exists()
    assert list(marker.parent.iterdir()) == []
    assert "predictions" not in predict.outputs


def test_a_skops_model_with_an_untrusted_type_is_refused(tmp_path: Path, base_image: str) -> None:
    # A FunctionTransformer holding os.system: skops stores the function as a type to import.
    import os

    payload = {
        "format": MODEL_FORMAT,
        "kind": "sklearn",
        "estimator": FunctionTransformer(func=os.system),
        "features": ["x1", "x2"],
    }
    folder = tmp_path / "project"
    folder.mkdir()
    result = _run(_project(folder, base_image, skops.io.dumps(payload)), folder)
    assert result.status == "failed"
    error = result.nodes["predict"].error or ""
    assert "node 'predict', field 'model'" in error
    assert "outside TwinStat's allow-list: posix.system" in error


@pytest.mark.parametrize("shape", ["estimator", "payload"])
def test_a_legit_skops_model_from_a_container_predicts(
    tmp_path: Path, base_image: str, shape: str
) -> None:
    train = _table(seed=1)
    if shape == "estimator":
        # A bare estimator fitted on a DataFrame: its feature names travel with it.
        model: Any = Ridge(alpha=1e-3).fit(train[["x1", "x2"]], train["y"])
        content = model
    else:
        # The TwinStat payload, with a forest: its trees are an allow-listed helper type.
        model = RandomForestRegressor(n_estimators=5, random_state=0)
        model.fit(train[["x1", "x2"]].to_numpy(), train["y"])
        content = {
            "format": MODEL_FORMAT,
            "kind": "sklearn",
            "estimator": model,
            "features": ["x1", "x2"],
        }
    folder = tmp_path / "project"
    folder.mkdir()
    # Compressed: a command-line argument holds at most 128 KiB.
    data = skops.io.dumps(content, compression=zipfile.ZIP_DEFLATED)
    result = _run(_project(folder, base_image, data), folder)
    assert result.ok, result.summary["failed"]
    frame = pd.read_csv(artifact_path(result.output("predict", "predictions")))
    features = frame[["x1", "x2"]]
    expected = model.predict(features if shape == "estimator" else features.to_numpy())
    # The prediction went through the skops file the container wrote, not this object.
    np.testing.assert_allclose(frame["y_hat"], expected)
    assert result.output("maker", "model").producer == "docker"


def test_models_our_own_executors_write_are_skops_and_load(tmp_path: Path) -> None:
    _table().to_csv(tmp_path / "data.csv", index=False)
    p = Project("own-models")
    p.add_node(Node("data", "datasource", params={"path": "data.csv"}))
    p.add_node(
        Node(
            "train",
            "sklearn_train",
            params={
                "estimator": "sklearn.ensemble:HistGradientBoostingRegressor",
                "estimator_params": {"max_iter": 50, "min_samples_leaf": 2},
                "features": ["x1", "x2"],
                "target": "y",
            },
        )
    )
    p.add_node(Node("predict", "sklearn_predict"))
    p.connect("data", "data", "train", "data")
    p.connect("train", "model", "predict", "model")
    p.connect("data", "data", "predict", "data")
    result = _run(p, tmp_path)
    assert result.ok, result.summary["failed"]
    model = result.output("train", "model")
    assert model.producer == "process"  # the default placement of TwinStat nodes
    path = artifact_path(model)
    assert path.suffix == ".skops"
    # Its predictor type is one skops (and our allow-list) refuses from a container; our own
    # executor wrote this file, so it loads.
    assert skops.io.get_untrusted_types(file=path)
    frame = pd.read_csv(artifact_path(result.output("predict", "predictions")))
    assert np.sqrt(np.mean((frame["prediction"] - frame["y"]) ** 2)) < 0.5
