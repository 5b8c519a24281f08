"""The lineage store end to end, on every backend (see conftest.BACKENDS)."""

from __future__ import annotations

import json
from pathlib import Path

import graphersal
import pytest
from lineage_helpers import RunScript, backend_config, component, sha

from twinflow_studio.engine.events import LogLine, NodeStateChanged, Progress
from twinflow_studio.lineage import LineageConfigError, open_lineage
from twinflow_studio.lineage import schema as s


def test_replayed_records_never_duplicate_and_new_runs_wipe_nothing(make_store):
    store = make_store()
    script = RunScript()
    first = script.run(store.subscriber)
    assert store.flush(30), store.last_error
    before = component(store, s.project_uid(script.project))

    for event in first["events"]:  # the same records again, as after a crash and replay
        store.subscriber(event)
    assert store.flush(30), store.last_error
    assert component(store, s.project_uid(script.project)) == before

    second = script.run(store.subscriber)
    assert store.flush(30), store.last_error
    vertices, edges = component(store, s.project_uid(script.project))
    assert before[0] < vertices and before[1] < edges
    assert s.run_uid(first["run_id"]) in vertices and s.run_uid(second["run_id"]) in vertices


def test_same_content_twice_is_one_artifact_with_two_generators(make_store):
    store = make_store()
    script = RunScript()
    table = sha()
    first = script.run(store.subscriber, table_sha=table)
    second = script.run(store.subscriber, table_sha=table)
    assert store.flush(30), store.last_error
    g = store.queries.g
    assert g.V(s.artifact_uid(table)).count().next() == 1
    generators = set(g.V(s.artifact_uid(table)).out(s.WAS_GENERATED_BY).values("run_id").to_list())
    assert generators == {first["run_id"], second["run_id"]}
    # The uri first seen is kept; the content is what identifies the artifact.
    assert store.queries.get(s.artifact_uid(table))["uri"] == first["table"].uri


def test_runs_task_runs_and_artifacts(make_store):
    store = make_store()
    script = RunScript()
    first = script.run(store.subscriber)
    second = script.run(store.subscriber, trigger={"kind": "drift", "run_id": first["run_id"]})
    assert store.flush(30), store.last_error
    q = store.queries

    runs = q.runs(script.project)
    assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]]
    assert [r["trigger_kind"] for r in runs] == ["drift", None]
    assert all(r["status"] == "succeeded" for r in runs)
    assert runs[0]["node_ids"] == ["load", "fit"]

    tasks = q.task_runs(first["run_id"])
    assert [(t["node_id"], t["status"], t["target"]) for t in tasks] == [
        ("load", "succeeded", "local"),
        ("fit", "succeeded", "docker"),
    ]
    assert tasks[1]["params"] == {"alpha": 0.5} and tasks[1]["metrics"] == {"r2": 0.91}
    assert tasks[1]["code_identity"] == script.image

    artifacts = {
        (a["node_id"], a["role"], a["port"], a["type"], a["sha256"])
        for a in q.artifacts(first["run_id"])
    }
    assert ("load", "used", "data", "table", script.raw.sha256) in artifacts
    assert ("load", "generated", "table", "table", first["table"].sha256) in artifacts
    assert ("fit", "used", "table", "table", first["table"].sha256) in artifacts
    assert ("fit", "generated", "model", "model", first["model"].sha256) in artifacts
    assert ("fit", "used", "", "image", script.image.removeprefix("sha256:")) in artifacts


def test_provenance_reaches_raw_data_images_and_project_versions(make_store):
    store = make_store()
    script = RunScript()
    first = script.run(store.subscriber)
    second = script.run(store.subscriber, trigger={"kind": "drift", "run_id": first["run_id"]})
    assert store.flush(30), store.last_error

    prov = store.queries.provenance(s.artifact_uid(second["model"].sha256))
    uids = {v["uid"] for v in prov["vertices"]}
    assert prov["vertices"][0]["uid"] == s.artifact_uid(second["model"].sha256)
    assert {
        s.artifact_uid(script.raw.sha256),  # raw data
        s.artifact_uid(script.image),  # the image the model was fitted in
        s.artifact_uid(second["table"].sha256),
        s.task_run_uid(second["run_id"], "fit", 1),
        s.task_run_uid(second["run_id"], "load", 1),
        s.run_uid(second["run_id"]),
        s.project_version_uid(script.project, "v1"),
        s.project_uid(script.project),
        s.trigger_uid(second["run_id"]),
        s.run_uid(first["run_id"]),  # the run whose drift triggered this one
    } <= uids
    # Nothing made later or elsewhere is upstream.
    assert s.artifact_uid(first["model"].sha256) not in uids
    edges = {(e["from"], e["label"], e["to"]) for e in prov["edges"]}
    assert (
        s.artifact_uid(second["model"].sha256),
        s.WAS_GENERATED_BY,
        s.task_run_uid(second["run_id"], "fit", 1),
    ) in edges
    assert all(e["from"] in uids and e["to"] in uids for e in prov["edges"])

    shallow = store.queries.provenance(s.artifact_uid(second["model"].sha256), max_depth=1)
    assert {v["uid"] for v in shallow["vertices"]} == {
        s.artifact_uid(second["model"].sha256),
        s.task_run_uid(second["run_id"], "fit", 1),
    }


