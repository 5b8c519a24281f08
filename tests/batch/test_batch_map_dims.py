"""A map over several inputs on Batch: one array job, each child one combination."""

from __future__ import annotations

import pytest
from batch_helpers import container, project, run, value

from twinflow_studio.project import Node, Port

pytestmark = [pytest.mark.moto, pytest.mark.docker]

NODES_MODULE = """
def xs():
    return [1, 2]


def ys():
    return [10, 20, 30]
"""


@pytest.mark.parametrize(
    ("mode", "expected", "size"),
    [("product", [11, 21, 31, 12, 22, 32], 6), ("zip", None, None)],
)
def test_a_two_dimensional_map_is_one_array_job(
    tmp_path, moto_batch, image, fixtures_on_path, mode, expected, size
) -> None:
    (fixtures_on_path / "grid_nodes.py").write_text(NODES_MODULE)
    p = project(f"grid-{mode}", moto_batch)
    for name in ("xs", "ys"):
        p.add_node(
            Node(
                name,
                "python",
                params={"callable": f"grid_nodes:{name}"},
                outputs=[Port("out", "json")],
            )
        )
    node = container(
        "add",
        image,
        "import json; a = json.load(open('/twinflow/inputs/a'));"
        "b = json.load(open('/twinflow/inputs/b'));"
        "json.dump(a + b, open('/twinflow/outputs/sum', 'w'))",
        inputs=(("a", "json"), ("b", "json")),
        outputs=(("sum", "json"),),
    )
    node.map_over, node.map_mode = "a,b", mode
    p.add_node(node)
    p.connect("xs", "out", "add", "a")
    p.connect("ys", "out", "add", "b")
    result = run(p, tmp_path)
    if mode == "zip":  # 2 and 3 items: refused before any job is submitted
        assert result.status == "failed"
        assert "a has 2, b has 3" in str(result.nodes["add"].error)
        assert "batch_job_id" not in result.nodes["add"].metrics
        return
    assert result.ok, result.summary
    assert value(result, "add", "sum") == expected
    job = moto_batch.describe(result.nodes["add"].metrics["batch_job_id"])
    assert job["arrayProperties"]["size"] == size
    log = (result.run_dir / "add" / "log.txt").read_text()
    assert log.count("submitted") == 1
