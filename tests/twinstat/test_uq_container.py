"""Propagation and sensitivity of a simulation that runs in a container on real Docker:
a samples node writes every parameter vector into one table, the container runs once for
all of them, and the propagate / sensitivity node summarizes what it wrote (plan +
evaluations). Known answers: closed forms, and the callable path with the same seed."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fmu_helpers import cooling_exact, cooling_fmu, fmu_project
from scipy import stats
from uq_container_helpers import ISHIGAMI_SCRIPT, LINEAR_SCRIPT, XS, engine_run, json_output

from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import Node, Port, Project, save, validate

pytestmark = pytest.mark.docker

MEAN = np.array([1.0, 2.0])
COV = np.array([[0.04, -0.01], [-0.01, 0.09]])
POSTERIOR_MODULE = """
import numpy as np
from twinflow_studio.twinstat.posterior import Posterior

def gaussian(ctx, n=20000):
    mean = np.array([1.0, 2.0])
    cov = np.array([[0.04, -0.01], [-0.01, 0.09]])
    samples = np.random.default_rng(0).multivariate_normal(mean, cov, n)
    post = Posterior(["a", "b"], samples, np.zeros(n), samples[:, None, :])
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    return post.save(ctx.output_dir / "post.npz")
"""

K_POSTERIOR_MODULE = """
import numpy as np
from twinflow_studio.twinstat.posterior import Posterior