def test_impact_of_raw_data_and_of_a_model_version(make_store):
    store = make_store()
    script = RunScript()
    first = script.run(store.subscriber)
    second = script.run(store.subscriber)
    assert store.flush(30), store.last_error
    q = store.queries

    impact = {v["uid"] for v in q.impact(s.artifact_uid(script.raw.sha256))["vertices"]}
    for run in (first, second):
        assert s.artifact_uid(run["model"].sha256) in impact
        assert s.task_run_uid(run["run_id"], "fit", 1) in impact
    assert s.project_uid(script.project) not in impact

    versions = q.model_versions(script.project, "fit")
    mv_impact = q.impact(versions[0]["uid"])
    assert {v["uid"] for v in mv_impact["vertices"]} == {
        versions[0]["uid"],
        s.artifact_uid(first["model"].sha256),
    }


def test_diff_of_two_runs(make_store):
    store = make_store()
    script = RunScript()
    table = sha()
    first = script.run(store.subscriber, table_sha=table, params={"alpha": 0.5})
    second = script.run(
        store.subscriber, table_sha=table, params={"alpha": 0.7}, metrics={"r2": 0.95}
    )
    assert store.flush(30), store.last_error

    diff = store.queries.diff_runs(first["run_id"], second["run_id"])
    assert diff["only_in_a"] == [] and diff["only_in_b"] == []
    assert diff["same"] == ["load"]
    (fit,) = diff["changed"]
    assert fit["node_id"] == "fit"
    assert fit["fields"]["params"] == {"a": {"alpha": 0.5}, "b": {"alpha": 0.7}}
    assert fit["fields"]["metrics"] == {"a": {"r2": 0.91}, "b": {"r2": 0.95}}
    assert fit["fields"]["outputs"]["a"] == {"model": first["model"].sha256}


def test_model_version_history(make_store):
    store = make_store()
    script = RunScript()
    runs = [
        script.run(store.subscriber, params={"alpha": a}, metrics={"r2": r})
        for a, r in ((0.1, 0.8), (0.2, 0.85), (0.3, 0.9))
    ]
    script.run(store.subscriber, fit_status="failed")  # a failed fit makes no version
    assert store.flush(30), store.last_error
    q = store.queries

    assert [m["node_id"] for m in q.models(script.project)] == ["fit"]
    versions = q.model_versions(script.project, "fit")
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["params"]["alpha"] for v in versions] == [0.1, 0.2, 0.3]
    assert [v["metrics"]["r2"] for v in versions] == [0.8, 0.85, 0.9]
    assert [v["run_id"] for v in versions] == [r["run_id"] for r in runs]
    g = q.g
    assert g.V(versions[0]["uid"]).out(s.WAS_GENERATED_BY).values("node_id").to_list() == ["fit"]


def test_graphson_round_trip(make_store, tmp_path):
    store = make_store()
    script = RunScript()
    script.run(store.subscriber)
    script.run(store.subscriber)
    assert store.flush(30), store.last_error
    project = s.project_uid(script.project)
    expected = component(store, project)
    path = tmp_path / "export" / "lineage.json"
    counts = store.export_graphson(path)
    assert counts["vertices"] >= len(expected[0]) and counts["edges"] >= len(expected[1])
    # One record per line for any line reader: U+2028 or \x1c in a value stays escaped.
    assert path.read_bytes().isascii()

    # graphersal reads the file as TinkerPop GraphSON 3.0.
    loaded = graphersal.Graph.from_graphson(str(path))
    assert loaded.query(f'g.V("{project}").in("partOf").count().next()') == 2

    target = open_lineage(tmp_path / "other", {"backend": "embedded"}).start()
    try:
        target.import_graphson(path)
        target.import_graphson(path)  # importing again duplicates nothing
        assert component(target, project) == expected
        original = store.queries.get(project)
        assert target.queries.get(project) == original
        runs = store.queries.runs(script.project)
        assert target.queries.runs(script.project) == runs
    finally:
        target.close()


