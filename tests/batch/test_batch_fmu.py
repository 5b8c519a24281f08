"""The fmu node on AWS Batch (moto_server runs the job's container on real Docker): the
runner script and the FMU travel as staged inputs, the fmpy image simulates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from batch_helpers import project, run

from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import Node
from twinflow_studio.twinstat.fmu_build import Variable, build_fmu

pytestmark = [pytest.mark.moto, pytest.mark.docker]


def decay_fmu(path, rate_scale: float = 1.0):
    """x' = -a x, x(0) = 2: x(t) = 2 exp(-a t) (times rate_scale in the second version)."""
    return build_fmu(
        path,
        "decay",
        [
            Variable("a", "parameter", 1.0, "1/s"),
            Variable("x", "output", 2.0, "m"),
            Variable("der(x)", "local", unit="m/s", derivative_of="x"),
        ],
        f"    der_x = -{rate_scale!r} * a * x;",
    )


def test_fmu_node_on_batch_matches_the_closed_form_and_reruns_on_a_new_fmu(
    tmp_path, moto_batch, fmpy_image
):
    decay_fmu(tmp_path / "decay.fmu")
    p = project("fmu-batch", moto_batch)
    p.add_node(Node("model", "datasource", params={"path": "decay.fmu"}))
    p.add_node(
        Node(
            "sim",
            "fmu",
            params={
                "start_values": {"a": 0.8},
                "stop_time": 3.0,
                "output_interval": 0.25,
                "image": fmpy_image,
            },
            target="aws",
        )
    )
    p.connect("model", "data", "sim", "fmu")
    first = run(p, tmp_path)
    assert first.ok, first.nodes["sim"].error
    frame = pd.read_csv(artifact_path(first.output("sim", "results")))
    assert len(frame) == 13
    assert np.allclose(frame["x"], 2.0 * np.exp(-0.8 * frame["time"]), atol=1e-9)
    assert run(p, tmp_path).nodes["sim"].state == "cached"
    decay_fmu(tmp_path / "decay.fmu", rate_scale=2.0)
    second = run(p, tmp_path)
    assert second.nodes["sim"].state == "succeeded", second.nodes["sim"].error
    frame = pd.read_csv(artifact_path(second.output("sim", "results")))
    assert np.allclose(frame["x"], 2.0 * np.exp(-1.6 * frame["time"]), atol=1e-9)
