"""The headless command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import Watch, cli, counting_project

from twinflow_studio.project import Node, Port, Project, save

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


@pytest.fixture()
def hello(tmp_path: Path) -> Path:
    shutil.copytree(
        EXAMPLES / "hello",
        tmp_path / "hello",
        ignore=shutil.ignore_patterns(".twinflow", "__pycache__"),
    )
    return tmp_path / "hello" / "hello.twin"


def test_run_the_hello_example(hello: Path) -> None:
    done = cli("--run", str(hello), "--trust", "--json", "--no-lineage")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "succeeded" and summary["counts"] == {"succeeded": 5}
    report = Path(summary["nodes"]["report"]["outputs"]["report"][len("file://") :])
    text = report.read_text()
    assert "readings: 60" in text and "anomalies: 1" in text
    assert "report: succeeded" in done.stderr and "succeeded in" in done.stderr
    again = json.loads(cli("--run", str(hello), "--trust", "--json", "--no-lineage").stdout)
    assert again["counts"] == {"cached": 5}


def test_param_override_changes_the_result(hello: Path) -> None:
    done = cli(
        "--run",
        str(hello),
        "--trust",
        "--json",
        "--no-lineage",
        "--param",
        'anomalies.kwargs={"threshold_c": 100}',
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    path = Path(summary["nodes"]["anomalies"]["outputs"]["anomalies"][len("file://") :])
    assert json.loads(path.read_text()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "nope.x=1"], "no node 'nope' in the project"),
        (["--param", "fit.kwargs=3"], "--param fit.kwargs: expected dict, found int 3"),
        (["--param", "garbage"], "--param 'garbage': expected NODE.KEY=VALUE"),
        (["--only", "ghost"], "no such node to run: 'ghost'"),
    ],
)
def test_bad_parameters_exit_2_with_a_message(hello: Path, args: list, message: str) -> None:
    done = cli("--run", str(hello), "--no-lineage", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (hello.parent / ".twinflow" / "runs").exists() or not any(
        (hello.parent / ".twinflow" / "runs").iterdir()
    )


def test_broken_and_invalid_projects_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.twin"
    broken.write_text('{"format": "twinflow-studio", "schema_version": 2, "nodes": [}')
    done = cli("--run", str(broken))
    assert done.returncode == 2
    assert f"{broken}: is not valid JSON" in done.stderr and "line 1" in done.stderr
    invalid = Project("invalid")
    invalid.add_node(Node("m", "python", params={"callable": "x:y"}, inputs=[Port("need", "json")]))
    save(invalid, tmp_path / "invalid.twin")
    done = cli("--run", str(tmp_path / "invalid.twin"))
    assert done.returncode == 2
    assert "nodes.m.inputs.need: required input is not connected" in done.stderr
    done = cli("--validate", str(tmp_path / "invalid.twin"))
    assert done.returncode == 2 and "required input is not connected" in done.stderr
    assert cli("--run", str(tmp_path / "absent.twin")).returncode == 2


def test_a_failed_run_exits_1_and_names_the_node(tmp_path: Path) -> None:
    (tmp_path / "failing_mod.py").write_text(
        "def read(ctx):\n    raise FileNotFoundError('sensor.csv is gone')\n"
    )
    p = Project("fails")
    p.add_node(Node("src", "python", params={"callable": "failing_mod:read"}))
    save(p, tmp_path / "fails.twin")
    done = cli("--run", str(tmp_path / "fails.twin"), "--no-lineage", "--trust")
    assert done.returncode == 1
    assert "node 'src' failed after 1 attempt(s)" in done.stderr
    assert "sensor.csv is gone" in done.stderr


def test_what_is_missing_around_a_project_is_bad_input_before_it_runs(tmp_path: Path) -> None:
    p = Project("missing")
    p.add_node(Node("src", "datasource", params={"path": "missing.csv"}))
    p.add_node(Node("fit", "python", params={"callable": "absent_mod:fit"}))
    p.triggers.append({"id": "t", "kind": "new_data", "config": {"path": "incoming"}})
    save(p, tmp_path / "missing.twin")
    done = cli("--validate", str(tmp_path / "missing.twin"))
    assert done.returncode == 2
    assert "nodes.src.params.path: data file or folder 'missing.csv' does not exist" in done.stderr
    assert "nodes.fit.params.callable: cannot find module 'absent_mod'" in done.stderr
    assert "warning: triggers[0].config.path: folder 'incoming' does not exist" in done.stderr
    done = cli("--run", str(tmp_path / "missing.twin"), "--no-lineage", "--trust")
    assert done.returncode == 2, done.stderr
    assert "'missing.csv' does not exist" in done.stderr and "absent_mod" in done.stderr
    assert not (tmp_path / ".twinflow" / "runs").exists()  # nothing was started
    (tmp_path / "missing.csv").write_text("a\n1\n")
    (tmp_path / "absent_mod.py").write_text("def fit(ctx):\n    return None\n")
    done = cli("--validate", str(tmp_path / "missing.twin"))
    assert done.returncode == 0, done.stderr
    assert "warning: triggers[0]" in done.stderr and "valid (2 nodes" in done.stderr


def test_ctrl_c_cancels_and_exits_130(tmp_path: Path) -> None:
    (tmp_path / "slow_mod.py").write_text(
        "import time\n"
        "def slow(ctx):\n"
        "    for _ in range(3000):\n"
        "        ctx.check_cancelled()\n"
        "        time.sleep(0.01)\n"
    )
    p = Project("slow")
    p.add_node(Node("s", "python", params={"callable": "slow_mod:slow"}))
    save(p, tmp_path / "slow.twin")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twinflow_studio",
            "--run",
            str(tmp_path / "slow.twin"),
            "--trust",
            "--no-lineage",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 60
    line = ""
    while "s: running" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "cancelled" in rest


def test_help_and_version() -> None:
    done = cli("--help")
    assert done.returncode == 0 and "--run PROJECT" in done.stdout
    assert cli("--version").stdout.startswith("twinflow-studio ")


def test_runs_are_recorded_in_the_embedded_lineage_graph(hello: Path) -> None:
    done = cli("--run", str(hello), "--trust", "--json")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    from twinflow_studio.lineage import open_lineage

    with open_lineage(hello.parent, None) as store:
        runs = store.queries.runs("hello-tank")
        assert [r["run_id"] for r in runs] == [run_id]
        assert {t["node_id"] for t in store.queries.task_runs(run_id)} == {
            "sensor",
            "stats",
            "fit",
            "anomalies",
            "report",
        }


def test_a_bad_lineage_setting_is_bad_input(tmp_path: Path) -> None:
    p = Project("bad-lineage")
    p.settings["lineage"] = {"backend": "cassandra"}
    save(p, tmp_path / "p.twin")
    done = cli("--run", str(tmp_path / "p.twin"), "--trust")
    assert done.returncode == 2
    assert "settings.lineage.backend: unknown backend 'cassandra'" in done.stderr


def test_lineage_waits_in_the_outbox_when_the_server_is_down(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    p = Project("outbox")
    p.settings["lineage"] = {
        "backend": "gremlin-server",
        "url": f"ws://127.0.0.1:{port}/gremlin",
        "timeout": 2,
    }
    p.add_node(
        Node(
            "k",
            "python",
            params={"callable": "json:dumps", "kwargs": {"obj": 1}},
            outputs=[Port("out", "json")],
        )
    )
    save(p, tmp_path / "p.twin")
    done = cli("--run", str(tmp_path / "p.twin"), "--trust")
    assert done.returncode == 0, done.stderr
    assert "wait in the outbox and are delivered on the next run" in done.stderr


def test_watch_reruns_on_new_data_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    save(counting_project(tmp_path, "watched"), tmp_path / "p.twin")
    with Watch(tmp_path / "p.twin") as watch:
        watch.wait_for("watching for triggers")
        (tmp_path / "incoming" / "b.csv").write_text("x\n2\n")
        watch.wait_for("(trigger: new_data)")
        watch.wait_for("succeeded in")
        assert watch.stop() == 0, watch.seen
    runs = sorted((tmp_path / ".twinflow" / "runs").iterdir())
    assert len(runs) == 2
    last = json.loads((runs[-1] / "run.json").read_text())
    assert last["trigger"]["kind"] == "new_data"
    value = json.loads(Path(last["nodes"]["n"]["outputs"]["out"][len("file://") :]).read_text())
    assert value == 2


def test_opening_the_studio_without_the_gui_extra_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None\n"  # as if PySide6 were not installed
        "from twinflow_studio.cli import main\n"
        "sys.exit(main([]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "the studio needs the GUI extra (PySide6" in done.stderr
    assert "pip install 'twinflow-studio[gui]'" in done.stderr
