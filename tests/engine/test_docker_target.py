"""The Docker target against the real engine and the local base image."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from helpers import py, run, value

from twinflow_studio.engine import Engine
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import HardwareProfile, Node, Port, Project, RetryPolicy, load

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture()
def image(base_image: str) -> str:
    return base_image


def container(node_id: str, image: str, script: str, inputs=(), outputs=(), **extra) -> Node:
    return Node(
        node_id,
        "container",
        params={"image": image, "command": ["python3", "-c", script], **extra},
        inputs=[Port(n, t) for n, t in inputs],
        outputs=[Port(n, t) for n, t in outputs],
    )


def leftover_containers(client, run_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"twinflow.run={run_id}"})


def test_the_container_chain_example_runs_and_caches(
    tmp_path: Path, image: str, docker_client
) -> None:
    folder = tmp_path / "chain"
    shutil.copytree(
        EXAMPLES / "container-chain", folder, ignore=shutil.ignore_patterns(".twinflow")
    )
    project = load(folder / "chain.twin")
    events: list = []
    result = run(project, folder, events)
    assert result.ok, result.summary
    report = artifact_path(result.output("report", "report"))
    summary = (report / "summary.txt").read_text()
    assert "pump-a: n=65" in summary
    assert (report / "alerts.txt").read_text().split() == ["pump-a", "valve-c"]
    stats = value(result, "aggregate", "stats")
    assert sum(s["count"] for s in stats.values()) == 194
    logs = [e.line for e in events if type(e).__name__ == "LogLine" and e.node_id == "clean"]
    assert "kept 194 readings, dropped 6 without a value" in logs
    assert leftover_containers(docker_client, result.run_id) == []
    again = run(project, folder)
    assert {o.state for o in again.nodes.values()} == {"cached"}
    changed = run(project, folder, overrides={"report": {"alert_above": 72}})
    assert changed.nodes["report"].state == "succeeded"
    assert changed.nodes["aggregate"].state == "cached"
    alerts = artifact_path(changed.output("report", "report")) / "alerts.txt"
    assert alerts.read_text().split() == ["pump-a"]


def test_profile_limits_reach_the_container(tmp_path: Path, image: str) -> None:
    p = Project("limits")
    p.profiles["tiny"] = HardwareProfile("tiny", vcpus=0.5, memory_mib=96)
    script = (
        "import os\n"
        "for f in ('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'):\n"
        "    if os.path.exists(f): print('mem', open(f).read().strip())\n"
        "for f in ('/sys/fs/cgroup/cpu.max', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'):\n"
        "    if os.path.exists(f): print('cpu', open(f).read().strip())\n"
        "print('uid', os.getuid())\n"
    )
    node = container("probe", image, script)
    node.profile = "tiny"
    p.add_node(node)
    result = run(p, tmp_path)
    assert result.ok, result.summary
    log = (result.run_dir / "probe" / "log.txt").read_text()
    assert f"mem {96 * 1024 * 1024}" in log
    assert "cpu 50000" in log  # half a CPU: 50 ms per 100 ms period
    from twinflow_studio.engine.targets.docker import container_user

    assert f"uid {container_user().split(':')[0]}" in log


def test_out_of_memory_is_reported(tmp_path: Path, image: str) -> None:
    p = Project("oom")
    p.profiles["tiny"] = HardwareProfile("tiny", vcpus=1, memory_mib=32)
    node = container("hog", image, "x = bytearray(512 * 1024 * 1024); print(len(x))")
    node.profile = "tiny"
    node.retries = RetryPolicy(count=2, backoff_s=0.01)
    p.add_node(node)
    result = run(p, tmp_path)
    outcome = result.nodes["hog"]
    assert outcome.state == "failed"
    assert "out of memory (limit 32 MiB from hardware profile 'tiny')" in outcome.error
    assert outcome.exit_code == 137
    assert outcome.attempts == 1  # a retry cannot give a container more memory


def test_non_zero_exit_reports_code_and_last_log_lines(tmp_path: Path, image: str) -> None:
    p = Project("exit")
    p.add_node(
        container(
            "bad",
            image,
            "import sys; print('loading model'); print('disk full', file=sys.stderr); sys.exit(3)",
        )
    )
    p.add_node(py("fine", "const", value=1))
    result = run(p, tmp_path)
    assert result.status == "failed"
    failure = result.summary["failed"][0]
    assert failure["node"] == "bad" and failure["exit_code"] == 3
    assert failure["error"] == "container exited with code 3"
    assert "loading model" in failure["last_log_lines"]
    assert "disk full" in failure["last_log_lines"]
    assert result.nodes["fine"].state == "succeeded"


def test_inputs_are_read_only_and_outputs_are_collected(tmp_path: Path, image: str) -> None:
    p = Project("mounts")
    p.add_node(py("cfg", "const", value={"rate": 0.5}))
    script = (
        "import json, os\n"
        "cfg = json.load(open('/twinflow/inputs/cfg'))\n"
        "try:\n"
        "    open('/twinflow/inputs/cfg', 'w')\n"
        "    print('input writable')\n"
        "except OSError as e:\n"
        "    print('input read-only', e.errno)\n"
        "os.makedirs('/twinflow/outputs/table')\n"
        "open('/twinflow/outputs/table/a.csv', 'w').write('x\\n1\\n')\n"
        "json.dump({'double': cfg['rate'] * 2}, open('/twinflow/outputs/result', 'w'))\n"
    )
    p.add_node(
        container(
            "c",
            image,
            script,
            inputs=[("cfg", "json")],
            outputs=[("result", "json"), ("table", "file")],
        )
    )
    p.connect("cfg", "out", "c", "cfg")
    result = run(p, tmp_path)
    assert result.ok, result.summary
    log = (result.run_dir / "c" / "log.txt").read_text()
    assert "input read-only 30" in log  # EROFS
    assert value(result, "c", "result") == {"double": 1.0}
    table = result.output("c", "table")
    assert table.kind == "dir" and (artifact_path(table) / "a.csv").read_text() == "x\n1\n"


def test_missing_output_and_missing_image(tmp_path: Path, image: str) -> None:
    p = Project("missing")
    p.add_node(container("lazy", image, "print('forgot')", outputs=[("result", "json")]))
    p.add_node(Node("ghost", "container", params={"image": "no/such-image:1"}))
    result = run(p, tmp_path)
    assert "did not produce required output(s) result" in result.nodes["lazy"].error
    assert result.nodes["ghost"].error.startswith(
        "image 'no/such-image:1' is not on the Docker engine at "
    )


def test_timeout_kills_and_removes_the_container(tmp_path: Path, image: str, docker_client) -> None:
    p = Project("timeout")
    node = container("slow", image, "import time; print('start', flush=True); time.sleep(60)")
    node.timeout_s = 2
    p.add_node(node)
    result = run(p, tmp_path)
    assert result.nodes["slow"].error == "timed out after 2 s"
    assert leftover_containers(docker_client, result.run_id) == []


def test_cancel_stops_the_container(tmp_path: Path, image: str, docker_client) -> None:
    p = Project("cancel")
    p.add_node(container("slow", image, "import time; print('up', flush=True); time.sleep(60)"))

    async def scenario():
        engine = Engine()
        seen = asyncio.Event()
        engine.subscribe(lambda e: seen.set() if type(e).__name__ == "LogLine" else None)
        task = asyncio.create_task(engine.run(p, project_dir=tmp_path))
        await asyncio.wait_for(seen.wait(), 60)
        engine.cancel()
        return await asyncio.wait_for(task, 30)

    result = asyncio.run(scenario())
    assert result.status == "cancelled"
    assert leftover_containers(docker_client, result.run_id) == []


def test_daemon_unreachable_fails_docker_nodes_clearly(tmp_path: Path) -> None:
    p = Project("nodaemon")
    p.targets["docker"].options["base_url"] = f"unix://{tmp_path}/no-docker.sock"
    p.add_node(Node("c", "container", params={"image": "whatever"}))
    p.add_node(py("local", "const", value=5))
    result = run(p, tmp_path)
    assert result.status == "failed"
    error = result.nodes["c"].error
    assert "target 'docker': cannot reach the Docker engine at unix://" in error
    assert "Is dockerd running" in error
    assert result.nodes["local"].state == "succeeded"
    assert json.loads((result.run_dir / "run.json").read_text())["failed"][0]["node"] == "c"