def gaussian_k(ctx, n=4000):
    samples = np.random.default_rng(5).normal(0.5, 0.05, (n, 1))
    post = Posterior(["k"], samples, np.zeros(n), samples[:, None, :])
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    return post.save(ctx.output_dir / "post.npz")
"""


def posterior_samples() -> np.ndarray:
    return np.random.default_rng(0).multivariate_normal(MEAN, COV, 20000)


def simulation(node_id: str, image: str, script: str, **extra) -> Node:
    return Node(
        node_id,
        "container",
        params={
            "image": image,
            "command": ["python3", "-c", script, "{inputs.samples}", "{outputs.evaluations}"],
            **extra,
        },
        inputs=[Port("samples", "dataframe")],
        outputs=[Port("evaluations", "dataframe")],
    )


def propagation_chain(project: Project, suffix: str, image: str, script: str, **samples) -> None:
    """post -> samples{suffix} -> sim{suffix} (container) -> bands{suffix}."""
    project.add_node(Node(f"samples{suffix}", "propagate_samples", params=samples))
    project.add_node(simulation(f"sim{suffix}", image, script))
    project.add_node(Node(f"bands{suffix}", "propagate", params={"x_columns": ["x"]}))
    project.connect("post", "posterior", f"samples{suffix}", "posterior")
    project.connect(f"samples{suffix}", "samples", f"sim{suffix}", "samples")
    project.connect(f"samples{suffix}", "plan", f"bands{suffix}", "plan")
    project.connect(f"sim{suffix}", "evaluations", f"bands{suffix}", "evaluations")


def linear_project(folder: Path) -> Project:
    (folder / "make_post.py").write_text(POSTERIOR_MODULE)
    project = Project("uq-container")
    project.add_node(
        Node(
            "post",
            "python",
            params={"callable": "make_post:gaussian"},
            outputs=[Port("posterior", "posterior")],
        )
    )
    return project


def bands_of(result, node_id: str) -> pd.DataFrame:
    return pd.read_csv(artifact_path(result.output(node_id, "bands")))


def test_monte_carlo_through_a_container_matches_the_closed_form_over_seeded_repeats(
    tmp_path: Path, base_image: str
) -> None:
    project = linear_project(tmp_path)
    seeds = (1, 2, 3)
    n = 2000
    for seed in seeds:
        propagation_chain(project, str(seed), base_image, LINEAR_SCRIPT, n_draws=n, seed=seed)
    assert validate(project) == []
    result = engine_run(project, tmp_path)
    assert result.ok, {k: v.error for k, v in result.nodes.items() if v.error}
    samples = posterior_samples()
    mean_ab, cov_ab = samples.mean(axis=0), np.cov(samples, rowvar=False, ddof=0)
    x = np.array(XS)
    mean = mean_ab[0] + mean_ab[1] * x
    sd = np.sqrt(cov_ab[0, 0] + 2 * x * cov_ab[0, 1] + x * x * cov_ab[1, 1])
    for seed in seeds:
        bands = bands_of(result, f"bands{seed}")
        assert list(bands["x"]) == XS and set(bands["output"]) == {"y"}
        # Monte Carlo error bounds of n draws: 4 standard errors of the mean and of the sd.
        assert np.all(np.abs(bands["mean"] - mean) <= 4 * sd / math.sqrt(n)), (seed, bands)
        assert np.all(np.abs(bands["sd"] / sd - 1) <= 4 / math.sqrt(2 * n)), (seed, bands)
        q95 = mean + stats.norm.ppf(0.95) * sd
        assert np.all(np.abs(bands["q95"] - q95) <= 0.15 * sd)
        summary = json_output(result, f"bands{seed}", "summary")
        assert summary["method"] == "monte_carlo" and summary["model_evaluations"] == n
    # One container run per plan, never one per sample.
    for seed in seeds:
        log = tmp_path / ".twinflow" / "runs" / result.run_id / f"sim{seed}" / "log.txt"
        assert log.read_text().count("simulated") == 1


def test_pce_through_a_container_is_exact_for_a_linear_model_and_equals_the_callable_path(
    tmp_path: Path, base_image: str
) -> None:
    project = linear_project(tmp_path)
    settings = {"method": "pce", "pce_order": 1, "mc_check_draws": 300, "seed": 4}
    propagation_chain(project, "", base_image, LINEAR_SCRIPT, **settings)
    pd.DataFrame({"x": XS}).to_csv(tmp_path / "x.csv", index=False)
    project.add_node(Node("xs", "datasource", params={"path": "x.csv"}))
    project.add_node(
        Node(
            "direct",
            "propagate",
            params={
                "callable": "twinflow_studio.twinstat.models:linear",
                "x_columns": ["x"],
                **settings,
            },
        )
    )
    project.connect("post", "posterior", "direct", "posterior")
    project.connect("xs", "data", "direct", "data")
    result = engine_run(project, tmp_path)
    assert result.ok, {k: v.error for k, v in result.nodes.items() if v.error}
    samples = posterior_samples()
    x = np.array(XS)
    mean_ab, cov_ab = samples.mean(axis=0), np.cov(samples, rowvar=False)
    bands = bands_of(result, "bands")
    np.testing.assert_allclose(bands["mean"], mean_ab[0] + mean_ab[1] * x, rtol=0, atol=1e-9)
    variance = cov_ab[0, 0] + 2 * x * cov_ab[0, 1] + x * x * cov_ab[1, 1]
    np.testing.assert_allclose(bands["sd"], np.sqrt(variance), rtol=1e-9)
    direct = bands_of(result, "direct")
    for col in ("mean", "sd", "q05", "q50", "q95"):
        np.testing.assert_allclose(bands[col], direct[col], rtol=1e-9, atol=1e-12)
    summary = json_output(result, "bands", "summary")
    direct_summary = json_output(result, "direct", "summary")
    assert summary["model_evaluations"] == direct_summary["model_evaluations"] == 2 * 3 + 300
    assert summary["error_vs_monte_carlo"]["max_quantile_error_in_sd"] == pytest.approx(
        direct_summary["error_vs_monte_carlo"]["max_quantile_error_in_sd"], rel=1e-9
    )


def test_sobol_indices_of_ishigami_in_a_container_match_the_analytic_values(
    tmp_path: Path, base_image: str
) -> None:
    a, b = 7.0, 0.1
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    truth = {"S1": np.array([v1, v2, 0.0]) / var, "ST": np.array([v1 + v13, v2, v13]) / var}
    priors = [
        {"name": f"x{i}", "dist": "uniform", "low": -math.pi, "high": math.pi} for i in (1, 2, 3)
    ]
    project = Project("sobol-container")
    project.add_node(
        Node("points", "sensitivity_samples", params={"priors": priors, "n_base": 4096, "seed": 1})
    )
    project.add_node(simulation("sim", base_image, ISHIGAMI_SCRIPT))
    project.add_node(Node("sobol", "sensitivity", params={"select_top_k": 2}))
    project.connect("points", "samples", "sim", "samples")
    project.connect("points", "plan", "sobol", "plan")
    project.connect("sim", "evaluations", "sobol", "evaluations")
    direct = {"callable": "twinflow_studio.twinstat.models:ishigami", "priors": priors}
    project.add_node(Node("direct", "sensitivity", params={**direct, "n_base": 4096, "seed": 1}))
    assert validate(project) == []
    result = engine_run(project, tmp_path)
    assert result.ok, {k: v.error for k, v in result.nodes.items() if v.error}
    ind = json_output(result, "sobol", "indices")
    for key, expected in truth.items():
        got, conf = np.array(ind[key]), np.array(ind[f"{key}_conf"])
        assert np.all(np.abs(got - expected) <= conf), (key, got, expected, conf)
    assert ind["ranking"] == ["x1", "x2", "x3"] and ind["selected"] == ["x1", "x2"]
    assert ind["evaluations"] == 4096 * 5
    same = json_output(result, "direct", "indices")
    for key in ("S1", "ST", "S1_conf", "ST_conf"):
        np.testing.assert_allclose(ind[key], same[key], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("script", "node", "fragments"),
    [
        (
            "import sys; sys.exit('the solver diverged')",
            "sim",
            ["container exited with code 1"],
        ),
        (
            "import sys; open(sys.argv[2], 'w').write('not, a\\ntable')",
            "bands",
            [
                "node 'bands'",
                "field 'evaluations'",
                "output 'evaluations' of node 'sim'",
                "has no column 'sample'",
            ],
        ),
        (
            "import sys; open(sys.argv[2], 'w').write('sample,x,y\\n0,1,2\\n')",
            "bands",
            ["output 'evaluations' of node 'sim'", "no output for sample(s) 1, 2, 3, 4, 5, ..."],
        ),
        (
            "import sys; open(sys.argv[2], 'wb').write(b'PAR1\\x00garbage')",
            "bands",
            ["output 'evaluations' of node 'sim'", "cannot read", "as CSV or Parquet"],
        ),
        ("pass", "sim", ["did not produce required output(s) evaluations"]),
    ],
    ids=["exit-code", "malformed", "missing-samples", "bad-parquet", "no-output"],
)
def test_a_failing_or_malformed_simulation_is_named_headless_without_a_traceback(
    tmp_path: Path, base_image: str, script: str, node: str, fragments: list[str]
) -> None:
    project = linear_project(tmp_path)
    propagation_chain(project, "", base_image, script, n_draws=50)
    save(project, tmp_path / "uq.twin")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twinflow_studio",
            "--run",
            str(tmp_path / "uq.twin"),
            "--no-lineage",
            "--trust",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert f"node {node!r} failed" in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, (fragment, done.stderr)
    assert "Traceback" not in done.stderr


def test_propagation_through_an_fmu_in_its_image_uses_the_design_and_set_column(
    tmp_path: Path, fmpy_image: str
) -> None:
    cooling_fmu(tmp_path / "cooling.fmu")
    (tmp_path / "make_k.py").write_text(K_POSTERIOR_MODULE)
    project = fmu_project(
        "cooling.fmu", {"stop_time": 3.0, "output_interval": 0.5, "image": fmpy_image}
    )
    project.nodes["sim"].target = "docker"
    project.add_node(
        Node(
            "post",
            "python",
            params={"callable": "make_k:gaussian_k"},
            outputs=[Port("posterior", "posterior")],
        )
    )
    project.add_node(Node("draws", "propagate_samples", params={"n_draws": 200, "seed": 2}))
    project.add_node(
        Node(
            "bands",
            "propagate",
            params={"sample_column": "set", "x_columns": ["time"], "output_columns": ["T"]},
        )
    )
    project.connect("post", "posterior", "draws", "posterior")
    project.connect("draws", "design", "sim", "design")
    project.connect("draws", "plan", "bands", "plan")
    project.connect("sim", "results", "bands", "evaluations")
    assert validate(project) == []
    result = engine_run(project, tmp_path)
    assert result.ok, {k: v.error for k, v in result.nodes.items() if v.error}
    k = pd.read_csv(artifact_path(result.output("draws", "samples")))["k"].to_numpy()
    bands = bands_of(result, "bands")
    t = bands["time"].to_numpy()
    np.testing.assert_allclose(t, np.arange(0, 3.01, 0.5))
    exact = cooling_exact(t[None, :], k[:, None])  # (draws, times)
    np.testing.assert_allclose(bands["mean"], exact.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(bands["sd"], exact.std(axis=0, ddof=1), atol=1e-6)
    np.testing.assert_allclose(bands["q95"], np.quantile(exact, 0.95, axis=0), atol=1e-6)
    assert json_output(result, "sim", "summary")["n_simulations"] == 200
