"""Map nodes over several list inputs: the product or the zip of the lists."""

from __future__ import annotations

from pathlib import Path

from helpers import py, run, value

from twinflow_studio.project import Project, twinfile
from twinflow_studio.project.validate import validate


def grid(mode: str, a: list, b: list) -> Project:
    p = Project(f"grid-{mode}")
    p.add_node(py("xs", "const", value=a))
    p.add_node(py("ys", "const", value=b))
    node = py("sum", "add", inputs=[("a", "json"), ("b", "json")])
    node.map_over = "a,b"
    node.map_mode = mode
    p.add_node(node)
    p.connect("xs", "out", "sum", "a")
    p.connect("ys", "out", "sum", "b")
    return p


def test_product_of_two_lists_in_row_major_order(tmp_path: Path) -> None:
    result = run(grid("product", [1, 2], [10, 20, 30]), tmp_path)
    assert result.ok, result.summary["failed"]
    assert value(result, "sum") == [11, 21, 31, 12, 22, 32]


def test_zip_of_two_lists_and_unequal_lengths_are_named(tmp_path: Path) -> None:
    result = run(grid("zip", [1, 2, 3], [10, 20, 30]), tmp_path)
    assert result.ok and value(result, "sum") == [11, 22, 33]
    bad = run(grid("zip", [1, 2], [10, 20, 30]), tmp_path / "bad")
    assert bad.status == "failed"
    assert "zipped map inputs differ in length: a has 2, b has 3" in str(bad.nodes["sum"].error)


def test_the_mode_round_trips_and_changes_the_cache_key(tmp_path: Path) -> None:
    project = grid("zip", [1, 2], [3, 4])
    again = twinfile.loads(twinfile.dumps(project))
    assert again.nodes["sum"].map_mode == "zip" and again.nodes["sum"].map_over == "a,b"
    zipped = run(project, tmp_path)
    product = run(grid("product", [1, 2], [3, 4]), tmp_path)
    assert product.nodes["sum"].state == "succeeded" and value(product, "sum") == [4, 5, 5, 6]
    assert zipped.nodes["sum"].cache_key != product.nodes["sum"].cache_key


def test_bad_map_fields_are_named() -> None:
    project = grid("diagonal", [1], [2])
    project.nodes["sum"].map_over = "a,c"
    messages = {(p.path, p.message) for p in validate(project)}
    assert ("nodes.sum.map_over", "names no input port ('c')") in messages
    assert ("nodes.sum.map_mode", "must be product or zip, not 'diagonal'") in messages
