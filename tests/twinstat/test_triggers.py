"""Triggers: change detection, validation, and the watch loop driving the real engine."""

import asyncio
import os
import time

import numpy as np
import pandas as pd
import pytest
from cli_helpers import cooling_calibration

from twinflow_studio.engine import Engine, RunStarted
from twinflow_studio.project import Node, Project, validate
from twinflow_studio.twinstat.models import newton_cooling
from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.twinstat.triggers import (
    FolderWatcher,
    S3Watcher,
    diff,
    validate_trigger,
    watch,
)
from twinflow_studio.twinstat.watch import watch_project

COOLING = "twinflow_studio.twinstat.models:newton_cooling"


def write_cooling(path, k=0.35, seed=0):
    t = np.linspace(0, 12, 30)
    y = newton_cooling(np.array([k, 20.0, 90.0]), t)
    y = y + np.random.default_rng(seed).normal(0, 1.0, t.size)
    tmp = path.with_suffix(".tmp")
    pd.DataFrame({"t": t, "temp": y}).to_csv(tmp, index=False)
    os.replace(tmp, path)  # appear atomically, as a well-behaved uploader would


def test_folder_watcher_sees_new_changed_and_removed_files(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "notes.txt").write_text("ignored by the pattern")
    watcher = FolderWatcher(tmp_path, "*.csv")
    first = watcher.snapshot()
    assert list(first) == ["a.csv"]
    assert not diff(first, watcher.snapshot())
    (tmp_path / "b.csv").write_text("x\n2\n")
    (tmp_path / "a.csv").write_text("x\n3\n")
    second = watcher.snapshot()
    changes = diff(first, second)
    assert changes.added == ["b.csv"] and changes.changed == ["a.csv"]
    # Touching a file without changing its content is not a change: the hash decides.
    os.utime(tmp_path / "b.csv", (time.time() + 5, time.time() + 5))
    assert not diff(second, watcher.snapshot())
    (tmp_path / "a.csv").unlink()
    assert diff(second, watcher.snapshot()).removed == ["a.csv"]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"id": "t", "kind": "weekly"}, "t'.kind: must be one of"),
        ({"id": "", "kind": "manual"}, "trigger.id: must be a non-empty string"),
        ({"id": "t", "kind": "schedule", "config": {}}, "config.interval: a schedule needs"),
        ({"id": "t", "kind": "schedule", "config": {"interval": -3}}, "config.interval: must be"),
        ({"id": "t", "kind": "new_data", "config": {}}, "either 'path'"),
        ({"id": "t", "kind": "new_data", "config": {"uri": "http://x/y"}}, "config.uri: must"),
        ({"id": "t", "kind": "new_data", "config": {"path": "in", "patern": "*"}}, "'patern'"),
        ({"id": "t", "kind": "drift", "config": {}}, "config.check_node"),
        ({"id": "t", "kind": "drift", "config": {"check_node": "zz"}}, "no node 'zz'"),
        ({"id": "t", "kind": "manual", "nodes": ["ghost"]}, "t'.nodes: no node 'ghost'"),
        ("not a dict", "must be an object"),
    ],
)
def test_validate_trigger_names_the_field(spec, fragment):
    problems = validate_trigger(spec, node_ids=["sensor", "calib"])
    assert any(fragment in str(p) for p in problems), problems
    assert all(p.code == "bad_trigger" and p.path.startswith("trigger") for p in problems)


def test_valid_triggers_have_no_problems():
    for spec in [
        {"id": "a", "kind": "new_data", "config": {"path": "incoming", "pattern": "*.csv"}},
        {
            "id": "b",
            "kind": "new_data",
            "config": {"uri": "s3://bucket/p/", "endpoint_url": "http://127.0.0.1:5000"},
        },
        {"id": "c", "kind": "schedule", "config": {"interval": 3600}, "nodes": ["calib"]},
        {"id": "d", "kind": "drift", "config": {"check_node": "calib", "interval": 60}},
        {"id": "e", "kind": "manual"},
    ]:
        assert validate_trigger(spec, ["sensor", "calib"]) == []


