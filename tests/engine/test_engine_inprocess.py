"""The scheduler on the in-process target: flow, failures, retries, timeouts, cancel, cache."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
import sample_nodes
from helpers import py, run, value

from twinflow_studio.engine import Engine, NodeStateChanged, RunFinished, RunStarted
from twinflow_studio.project import HardwareProfile, Node, Port, Project, RetryPolicy, twinfile
from twinflow_studio.project.errors import ValidationError


def chain() -> Project:
    p = Project("chain")
    p.add_node(py("a", "const", value=2))
    p.add_node(py("b", "add", inputs=[("a", "json")], b=5))
    p.add_node(py("c", "square", inputs=[("x", "json")]))
    p.connect("a", "out", "b", "a")
    p.connect("b", "out", "c", "x")
    return p


def test_values_flow_through_a_chain(tmp_path: Path) -> None:
    events: list = []
    result = run(chain(), tmp_path, events)
    assert result.ok
    assert value(result, "c") == 49
    names = [type(e).__name__ for e in events]
    assert names[0] == "RunStarted" and names[-1] == "RunFinished"
    order = [
        e.node_id for e in events if isinstance(e, NodeStateChanged) and e.state == "succeeded"
    ]
    assert order == ["a", "b", "c"]
    record = next(
        e.record
        for e in events
        if isinstance(e, NodeStateChanged) and e.node_id == "b" and e.state == "succeeded"
    )
    assert record.inputs[0].sha256 == result.output("a", "out").sha256
    assert record.outputs[0].sha256 == result.output("b", "out").sha256
    assert (result.run_dir / "run.json").exists()
    assert json.loads((result.run_dir / "run.json").read_text())["status"] == "succeeded"


def test_a_failure_skips_downstream_and_independent_branches_finish(tmp_path: Path) -> None:
    p = chain()
    p.add_node(py("bad", "boom", message="sensor offline"))
    p.add_node(py("after_bad", "add", inputs=[("a", "json")]))
    p.connect("bad", "out", "after_bad", "a")
    result = run(p, tmp_path)
    assert result.status == "failed"
    assert result.nodes["bad"].state == "failed"
    assert result.nodes["after_bad"].state == "skipped"
    assert result.nodes["c"].state == "succeeded"
    failed = result.summary["failed"]
    assert [f["node"] for f in failed] == ["bad"]
    assert "RuntimeError: sensor offline" in failed[0]["error"]
    assert "upstream node 'bad' failed" in result.nodes["after_bad"].error


def test_retries_with_backoff_then_success(tmp_path: Path) -> None:
    p = Project("retry")
    node = py("f", "flaky", counter=str(tmp_path / "calls"), fail_times=2)
    node.retries = RetryPolicy(count=3, backoff_s=0.05, backoff_factor=2)
    p.add_node(node)
    events: list = []
    started = time.monotonic()
    result = run(p, tmp_path, events)
    assert result.ok, result.summary
    assert value(result, "f") == 3
    assert result.nodes["f"].attempts == 3
    assert time.monotonic() - started >= 0.05 + 0.1  # two backoffs: 0.05 s, then 0.1 s
    retrying = [e for e in events if isinstance(e, NodeStateChanged) and e.state == "retrying"]
    assert len(retrying) == 2 and "transient failure 1" in retrying[0].message


def test_retries_exhausted_reports_last_error_and_log(tmp_path: Path) -> None:
    p = Project("retry")
    node = py("f", "flaky", counter=str(tmp_path / "calls"), fail_times=5)
    node.retries = RetryPolicy(count=1, backoff_s=0.01)
    p.add_node(node)
    result = run(p, tmp_path)
    assert result.status == "failed"
    failure = result.summary["failed"][0]
    assert failure["attempts"] == 2
    assert "transient failure 2" in failure["error"]
    assert "call 2" in failure["last_log_lines"]
    assert (result.run_dir / "f" / "log.txt").read_text().count("call") == 2


def test_timeout_fails_the_node(tmp_path: Path) -> None:
    p = Project("timeout")
    node = py("slow", "sleepy", seconds=10)
    node.timeout_s = 0.3
    p.add_node(node)
    started = time.monotonic()
    result = run(p, tmp_path)
    assert time.monotonic() - started < 5
    assert result.status == "failed"
    assert result.nodes["slow"].error == "timed out after 0.3 s"


def test_cancel_stops_running_and_pending_nodes(tmp_path: Path) -> None:
    p = Project("cancel")
    p.add_node(py("slow", "sleepy", seconds=30))
    p.add_node(py("after", "add", inputs=[("a", "json")]))
    p.connect("slow", "out", "after", "a")

    async def scenario() -> object:
        engine = Engine()
        task = asyncio.create_task(engine.run(p, project_dir=tmp_path))
        while not engine.active_runs:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        engine.cancel()
        return await asyncio.wait_for(task, 10)

    result = asyncio.run(scenario())
    assert result.status == "cancelled"
    assert result.nodes["slow"].state == "cancelled"
    assert result.nodes["after"].state == "cancelled"


def test_cache_reuses_unchanged_nodes_and_reruns_changed_ones(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("x\n1\n2\n3\n")
    p = Project("cache")
    p.add_node(Node("src", "datasource", params={"path": "data.csv"}))
    p.add_node(py("rows", "count_rows", inputs=[("table", "dataframe")]))
    p.add_node(py("k", "const", value=10))
    p.connect("src", "data", "rows", "table")
    first = run(p, tmp_path)
    assert value(first, "rows") == 3
    second = run(p, tmp_path)
    assert {n: o.state for n, o in second.nodes.items()} == {
        "src": "cached",
        "rows": "cached",
        "k": "cached",
    }
    assert second.output("rows", "out") == first.output("rows", "out")
    (tmp_path / "data.csv").write_text("x\n1\n2\n3\n4\n")
    third = run(p, tmp_path)
    assert third.nodes["src"].state == "succeeded"
    assert third.nodes["rows"].state == "succeeded"
    assert third.nodes["k"].state == "cached"
    assert value(third, "rows") == 4
    fourth = run(p, tmp_path, overrides={"k": {"kwargs": {"value": 11}}})
    assert fourth.nodes["k"].state == "succeeded" and value(fourth, "k") == 11
    assert run(p, tmp_path, use_cache=False).nodes["rows"].state == "succeeded"


def test_resume_after_failure_reruns_only_what_failed(tmp_path: Path) -> None:
    p = chain()
    p.add_node(py("f", "flaky", inputs=[("x", "json")], counter=str(tmp_path / "n"), fail_times=1))
    p.connect("b", "out", "f", "x")
    assert run(p, tmp_path).nodes["f"].state == "failed"
    again = run(p, tmp_path)
    assert again.ok
    assert {n: o.state for n, o in again.nodes.items() if n != "f"} == {
        "a": "cached",
        "b": "cached",
        "c": "cached",
    }
    assert again.nodes["f"].state == "succeeded"


def test_capacity_limits_concurrency(tmp_path: Path) -> None:
    p = Project("capacity")
    p.targets["local"].vcpus = 3
    p.profiles["default"] = HardwareProfile("default", vcpus=1, memory_mib=100)
    for i in range(9):
        p.add_node(py(f"n{i}", "concurrent", seconds=0.15))
    sample_nodes.peak = 0
    result = run(p, tmp_path, use_cache=False)
    assert result.ok
    assert sample_nodes.peak == 3


def test_overrides_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        run(chain(), tmp_path, overrides={"nope": {"x": 1}, "a": {"kwargs": "not a dict"}})
    text = str(err.value)
    assert "no node 'nope'" in text and "--param a.kwargs: expected dict" in text


def test_only_runs_the_subgraph_and_its_upstream(tmp_path: Path) -> None:
    p = chain()
    p.add_node(py("other", "const", value=1))
    result = run(p, tmp_path, only=["b"])
    assert set(result.nodes) == {"a", "b"}
    assert value(result, "b") == 7


def test_map_node_fans_out_over_a_list(tmp_path: Path) -> None:
    p = Project("map")
    p.add_node(py("items", "const", value=[1, 2, 3, 4]))
    node = py("sq", "square", inputs=[("x", "json")])
    node.map_over = "x"
    p.add_node(node)
    p.connect("items", "out", "sq", "x")
    result = run(p, tmp_path)
    assert result.ok, result.summary
    assert value(result, "sq") == [1, 4, 9, 16]


def test_file_artifacts_are_content_hashed(tmp_path: Path) -> None:
    import hashlib

    p = Project("files")
    p.add_node(py("w", "write_file", outputs=[("out", "file")], text="hello twin"))
    p.add_node(py("r", "read_file", inputs=[("path", "file")]))
    p.connect("w", "out", "r", "path")
    result = run(p, tmp_path)
    assert value(result, "r") == "hello twin"
    ref = result.output("w", "out")
    assert ref.sha256 == hashlib.sha256(b"hello twin").hexdigest()
    assert ref.size == len("hello twin")
    assert str(tmp_path / ".twinflow" / "runs" / result.run_id) in ref.uri


def test_events_come_from_the_loop_thread_even_for_worker_logs(tmp_path: Path) -> None:
    p = Project("threads")
    p.add_node(py("f", "flaky", counter=str(tmp_path / "c"), fail_times=0))
    threads = set()

    def subscriber(event: object) -> None:
        threads.add(threading.get_ident())

    asyncio.run(Engine([subscriber]).run(p, project_dir=tmp_path))
    assert threads == {threading.get_ident()}


def test_run_started_carries_project_version_and_trigger(tmp_path: Path) -> None:
    events: list = []
    p = chain()
    run(p, tmp_path, events, trigger={"kind": "manual", "id": "t1"})
    started = events[0]
    assert isinstance(started, RunStarted)
    assert started.project_version == p.version()
    assert started.trigger == {"kind": "manual", "id": "t1"}
    assert isinstance(events[-1], RunFinished)


def test_the_run_keeps_a_loadable_snapshot_of_the_project_it_ran(tmp_path: Path) -> None:
    events: list = []
    p = chain()
    p.layout = {"nodes": {"a": {"x": 10.5, "y": -3}}}
    result = run(p, tmp_path, events)
    snapshot = twinfile.load(result.run_dir / "project.twin")
    assert twinfile.dumps(snapshot) == twinfile.dumps(p)
    assert snapshot.version() == events[0].project_version == p.version()


def test_a_long_chain_of_cache_hits_lets_the_loop_run(tmp_path: Path) -> None:
    """A cached node never waits on anything; the loop is the studio's UI loop, so a rerun
    of a long cached chain must still hand it control every few dozen nodes."""
    p = Project("cached-chain")
    p.add_node(py("n0", "const", value=1))
    for i in range(1, 400):
        p.add_node(py(f"n{i}", "add", inputs=[("a", "json")], b=1))
        p.connect(f"n{i - 1}", "out", f"n{i}", "a")
    assert run(p, tmp_path).ok

    ticks = 0
    seen_at: list[int] = []  # the tick count when each node was reported cached

    def on_event(event: object) -> None:
        if isinstance(event, NodeStateChanged) and event.state == "cached":
            seen_at.append(ticks)

    async def rerun_with_a_ticker() -> object:
        nonlocal ticks
        stop = False

        async def ticker() -> None:
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(ticker())
        result = await Engine([on_event]).run(p, project_dir=tmp_path)
        stop = True
        await ticking
        return result

    result = asyncio.run(rerun_with_a_ticker())
    assert result.summary["counts"] == {"cached": 400}
    assert value(result, "n399") == 400
    longest_stretch = max(seen_at.count(t) for t in set(seen_at))
    assert longest_stretch <= 32


def test_missing_data_file_is_a_clear_failure(tmp_path: Path) -> None:
    p = Project("missing")
    p.add_node(Node("src", "datasource", params={"path": "nowhere.csv"}))
    result = run(p, tmp_path)
    assert result.status == "failed"
    assert (
        "nowhere.csv" in result.nodes["src"].error and "does not exist" in result.nodes["src"].error
    )
    assert result.nodes["src"].attempts == 1


def test_bad_callable_path_is_reported(tmp_path: Path) -> None:
    p = Project("bad")
    p.add_node(
        Node(
            "x",
            "python",
            params={"callable": "no_such_module_xyz:f"},
            outputs=[Port("out", "json")],
        )
    )
    result = run(p, tmp_path)
    assert "cannot import module 'no_such_module_xyz'" in result.nodes["x"].error


def test_a_failure_atop_a_very_deep_chain_skips_all_of_it(tmp_path: Path) -> None:
    p = Project("deep")
    p.add_node(py("n0", "boom"))
    for i in range(1, 3000):
        p.add_node(py(f"n{i}", "add", inputs=[("a", "json")]))
        p.connect(f"n{i - 1}", "out", f"n{i}", "a")
    result = run(p, tmp_path)
    assert result.summary["counts"] == {"failed": 1, "skipped": 2999}


def test_an_empty_optional_output_only_orders(tmp_path: Path) -> None:
    p = Project("order")
    p.add_node(
        Node(
            "first",
            "python",
            params={"callable": "sample_nodes:const", "kwargs": {"value": None}},
            outputs=[Port("done", "any", required=False)],
        )
    )
    p.add_node(
        Node(
            "then",
            "python",
            params={"callable": "sample_nodes:const", "kwargs": {"value": 1}},
            inputs=[Port("after", "any", required=False)],
            outputs=[Port("out", "json")],
        )
    )
    p.add_node(
        Node(
            "needs",
            "python",
            params={"callable": "sample_nodes:add"},
            inputs=[Port("a", "any")],
            outputs=[Port("out", "json")],
        )
    )
    p.connect("first", "done", "then", "after")
    p.connect("first", "done", "needs", "a")
    result = run(p, tmp_path)
    assert result.nodes["first"].outputs == {}
    assert value(result, "then") == 1
    assert result.nodes["needs"].state == "failed"
    assert result.nodes["needs"].error == (
        "required input 'a' was not produced: first.done is an optional output and the "
        "upstream node left it empty"
    )


def test_a_required_json_output_may_be_null(tmp_path: Path) -> None:
    p = Project("null")
    p.add_node(py("n", "const", value=None))
    assert value(run(p, tmp_path), "n") is None
