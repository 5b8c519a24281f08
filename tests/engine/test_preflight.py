"""Pre-run checks around a project: data files, Python callables (found without importing
user code) and Docker images on the real local engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinflow_studio.engine.preflight import errors, preflight
from twinflow_studio.project import Node, Port, Project, TargetConfig


def _codes(problems) -> dict[str, tuple[str, str]]:
    return {p.path: (p.code, p.severity) for p in problems}


def test_missing_data_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    p = Project("files")
    p.add_node(Node("file", "datasource", params={"path": "data/a.csv"}))
    p.add_node(Node("folder", "datasource", params={"path": "data"}))
    p.add_node(Node("absolute", "datasource", params={"path": str(tmp_path / "data" / "a.csv")}))
    p.add_node(Node("gone", "datasource", params={"path": "data/b.csv"}))
    p.add_node(Node("remote", "datasource", params={"path": "s3://bucket/key.csv"}))
    problems = preflight(p, tmp_path)
    assert _codes(problems) == {"nodes.gone.params.path": ("missing_file", "error")}
    [problem] = problems
    assert problem.node_id == "gone"
    assert str(tmp_path / "data" / "b.csv") in problem.message


def test_callables_resolve_without_importing_user_code(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "pf_models.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "import json as codec\n"
        "def fit(x):\n    return x\n"
        "class Model:\n    pass\n"
        "try:\n    from fast import predict\nexcept ImportError:\n    predict = None\n"
    )
    (tmp_path / "pf_pkg").mkdir()
    (tmp_path / "pf_pkg" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (tmp_path / "pf_pkg" / "sub.py").write_text("def run(ctx):\n    pass\n")
    (tmp_path / "pf_broken.py").write_text("def run(ctx:\n")
    p = Project("code")
    good = ["pf_models:fit", "pf_models:Model", "pf_models:predict", "pf_models:codec"]
    good += ["pf_pkg.sub:run", "json:dumps", "os.path:join"]
    for i, path in enumerate(good):
        p.add_node(Node(f"ok{i}", "python", params={"callable": path}))
    bad = {
        "nofunc": ("pf_models:predict_all", "defines no 'predict_all'"),
        "nomod": ("pf_absent:run", "cannot find module 'pf_absent'"),
        "nosub": ("pf_pkg.absent:run", "cannot find module 'pf_pkg.absent' in its package"),
        "broken": ("pf_broken:run", "has a syntax error at line 1"),
    }
    for node_id, (path, _) in bad.items():
        p.add_node(Node(node_id, "python", params={"callable": path}))
    p.add_node(
        Node(
            "sim",
            "simulation",
            params={"callable": "pf_models:simulate"},
            inputs=[Port("data", "dataframe")],
        )
    )
    problems = preflight(p, tmp_path)
    found = {p.node_id: p.message for p in problems}
    assert set(found) == {*bad, "sim"}, found
    for node_id, (_, message) in bad.items():
        assert message in found[node_id]
    assert "defines no 'simulate'" in found["sim"]
    assert all(p.severity == "error" and p.code == "bad_callable" for p in problems)
    assert not marker.exists()  # neither the module nor the package's __init__ ran


def test_only_checks_the_nodes_a_partial_run_needs(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n")
    p = Project("only")
    p.add_node(Node("a", "datasource", params={"path": "a.csv"}))
    p.add_node(Node("b", "datasource", params={"path": "b.csv"}))
    assert preflight(p, tmp_path, only=["a"]) == []
    assert [x.node_id for x in preflight(p, tmp_path)] == ["b"]


def test_trigger_folders_are_warnings(tmp_path: Path) -> None:
    p = Project("watch")
    p.triggers.append({"id": "t", "kind": "new_data", "config": {"path": "incoming"}})
    problems = preflight(p, tmp_path)
    assert _codes(problems) == {"triggers[0].config.path": ("missing_folder", "warning")}
    assert errors(problems) == []
    assert str(problems[0]).startswith("warning: triggers[0].config.path")
    (tmp_path / "incoming").mkdir()
    assert preflight(p, tmp_path) == []


def _container(node_id: str, image: str) -> Node:
    return Node(
        node_id,
        "container",
        params={"image": image, "command": ["true"]},
        outputs=[Port("out", "file", required=False)],
    )


def test_docker_images_must_be_on_the_local_engine(
    tmp_path: Path, docker_client: object, base_image: str
) -> None:
    p = Project("images")
    p.add_node(_container("present", base_image))
    p.add_node(_container("absent", "twinflow/no-such-image:never"))
    p.add_node(_container("absent2", "twinflow/no-such-image:never"))
    problems = preflight(p, tmp_path)
    assert _codes(problems) == {
        "nodes.absent.params.image": ("missing_image", "error"),
        "nodes.absent2.params.image": ("missing_image", "error"),
    }
    assert "build or pull it first" in problems[0].message
    assert preflight(p, tmp_path, check_images=False) == []


def test_an_unreachable_docker_engine_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    p = Project("nodocker")
    p.add_node(_container("c", "anything:latest"))
    [problem] = preflight(p, tmp_path)
    assert (problem.code, problem.severity, problem.node_id) == (
        "docker_unreachable",
        "warning",
        "c",
    )
    assert "cannot reach the Docker engine" in problem.message


def test_an_endpoint_named_by_the_file_is_not_contacted(tmp_path: Path) -> None:
    """Validating stays inert: only a trusted run talks to a Docker endpoint the file names."""
    import socket

    sock_path = tmp_path / "listening.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(1)
    server.setblocking(False)
    try:
        p = Project("named")
        p.targets["docker"] = TargetConfig(
            "docker", "docker", options={"base_url": f"unix://{sock_path}"}
        )
        p.add_node(_container("c", "anything:latest"))
        assert preflight(p, tmp_path) == []
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected
    finally:
        server.close()