def test_graphson_errors_name_file_and_line(make_store, tmp_path):
    store = make_store()
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "a", "label": "Run", "properties": {}}\n{"id": "b", broken\n')
    with pytest.raises(ValueError, match=r"bad\.json:2: invalid JSON"):
        store.import_graphson(bad)


def test_subscriber_ignores_other_events_and_survives_bad_ones(make_store):
    store = make_store()
    store.subscriber(LogLine("r", "n", "hello"))
    store.subscriber(Progress("r", 1, 2, 1))
    store.subscriber(NodeStateChanged("r", "n", "succeeded", 1, 0.0, record="not a record"))
    store.subscriber(object())
    assert store.pending_bytes() == 0
    script = RunScript()
    script.run(store.subscriber)
    assert store.flush(30), store.last_error
    assert len(store.queries.runs(script.project)) == 1


def test_damaged_outbox_line_is_kept_aside_and_the_rest_delivered(tmp_path, backend):
    config = backend_config(backend)
    store = open_lineage(tmp_path, config)  # not started: events wait in the outbox
    script = RunScript()
    script.run(store.subscriber)
    with open(store.outbox.path, "ab") as handle:
        handle.write(b'{"not": "a list of ops"}\n')
    second = script.run(store.subscriber)
    store.start()
    try:
        assert store.flush(30), store.last_error
        assert len(store.queries.runs(script.project)) == 2
        assert store.queries.get(s.run_uid(second["run_id"]))["status"] == "succeeded"
        rejected = [
            json.loads(line) for line in store.outbox.rejected_path.read_text().splitlines()
        ]
        assert len(rejected) == 1 and "unreadable" in rejected[0]["reason"]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"backend": "orientdb"}, r"settings\.lineage\.backend: unknown backend 'orientdb'"),
        ({"backend": "gremlin-server", "url": "http://x"}, r"settings\.lineage\.url"),
        ({"backend": "neptune", "url": "wss://h:8182/gremlin"}, r"settings\.lineage\.region"),
        ({"backend": "neptune", "region": "eu-west-1"}, r"settings\.lineage\.url"),
        ({"backend": "embedded", "batch_ops": 0}, r"settings\.lineage\.batch_ops"),
        ({"bakend": "embedded"}, r"unknown key\(s\) \['bakend'\]"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, config, message):
    with pytest.raises(LineageConfigError, match=message):
        open_lineage(tmp_path, config)
    assert not (tmp_path / ".twinflow").exists()


def test_repeated_upserts_in_one_batch_keep_last_update_and_skip_refused_lines(tmp_path, backend):
    """Delivery skips a vertex upsert equal to the latest one read for its id: the result must
    be what every line applied in order gives, and a refused line must count for nothing."""
    store = open_lineage(tmp_path, backend_config(backend))  # not started: one batch
    key = sha()[:12]
    run_a, run_b, run_c = (s.run_uid(f"{key}-{n}") for n in "abc")

    def run(uid: str, status: str) -> dict:
        return s.vertex(s.RUN, uid, {"run_id": uid}, {"status": status}).to_json()

    store.outbox.append([run(run_a, "running")])
    store.outbox.append([run(run_a, "failed")])
    store.outbox.append([run(run_a, "running")])  # equal to the first, but last: it wins
    # A line with a bad operation after good ones is refused whole ...
    bad = {"v": s.RUN, "id": run_c, "c": {"run_id": [1]}, "u": {}}
    store.outbox.append([run(run_b, "running"), run(run_c, "x"), bad])
    # ... so the same upsert in a later line is not taken for one already read.
    store.outbox.append([run(run_b, "running")])
    store.start()
    try:
        assert store.flush(30), store.last_error
        assert store.queries.get(run_a)["status"] == "running"
        assert store.queries.get(run_b)["status"] == "running"
        assert store.queries.get(run_c) is None
        rejected = store.outbox.rejected_path.read_text().splitlines()
        assert len(rejected) == 1 and "run_id" in json.loads(rejected[0])["reason"]
    finally:
        store.close()
