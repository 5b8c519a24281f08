"""The project version is written a node at a time (``semantic_json``); it must stay the
canonical text of the whole semantic dictionary, or every stored version would change."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinflow_studio.project import Node, Port, Project, RetryPolicy, twinfile
from twinflow_studio.project.hashing import canonical_json, hash_value

EXAMPLES = sorted((Path(__file__).parents[2] / "resources" / "examples").rglob("*.twin"))
names = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)
odd_values = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
params = st.dictionaries(
    names, st.recursive(odd_values, lambda c: st.lists(c, max_size=3), max_leaves=6), max_size=3
)


@st.composite
def projects(draw: st.DrawFn) -> Project:
    project = Project(draw(st.text(max_size=8)), description=draw(st.text(max_size=8)))
    ids = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    for node_id in ids:
        project.nodes[node_id] = Node(
            node_id,
            draw(st.sampled_from(["python", "container", "no_such_kind"])),
            name=draw(st.text(max_size=6)),
            params=draw(params),
            inputs=[Port("x", "any", draw(st.booleans()))],
            outputs=[Port("y", draw(st.sampled_from(["any", "file"])))],
            retries=RetryPolicy(draw(st.integers(0, 3)), draw(st.floats(0, 1e-3)), 2.0),
            timeout_s=draw(st.none() | st.floats(1e-7, 1e17)),
            map_over=draw(st.none() | st.just("x")),
            muted=draw(st.booleans()),
        )
    for _ in range(draw(st.integers(0, 6))):
        project.connect(draw(st.sampled_from(ids)), "y", draw(st.sampled_from(ids)), "x")
    project.triggers = [{"id": draw(names), "kind": "schedule", "every_s": draw(odd_values)}]
    return project


@settings(max_examples=150, deadline=None)
@given(projects())
def test_written_a_node_at_a_time_it_is_the_whole_dictionarys_text(project: Project) -> None:
    assert twinfile.semantic_json(project) == canonical_json(twinfile.semantic_to_dict(project))
    assert twinfile.versioned_record(project)[0] == project.version()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_shipped_examples_keep_their_version(path: Path) -> None:
    project = twinfile.load(path)
    assert twinfile.versioned_record(project)[0] == hash_value(twinfile.semantic_to_dict(project))
