"""What a `.twin` may hold: plain JSON within bounds, each refusal naming the JSON path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from twinflow_studio.project import Project, TwinFileError, load, loads, validate
from twinflow_studio.project.safejson import MAX_DEPTH, read_bounded

HEAD = '{"format": "twinflow-studio", "schema_version": 2, '


def refusal(text: str) -> str:
    with pytest.raises(TwinFileError) as err:
        loads(text, "p.twin")
    return str(err.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('"profiles": {"default": {"vcpus": NaN}}', "profiles.default.vcpus: NaN is not a JSON"),
        ('"profiles": {"d": {"memory_mib": 1e400}}', "memory_mib: a number out of range (inf)"),
        ('"profiles": {"d": {"gpus": -Infinity}}', "profiles.d.gpus: -Infinity is not"),
        ('"project": {"name": "\\ud800"}', "project.name: holds a lone surrogate (\\ud800)"),
        ('"project": {"name": "a\\u0000b"}', "project.name: holds a NUL character"),
        ('"layout": {"\\udfff": 1}', "layout: a key holds a lone surrogate"),
        ('"nodes": [{"retries": {"count": 99999999999999999999999}}]', "nodes[0].retries.count"),
        ('"profiles": {"d": {"memory_mib": 512.5}}', "profiles.d.memory_mib: expected a whole"),
        ('"project": {"settings": {"lineage": "embedded"}}', "project.settings.lineage"),
        ('"project": {"settings": {"run_store": ["x"]}}', "project.settings.run_store"),
        ('"layout": {"nodes": {"a": [1, 2]}}', "layout.nodes.a: expected an object"),
        ('"layout": {"view": {"x": "left"}}', "layout.view.x: expected a number"),
        ('"layout": {"backdrops": [{"id": "g", "color": "red"}]}', "layout.backdrops[0].color"),
    ],
)
def test_values_our_layers_cannot_hold_are_refused_by_path(body: str, expected: str) -> None:
    message = refusal(HEAD + body + "}")
    assert message.startswith("p.twin: ") and expected in message


def test_nesting_is_bounded() -> None:
    deep_ok = "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)
    assert loads(HEAD + f'"layout": {{"x": {deep_ok}}}}}', "p.twin").layout["x"]
    too_deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    assert "nested more than 64 levels" in refusal(HEAD + f'"layout": {{"x": {too_deep}}}}}')
    assert "nested too deeply" in refusal("[" * 200_000 + "]" * 200_000)


def test_control_characters_are_escaped_in_messages() -> None:
    message = refusal(HEAD + '"nodes": [{"id": "\\u001b[2Jx"}]}')
    assert "\x1b" not in message and "\\x1b[2Jx" in message


def test_reading_is_bounded_and_only_regular_files(tmp_path: Path) -> None:
    big = tmp_path / "big.twin"
    big.write_bytes(b" " * 2048)
    with pytest.raises(TwinFileError, match="holds at most 1024"):
        read_bounded(big, limit=1024)
    assert read_bounded(big, limit=4096) == b" " * 2048
    fifo = tmp_path / "fifo.twin"
    os.mkfifo(fifo)
    with pytest.raises(TwinFileError, match=r"not a regular file \(it is a FIFO\)"):
        load(fifo)  # returns at once: no writer is waited for
    with pytest.raises(TwinFileError, match="character device"):
        load("/dev/zero")


def test_ranges_and_setting_types_are_validated() -> None:
    p = Project()
    p.profiles["default"].vcpus = 1e300
    p.targets["local"].memory_mib = 2**62
    p.settings = {"lineage": {"backend": 3, "timeout": "soon", "colour": "blue"}, "run_store": 1}
    found = {x.path: x.message for x in validate(p)}
    assert "must be at most 4096" in found["profiles.default.vcpus"]
    assert "must be at most" in found["targets.local.memory_mib"]
    assert found["project.settings.lineage.backend"] == "expected a string, found the number 3"
    assert found["project.settings.lineage.timeout"] == "expected a number, found a string"
    assert "unknown key" in found["project.settings.lineage.colour"]
    assert "expected a folder path" in found["project.settings.run_store"]


def test_shipped_examples_still_load(example_plugin, monkeypatch) -> None:
    from twinflow_studio.project import plugins

    # The plugin example's kind comes from the example plugin package, installed here.
    monkeypatch.syspath_prepend(str(example_plugin))
    plugins._reset_for_tests()
    root = Path(__file__).resolve().parents[2] / "resources" / "examples"
    for path in root.glob("*/*.twin"):
        assert validate(load(path)) == [], path
        json.loads(path.read_text())  # plain JSON, as written
    plugins._reset_for_tests()
