"""The node field ``muted``: saved only when set (older files and their versions unchanged)
and read back."""

from __future__ import annotations

import json

from twinflow_studio.project import Node, Port, Project, load, save
from twinflow_studio.project.twinfile import semantic_to_dict


def test_muted_round_trips_and_is_absent_when_not_set(tmp_path):
    p = Project("m")
    p.add_node(Node("a", "python", params={"callable": "m:f"}, outputs=[Port("out", "json")]))
    before = json.dumps(semantic_to_dict(p), sort_keys=True)
    save(p, tmp_path / "m.twin")
    assert "muted" not in (tmp_path / "m.twin").read_text()  # as older files were
    assert json.dumps(semantic_to_dict(load(tmp_path / "m.twin")), sort_keys=True) == before
    p.nodes["a"].muted = True
    save(p, tmp_path / "m.twin")
    doc = json.loads((tmp_path / "m.twin").read_text())
    assert doc["nodes"][0]["muted"] is True
    assert load(tmp_path / "m.twin").nodes["a"].muted