def living_project(tmp_path, n_steps=300):
    (tmp_path / "incoming").mkdir()
    write_cooling(tmp_path / "incoming" / "001.csv")
    (tmp_path / "static.csv").write_text("t,temp\n0,1\n")
    p = Project(name="living")
    p.add_node(Node("sensor", "datasource", params={"path": "incoming"}))
    p.add_node(Node("other", "datasource", params={"path": "static.csv"}))
    p.add_node(
        cooling_calibration(
            n_steps=n_steps, start="map", sequential={"mode": "normal", "inflate": 2.0}
        )
    )
    p.connect("sensor", "data", "calib", "data")
    p.triggers = [
        {
            "id": "sensor-drop",
            "kind": "new_data",
            "config": {"path": "incoming", "pattern": "*.csv"},
        }
    ]
    assert validate(p) == []
    return p


def test_downstream_subgraph(tmp_path):
    p = living_project(tmp_path)
    assert p.reachable(["sensor"]) == {"sensor", "calib"}
    assert p.reachable(["other"]) == {"other"}


async def test_new_file_triggers_recalibration_of_the_affected_subgraph(tmp_path):
    project = living_project(tmp_path)
    started: list[RunStarted] = []
    engine = Engine([lambda ev: started.append(ev) if isinstance(ev, RunStarted) else None])
    first = await engine.run(project, project_dir=tmp_path)
    assert first.ok
    k_before = first.nodes["calib"].metrics["k_mean"]
    stop = asyncio.Event()
    results = []

    async def engine_run(proj, *, only=None, trigger=None):
        result = await engine.run(proj, project_dir=tmp_path, only=only, trigger=trigger)
        results.append(result)
        stop.set()  # one triggered run is what this test is about
        return result

    task = asyncio.create_task(
        watch(project, engine_run, stop, project_dir=tmp_path, poll_interval=0.05)
    )
    await asyncio.sleep(0.2)
    write_cooling(tmp_path / "incoming" / "002.csv", k=0.6, seed=1)
    fired = await asyncio.wait_for(task, timeout=120)
    assert fired[0]["kind"] == "new_data" and fired[0]["id"] == "sensor-drop"
    assert fired[0]["detail"]["added"] == ["002.csv"]
    run_started = started[-1]
    assert run_started.trigger == fired[0]
    assert set(run_started.node_ids) == {"sensor", "calib"}  # "other" is not affected
    result = results[0]
    assert result.ok and result.nodes["calib"].state == "succeeded"
    k_after = result.nodes["calib"].metrics["k_mean"]
    # The previous posterior was the prior; the new file's faster cooling pulls k up.
    assert k_before < 0.4 < k_after
    ref = result.output("calib", "posterior")
    post = Posterior.load(__import__("pathlib").Path(ref.uri.removeprefix("file://")))
    assert post.meta["prior_source"]["source"] == "previous"


async def test_watch_project_stops_cleanly_and_runs_schedule_and_manual(tmp_path):
    project = living_project(tmp_path)
    project.triggers = [
        {"id": "hourly", "kind": "schedule", "config": {"interval": 0.1}, "nodes": ["other"]},
        {"id": "by-hand", "kind": "manual", "nodes": ["other"]},
    ]
    started: list[RunStarted] = []
    engine = Engine([lambda ev: started.append(ev) if isinstance(ev, RunStarted) else None])
    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_project(
            project, engine, stop, run_kwargs={"project_dir": tmp_path}, poll_interval=0.05
        )
    )
    deadline = time.monotonic() + 30
    while not started and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    fired = await asyncio.wait_for(task, timeout=30)
    assert fired and fired[0] == {"kind": "schedule", "id": "hourly", "detail": {"interval": 0.1}}
    assert started[0].trigger == fired[0] and set(started[0].node_ids) == {"other"}


async def test_manual_request_runs_named_nodes(tmp_path):
    project = living_project(tmp_path)
    project.triggers = [{"id": "by-hand", "kind": "manual", "nodes": ["other"]}]
    engine = Engine()
    stop = asyncio.Event()
    manual: asyncio.Queue[str] = asyncio.Queue()
    results = []

    async def engine_run(proj, *, only=None, trigger=None):
        results.append(await engine.run(proj, project_dir=tmp_path, only=only, trigger=trigger))
        stop.set()
        return results[-1]

    await manual.put("by-hand")
    fired = await asyncio.wait_for(
        watch(project, engine_run, stop, project_dir=tmp_path, poll_interval=0.05, manual=manual),
        timeout=60,
    )
    assert fired == [{"kind": "manual", "id": "by-hand", "detail": {"requested": True}}]
    assert set(results[0].nodes) == {"other"}


