"""The Batch target against moto_server, whose Batch runs each job's container on Docker."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

import pytest
from batch_helpers import container, log_lines, project, run, value

from twinflow_studio.engine import Engine
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import HardwareProfile, Node, Port, Project, RetryPolicy
from twinflow_studio.project.errors import ValidationError

pytestmark = [pytest.mark.moto, pytest.mark.docker]

NODES_MODULE = """
from pathlib import Path


def numbers(count):
    return list(range(1, count + 1))


def read_summary(summary):
    total, rows = Path(summary).read_text().split()
    return {"total": int(total), "rows": int(rows)}
"""


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError("condition not met in time")


def job_of(result, node_id: str) -> str:
    for line in (result.run_dir / node_id / "log.txt").read_text().splitlines():
        if line.startswith("Batch job ") and "submitted" in line:
            return line.split()[2]
    raise AssertionError(f"no Batch job in the log of {node_id}")


def one_node_error(tmp_path, moto_batch, image, name: str, **options) -> str:
    """The error of a one-container project whose Batch target has ``options``."""
    p = project(name, moto_batch, **options)
    p.add_node(container("c", image, "print(1)"))
    return run(p, tmp_path).nodes["c"].error


def map_over_numbers(p: Project, node: Node, count: int) -> None:
    """Add ``node`` mapped over its ``item`` input, fed the list 1..count by an "items" node."""
    p.add_node(
        Node(
            "items",
            "python",
            params={"callable": "batch_nodes:numbers", "kwargs": {"count": count}},
            outputs=[Port("out", "json")],
        )
    )
    node.map_over = "item"
    p.add_node(node)
    p.connect("items", "out", node.id, "item")


def test_success_returns_outputs_streams_logs_and_sets_env(tmp_path, moto_batch, image) -> None:
    p = project("ok", moto_batch)
    p.add_node(
        container(
            "hello",
            image,
            "import json, os; print('hello from batch', flush=True);"
            "json.dump({k: os.environ[k] for k in ('TWINFLOW_ATTEMPT', 'TWINFLOW_NODE_ID',"
            " 'TWINFLOW_RUN_ID', 'GREETING')}, open('/twinflow/outputs/out', 'w'))",
            outputs=(("out", "json"),),
        )
    )
    p.nodes["hello"].params["env"] = {"GREETING": "hi"}
    events: list = []
    result = run(p, tmp_path, events)
    assert result.ok, result.summary
    assert value(result, "hello", "out") == {
        "TWINFLOW_ATTEMPT": "1",
        "TWINFLOW_NODE_ID": "hello",
        "TWINFLOW_RUN_ID": result.run_id,
        "GREETING": "hi",
    }
    lines = log_lines(events, "hello")
    assert "hello from batch" in lines
    assert any(line.endswith(": SUCCEEDED") for line in lines)
    record = [e.record for e in events if type(e).__name__ == "NodeStateChanged" and e.record][0]
    assert record.target_kind == "batch" and record.outputs[0].sha256
    assert record.metrics["batch_job_id"] == job_of(result, "hello")


def test_job_definition_comes_from_profile_and_is_reused(tmp_path, moto_batch, image) -> None:
    p = project("jobdef", moto_batch)
    p.profiles["big"] = HardwareProfile("big", vcpus=1.5, memory_mib=1024)
    for node_id in ("a", "b"):
        node = container(node_id, image, "print('same')", profile="big", timeout_s=5)
        p.add_node(node)
    first = run(p, tmp_path)
    assert first.ok, first.summary
    second = asyncio.run(Engine().run(p, project_dir=tmp_path, use_cache=False))
    assert second.ok, second.summary
    arns = {r.nodes[n].metrics["batch_job_definition"] for r in (first, second) for n in "ab"}
    assert len(arns) == 1, arns
    batch = moto_batch.client("batch")
    [definition] = batch.describe_job_definitions(jobDefinitions=list(arns))["jobDefinitions"]
    assert definition["revision"] == 1
    resources = {
        r["type"]: r["value"] for r in definition["containerProperties"]["resourceRequirements"]
    }
    assert resources == {"VCPU": "2", "MEMORY": "1024"}
    assert definition["timeout"] == {"attemptDurationSeconds": 60}
    assert definition["retryStrategy"]["attempts"] == 1
    assert definition["tags"]["twinflow:spec"] in definition["jobDefinitionName"]


def test_non_zero_exit_reports_code_reason_and_log(tmp_path, moto_batch, image) -> None:
    p = project("fails", moto_batch)
    p.add_node(
        container(
            "bad",
            image,
            "import sys; print('about to fail', flush=True); sys.exit(7)",
            outputs=(("out", "file"),),
        )
    )
    result = run(p, tmp_path)
    assert result.status == "failed"
    outcome = result.nodes["bad"]
    assert outcome.exit_code == 7
    assert "Batch job" in outcome.error and "FAILED" in outcome.error
    assert "exit code 7" in outcome.error
    assert "about to fail" in outcome.tail
    assert moto_batch.describe(job_of(result, "bad"))["status"] == "FAILED"


def test_timeout_terminates_the_job(tmp_path, moto_batch, image, docker_client) -> None:
    p = project("slow", moto_batch)
    p.add_node(container("slow", image, "import time; time.sleep(120)", timeout_s=4))
    started = time.monotonic()
    result = run(p, tmp_path)
    assert time.monotonic() - started < 60
    assert result.nodes["slow"].error == "timed out after 4 s"
    job_id = job_of(result, "slow")
    job = wait_for(lambda: (d := moto_batch.describe(job_id))["status"] == "FAILED" and d)
    assert "cancelled by TwinFlow Studio" in job["statusReason"]
    wait_for(lambda: not docker_client.containers.list(all=True, filters={"name": job_id}))


def test_cancel_terminates_the_job(tmp_path, moto_batch, image, docker_client) -> None:
    p = project("cancel", moto_batch)
    p.add_node(container("slow", image, "import time; time.sleep(120)"))

    async def scenario():
        engine = Engine()
        running = asyncio.Event()
        engine.subscribe(
            lambda e: (
                running.set()
                if type(e).__name__ == "LogLine" and e.line.endswith(": RUNNING")
                else None
            )
        )
        task = asyncio.create_task(engine.run(p, project_dir=tmp_path))
        await asyncio.wait_for(running.wait(), 60)
        engine.cancel()
        return await asyncio.wait_for(task, 30)

    result = asyncio.run(scenario())
    assert result.status == "cancelled"
    job_id = job_of(result, "slow")
    job = wait_for(lambda: (d := moto_batch.describe(job_id))["status"] == "FAILED" and d)
    assert job["statusReason"] == "cancelled by TwinFlow Studio"
    wait_for(lambda: not docker_client.containers.list(all=True, filters={"name": job_id}))


def test_retries_submit_a_new_job_per_attempt(tmp_path, moto_batch, image) -> None:
    p = project("retry", moto_batch)
    p.add_node(
        container(
            "flaky",
            image,
            "import os, sys; a = os.environ['TWINFLOW_ATTEMPT']; print('attempt', a, flush=True);"
            "open('/twinflow/outputs/out', 'w').write(a); sys.exit(0 if a == '2' else 3)",
            outputs=(("out", "json"),),
            retries=RetryPolicy(count=2, backoff_s=0.1),
        )
    )
    events: list = []
    result = run(p, tmp_path, events)
    assert result.ok, result.summary
    assert result.nodes["flaky"].attempts == 2
    assert value(result, "flaky", "out") == 2
    states = [e.state for e in events if type(e).__name__ == "NodeStateChanged"]
    assert states == ["running", "retrying", "running", "succeeded"]
    submitted = [line for line in log_lines(events, "flaky") if "submitted" in line]
    assert len(submitted) == 2 and submitted[0].split()[2] != submitted[1].split()[2]


def test_map_node_runs_as_one_array_job(tmp_path, moto_batch, image, fixtures_on_path) -> None:
    (fixtures_on_path / "batch_nodes.py").write_text(NODES_MODULE)
    p = project("array", moto_batch)
    node = container(
        "square",
        image,
        "import json, os; x = json.load(open('/twinflow/inputs/item'));"
        "print('item', os.environ['TWINFLOW_ITEM_INDEX'], x, flush=True);"
        "json.dump(x * x, open('/twinflow/outputs/sq', 'w'));"
        "open('/twinflow/outputs/note', 'w').write('n=%d' % x)",
        inputs=(("item", "json"),),
        outputs=(("sq", "json"), ("note", "file")),
    )
    map_over_numbers(p, node, 3)
    events: list = []
    result = run(p, tmp_path, events)
    assert result.ok, result.summary
    assert value(result, "square", "sq") == [1, 4, 9]
    notes = artifact_path(result.output("square", "note"))
    assert sorted(f.name for f in notes.iterdir()) == ["0", "1", "2"]
    assert (notes / "2").read_text() == "n=3"
    job = moto_batch.describe(result.nodes["square"].metrics["batch_job_id"])
    assert job["arrayProperties"]["size"] == 3
    lines = log_lines(events, "square")
    assert {"[item 0] item 0 1", "[item 1] item 1 2", "[item 2] item 2 3"} <= set(lines)
    assert sum("submitted" in line for line in lines) == 1


def test_failed_array_child_fails_the_node(tmp_path, moto_batch, image, fixtures_on_path) -> None:
    (fixtures_on_path / "batch_nodes.py").write_text(NODES_MODULE)
    p = project("array-fail", moto_batch)
    node = container(
        "pick",
        image,
        "import json, sys; x = json.load(open('/twinflow/inputs/item'));"
        "sys.exit(5 if x == 2 else 0)",
        inputs=(("item", "json"),),
    )
    map_over_numbers(p, node, 3)
    result = run(p, tmp_path)
    assert result.status == "failed"
    error = result.nodes["pick"].error
    assert "1 of 3 array children failed" in error and "item 1 job" in error
    assert "exit code 5" in error


def test_local_batch_local_chain_moves_files(tmp_path, moto_batch, image, fixtures_on_path) -> None:
    (fixtures_on_path / "batch_nodes.py").write_text(NODES_MODULE)
    (tmp_path / "data.csv").write_text("value\n3\n4\n5\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "offset.txt").write_text("100")
    p = project("mixed", moto_batch)
    p.add_node(Node("data", "datasource", params={"path": "data.csv"}))
    p.add_node(Node("extra", "datasource", params={"path": "extra"}))
    p.add_node(
        container(
            "sum",
            image,
            "rows = open('/twinflow/inputs/data').read().split()[1:];"
            "offset = int(open('/twinflow/inputs/extra/offset.txt').read());"
            "open('/twinflow/outputs/summary', 'w').write('%d %d' % (offset + sum(map(int, rows)),"
            " len(rows)));"
            "import os; os.makedirs('/twinflow/outputs/parts/sub');"
            "open('/twinflow/outputs/parts/sub/a.txt', 'w').write('A')",
            inputs=(("data", "file"), ("extra", "file")),
            outputs=(("summary", "file"), ("parts", "file")),
        )
    )
    p.add_node(
        Node(
            "report",
            "python",
            params={"callable": "batch_nodes:read_summary"},
            inputs=[Port("summary", "file")],
            outputs=[Port("out", "json")],
        )
    )
    p.connect("data", "data", "sum", "data")
    p.connect("extra", "data", "sum", "extra")
    p.connect("sum", "summary", "report", "summary")
    result = run(p, tmp_path)
    assert result.ok, result.summary
    assert value(result, "report", "out") == {"total": 112, "rows": 3}
    summary = result.output("sum", "summary")
    assert summary.sha256 == hashlib.sha256(b"112 3").hexdigest()
    parts = result.output("sum", "parts")
    assert parts.kind == "dir"
    assert (artifact_path(parts) / "sub" / "a.txt").read_text() == "A"
    again = asyncio.run(Engine().run(p, project_dir=tmp_path, use_cache=False))
    assert again.ok, again.summary
    s3 = moto_batch.client("s3")
    listed = s3.list_objects_v2(Bucket=moto_batch.bucket, Prefix="twinflow/cas/")
    stored = {o["Key"].rsplit("/", 1)[1] for o in listed.get("Contents", [])}
    data_sha = hashlib.sha256((tmp_path / "data.csv").read_bytes()).hexdigest()
    assert data_sha in stored  # the same input content is stored once, under its hash
    assert len([k for k in stored if k.startswith(data_sha)]) == 1
    cached = run(p, tmp_path)
    assert {o.state for o in cached.nodes.values()} == {"cached"}


def test_a_large_manifest_travels_through_s3(tmp_path, moto_batch, image, fixtures_on_path) -> None:
    (fixtures_on_path / "batch_big.py").write_text(
        "def items():\n    return ['x' * 3000, 'y' * 3000]\n"
    )
    p = project("bigmanifest", moto_batch)
    p.add_node(
        Node(
            "items", "python", params={"callable": "batch_big:items"}, outputs=[Port("out", "json")]
        )
    )
    node = container(
        "size",
        image,
        "import json; x = json.load(open('/twinflow/inputs/item'));"
        "json.dump([x[0], len(x)], open('/twinflow/outputs/n', 'w'))",
        inputs=(("item", "json"),),
        outputs=(("n", "json"),),
    )
    node.map_over = "item"
    p.add_node(node)
    p.connect("items", "out", "size", "item")
    result = run(p, tmp_path)
    assert result.ok, result.summary
    assert value(result, "size", "n") == [["x", 3000], ["y", 3000]]
    key = f"twinflow/runs/{result.run_id}/size/attempt-1/manifest.json"
    manifest = moto_batch.client("s3").get_object(Bucket=moto_batch.bucket, Key=key)
    assert json.loads(manifest["Body"].read())["items"][1] == "y" * 3000


def test_missing_queue_is_a_clear_error(tmp_path, moto_batch, image) -> None:
    p = project("noqueue", moto_batch, job_queue="no-such-queue")
    p.add_node(container("c", image, "print(1)"))
    result = run(p, tmp_path)
    assert result.status == "failed"
    error = result.nodes["c"].error
    assert "target 'aws'" in error and "job queue 'no-such-queue' does not exist" in error
    assert "region us-east-1" in error and moto_batch.url in error


def test_missing_bucket_is_a_clear_error(tmp_path, moto_batch, image) -> None:
    error = one_node_error(
        tmp_path, moto_batch, image, "nobucket", s3_prefix="s3://twinflow-no-such-bucket/x"
    )
    assert "artifact bucket 'twinflow-no-such-bucket' is not usable" in error


def test_unknown_profile_is_a_clear_error(tmp_path, moto_batch, image) -> None:
    error = one_node_error(tmp_path, moto_batch, image, "noprofile", profile="nobody-has-this")
    assert "target 'aws'" in error and "nobody-has-this" in error
    assert "could not be found" in error


def test_no_credentials_is_a_clear_error(tmp_path, moto_batch, image, no_credentials) -> None:
    error = one_node_error(tmp_path, moto_batch, image, "nocreds", profile="")
    assert "target 'aws'" in error and "no usable AWS credentials" in error
    assert "job queue" in error


def test_unreachable_endpoint_is_a_clear_error(tmp_path, moto_batch, image) -> None:
    error = one_node_error(
        tmp_path, moto_batch, image, "noendpoint", endpoint_url="http://127.0.0.1:9"
    )
    assert "cannot reach AWS Batch" in error and "http://127.0.0.1:9" in error


def test_credentials_in_options_are_refused(tmp_path, moto_batch, image) -> None:
    # Refused by validation, before anything runs (tests/security/test_secrets.py has more).
    with pytest.raises(ValidationError) as err:
        one_node_error(tmp_path, moto_batch, image, "secret", aws_secret_access_key="oops")
    error = str(err.value)
    assert "targets.aws.options.aws_secret_access_key" in error
    assert "must not hold secrets" in error
