"""Project trust, headless: reading a hostile project is inert, and running one that needs
trust takes --trust or the user's trusted list (real CLI processes, a real listening socket
standing in for the hosts the project names)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_helpers import cli

from twinflow_studio.project import Node, Port, Project, load, save
from twinflow_studio.trust import TrustStore, run_reasons


def python_project(folder: Path, run_store: Path | None = None) -> Path:
    """A project with one Python node (its own module): it needs trust to run."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "own_mod.py").write_text("def answer():\n    return 42\n")
    p = Project("own")
    p.add_node(Node("n", "python", params={"callable": "own_mod:answer"}, outputs=[Port("out")]))
    if run_store is not None:
        p.settings["run_store"] = str(run_store)
    save(p, folder / "own.twin")
    return folder / "own.twin"


def test_validate_and_refused_run_of_a_hostile_project_touch_nothing(
    hostile_project: Path, listener, snapshot, tmp_path: Path
) -> None:
    before = snapshot(tmp_path)
    done = cli("--validate", str(hostile_project))
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "running it needs trust: node 'evil' runs Python code evil_mod:run" in done.stderr
    refused = cli("--run", str(hostile_project))
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr
    text = refused.stderr
    assert f"{hostile_project} is not trusted" in text
    assert "node 'evil' runs Python code evil_mod:run (nodes.evil.params.callable)" in text
    assert f"lineage goes to the gremlin-server database at ws://127.0.0.1:{listener.port}" in text
    assert f"runs are written to {tmp_path / 'outside' / 'store'}" in text
    assert f"Docker engine at tcp://127.0.0.1:{listener.port}" in text
    assert "add --trust to this command" in text and "trusted_projects" in text
    watch = cli("--run", str(hostile_project), "--watch")
    assert watch.returncode == 2 and "is not trusted" in watch.stderr
    # Nothing connected, imported or written anywhere (not even the project's .twinflow).
    assert listener.connections == []
    assert snapshot(tmp_path) == before


def test_trust_flag_runs_it_where_it_says(tmp_path: Path) -> None:
    store = tmp_path / "elsewhere" / "store"
    twin = python_project(tmp_path / "own", run_store=store)
    refused = cli("--run", str(twin), "--no-lineage")
    assert refused.returncode == 2
    assert "node 'n' runs Python code own_mod:answer" in refused.stderr
    assert f"runs are written to {store}" in refused.stderr
    done = cli("--run", str(twin), "--no-lineage", "--trust", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "succeeded"
    assert Path(summary["run_dir"]).parent == store / "runs"
    # --trust is for that command only: nothing was remembered.
    assert cli("--run", str(twin), "--no-lineage").returncode == 2


def test_the_trusted_list_and_remembered_answers(tmp_path: Path, user_config: Path) -> None:
    twin = python_project(tmp_path / "twins" / "own")
    trust_file = user_config / "trust.json"
    trust_file.parent.mkdir(parents=True)
    # A folder in the user's list trusts every project under it, whatever it asks for.
    trust_file.write_text(json.dumps({"trusted_projects": [str(tmp_path / "twins")]}))
    assert cli("--run", str(twin), "--no-lineage").returncode == 0
    # A remembered answer (what the studio writes on Yes) covers the reasons it was given for.
    trust_file.write_text("{}")
    store = TrustStore()
    assert store.file == trust_file
    project = load(twin)
    store.record(twin, run_reasons(project, twin), True, project.version())
    assert cli("--run", str(twin), "--no-lineage").returncode == 0
    # An edit that changes a number keeps the trust; one that asks for more does not.
    project.nodes["n"].params["kwargs"] = {}
    (twin.parent / "own_mod.py").write_text(
        "def answer():\n    return 42\n\n\ndef other():\n    return 7\n"
    )
    project.add_node(
        Node("m", "python", params={"callable": "own_mod:other"}, outputs=[Port("out")])
    )
    save(project, twin)
    again = cli("--run", str(twin), "--no-lineage")
    assert again.returncode == 2 and "node 'm' runs Python code own_mod:other" in again.stderr
    # A refusal is remembered too, and is not trust.
    store.record(twin, run_reasons(load(twin), twin), False)
    assert store.verdict(twin, run_reasons(load(twin), twin)).how == "refused"
    assert cli("--run", str(twin), "--no-lineage").returncode == 2


def test_a_corrupt_trust_file_trusts_nothing_and_is_kept_aside(
    tmp_path: Path, user_config: Path
) -> None:
    twin = python_project(tmp_path / "own")
    trust_file = user_config / "trust.json"
    trust_file.parent.mkdir(parents=True)
    trust_file.write_text('{"trusted_projects": [')
    done = cli("--run", str(twin), "--no-lineage")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the trust file is unreadable" in done.stderr and str(trust_file) in done.stderr
    store = TrustStore()
    project = load(twin)
    store.record(twin, run_reasons(project, twin), True)
    assert (user_config / "trust.json.bad").read_text() == '{"trusted_projects": ['
    assert json.loads(trust_file.read_text())["decisions"][str(twin.resolve())]["trusted"]
    assert os.stat(trust_file).st_mode & 0o777 == 0o600
    assert cli("--run", str(twin), "--no-lineage").returncode == 0


def test_what_needs_trust_and_what_does_not(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    (folder / "data").mkdir(parents=True)
    p = Project("plain")
    # Containers on the local engine without network, data in the folder, the embedded
    # graph: nothing here needs trust.
    p.add_node(Node("src", "datasource", params={"path": "data"}))
    p.add_node(Node("box", "container", params={"image": "x", "command": ["true"]}))
    p.add_node(Node("fit", "sklearn_train", params={"estimator": "sklearn.linear_model:Ridge"}))
    assert run_reasons(p, folder / "p.twin") == []
    p.nodes["src"].params["path"] = "../secrets.txt"
    p.nodes["box"].params["network"] = "host"
    p.nodes["box"].params["env"] = {"TOKEN": {"from_env": "HOME_TOKEN"}}
    p.nodes["fit"].params["estimator"] = "own_estimators:Model"
    p.settings["lineage"] = {"backend": "embedded", "path": "/var/tmp/graph"}
    (folder / ".twinflow").symlink_to(tmp_path)
    got = {(r.category, r.where) for r in run_reasons(p, folder / "p.twin")}
    assert got == {
        ("files", "nodes.src.params.path"),
        ("network", "nodes.box.params.network"),
        ("env", "nodes.box.params.env.TOKEN"),
        ("python", "nodes.fit.params.estimator"),
        ("lineage", "settings.lineage.path"),
        ("links", ".twinflow"),
    }
    # A run store inside the folder that is a link out of it is one too.
    (folder / "store").symlink_to(tmp_path)
    p.settings["run_store"] = "store"
    assert ("links", "settings.run_store") in {
        (r.category, r.where) for r in run_reasons(p, folder / "p.twin")
    }
    # Without lineage (--no-lineage) the lineage database is not a reason.
    assert "lineage" not in {r.category for r in run_reasons(p, folder / "p.twin", lineage=False)}


def test_an_mqtt_source_needs_trust_for_the_broker_it_names(tmp_path: Path) -> None:
    from twinflow_studio.project.trust import trust_reasons

    p = Project("field")
    p.add_node(Node("plant", "mqtt", params={"broker": "mqtt://127.0.0.1:1883"}))
    reasons = trust_reasons(p, str(tmp_path))
    assert [(r.category, r.where) for r in reasons] == [("broker", "nodes.plant.params.broker")]
    assert "subscribes to the MQTT broker at mqtt://127.0.0.1:1883" in str(reasons[0])