@pytest.mark.moto
def test_s3_prefix_watcher_compares_etags(moto_url, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    bucket = f"twinstat-{int(time.time() * 1000)}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="sensors/001.csv", Body=b"t,temp\n0,90\n")
    s3.put_object(Bucket=bucket, Key="elsewhere/x.csv", Body=b"t\n1\n")
    watcher = S3Watcher(f"s3://{bucket}/sensors/", endpoint_url=moto_url)
    first = watcher.snapshot()
    assert list(first) == ["sensors/001.csv"]
    s3.put_object(Bucket=bucket, Key="sensors/002.csv", Body=b"t,temp\n0,91\n")
    s3.put_object(Bucket=bucket, Key="sensors/001.csv", Body=b"t,temp\n0,95\n")
    changes = diff(first, watcher.snapshot())
    assert changes.added == ["sensors/002.csv"] and changes.changed == ["sensors/001.csv"]


async def test_drift_trigger_checks_then_reruns_when_error_crosses_threshold(tmp_path):
    project = living_project(tmp_path)
    (tmp_path / "recent").mkdir()
    write_cooling(tmp_path / "recent" / "now.csv", k=0.7, seed=3)  # the system has changed
    project.add_node(Node("recent", "datasource", params={"path": "recent"}))
    project.add_node(
        Node(
            "drift",
            "drift_check",
            params={"callable": COOLING, "x_columns": ["t"], "y_column": "temp", "threshold": 2.0},
        )
    )
    project.connect("recent", "data", "drift", "data")
    project.connect("calib", "posterior", "drift", "posterior")
    project.triggers = [
        {"id": "twin-error", "kind": "drift", "config": {"check_node": "drift", "interval": 0.05}}
    ]
    assert validate(project) == []
    engine = Engine()
    runs = []

    async def engine_run(proj, *, only=None, trigger=None):
        result = await engine.run(proj, project_dir=tmp_path, only=only, trigger=trigger)
        runs.append((sorted(result.nodes), trigger, result))
        if trigger["detail"].get("phase") != "check":
            stop.set()
        return result

    stop = asyncio.Event()
    fired = await asyncio.wait_for(
        watch(project, engine_run, stop, project_dir=tmp_path, poll_interval=0.05), timeout=120
    )
    check_nodes, check_cause, _ = runs[0]
    assert check_cause["detail"] == {"phase": "check"} and "drift" in check_nodes
    assert fired[0]["kind"] == "drift" and fired[0]["detail"]["drifted"] is True
    assert fired[0]["detail"]["value"] > 2.0
    assert runs[1][1] == fired[0]
    assert {"calib", "drift"} <= set(runs[1][0])


async def test_a_finished_file_fires_at_once_and_a_file_being_written_does_not(tmp_path):
    """With a poll of an hour, only the folder's file events can make the trigger look."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    project = Project("events")
    project.add_node(
        Node("data", "python", params={"callable": "json:dumps", "kwargs": {"obj": 0}})
    )
    project.triggers = [
        {
            "id": "drop",
            "kind": "new_data",
            "config": {"path": "incoming", "pattern": "*.csv"},
            "nodes": ["data"],
        }
    ]
    engine = Engine([])
    stop = asyncio.Event()
    seen: list[dict] = []

    async def engine_run(proj, *, only=None, trigger=None):
        seen.append(trigger)
        return await engine.run(proj, project_dir=tmp_path, only=only, trigger=trigger)

    async def until(count: int) -> None:
        while len(seen) < count:
            await asyncio.sleep(0.02)

    task = asyncio.create_task(
        watch(project, engine_run, stop, project_dir=tmp_path, poll_interval=3600)
    )
    try:
        await asyncio.sleep(1.0)  # armed: the first poll is an hour away
        with open(incoming / "a.csv", "w") as handle:  # written in two steps, still open
            handle.write("x\n")
            handle.flush()
            await asyncio.sleep(0.5)
            assert seen == []
            handle.write("1\n")
        await asyncio.wait_for(until(1), 30)  # closed: fires
        assert seen[0]["detail"]["added"] == ["a.csv"]
        tmp = incoming / ".b.part"  # renamed in, as careful uploaders do
        tmp.write_text("x\n2\n")
        os.replace(tmp, incoming / "b.csv")
        await asyncio.wait_for(until(2), 30)
        assert seen[1]["detail"]["added"] == ["b.csv"]
        (incoming / "a.csv").unlink()
        await asyncio.wait_for(until(3), 30)
        assert seen[2]["detail"]["removed"] == ["a.csv"]
        (incoming / "notes.txt").write_text("not a csv")
        await asyncio.sleep(0.5)
        assert len(seen) == 3
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
