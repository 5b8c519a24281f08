"""Runs from the studio: the engine on the Qt loop, live node states, logs, lineage."""

from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QTimer
from ui_helpers import chain_project, run_to_end

from twinflow_studio.ui.canvas_items import STATE_COLORS


def test_run_hello_colours_nodes_live_and_fills_the_panels(window, qt_loop, hello_dir):
    assert window.open_path(hello_dir / "hello.twin")
    seen_on_canvas: list[tuple[str, ...]] = []

    def sample() -> None:  # what a person would see, sampled while the run goes on
        seen_on_canvas.append(
            tuple(sorted({str(v.view.color[:3]) for v in window.canvas._views.values()}))
        )

    timer = QTimer()
    timer.timeout.connect(sample)
    timer.start(10)
    task = window.run_all()
    run_to_end(qt_loop, task)
    timer.stop()
    window.runs.flush()
    summary = window.runs.last_summary
    assert summary is not None and summary["status"] == "succeeded", summary
    for node_id in window.doc.project.nodes:
        states = window.runs.history[node_id]
        assert states[-1] in ("succeeded", "cached")
        assert window.canvas.node_view(node_id).view.color[:3] == STATE_COLORS[states[-1]]
    assert any("running" in s for s in window.runs.history["fit"])
    assert len(set(seen_on_canvas)) > 1  # the colours changed while it ran
    assert "succeeded" in window.run_panel.summary.toPlainText()

    # Lineage panel (read from the lineage graph once the writer has delivered): the run is
    # listed; its task runs; selecting one selects its node.
    qt_loop.run_until_complete(window.lineage_refresh)
    assert window.lineage_store is not None  # the embedded graph of the project folder
    graph = window.lineage.source.graph  # answers come from the graph, not the fallback
    assert [r.run_id for r in graph.runs()] == [summary["run_id"]]
    assert {t.node_id for t in graph.task_runs(summary["run_id"])} == set(window.doc.project.nodes)
    assert {t.node_id for t in graph.provenance(summary["run_id"], "report")} >= {"sensor", "fit"}
    assert "report" in graph.impact(summary["run_id"], "sensor")
    window.docks["lineage"].raise_()
    lineage = window.lineage
    assert lineage.runs.count() == 1
    assert lineage.current_run() == summary["run_id"]
    nodes = {
        lineage.tasks.topLevelItem(i).text(0) for i in range(lineage.tasks.topLevelItemCount())
    }
    assert nodes == set(window.doc.project.nodes)
    item = next(
        lineage.tasks.topLevelItem(i)
        for i in range(lineage.tasks.topLevelItemCount())
        if lineage.tasks.topLevelItem(i).text(0) == "report"
    )
    lineage.tasks.itemClicked.emit(item, 0)
    assert window.canvas.selected_ids() == ["report"]
    related = {
        (lineage.related.topLevelItem(i).text(0), lineage.related.topLevelItem(i).text(1))
        for i in range(lineage.related.topLevelItemCount())
    }
    assert ("provenance", "sensor") in related and ("provenance", "fit") in related

    # A second run is served from cache; the diff of the two runs shows the change.
    task = window.run_all()
    run_to_end(qt_loop, task)
    window.runs.flush()
    qt_loop.run_until_complete(window.lineage_refresh)
    assert set(window.runs.last_summary["counts"]) == {"cached"}
    assert lineage.runs.count() == 2
    diff = {lineage.diff.topLevelItem(i).text(1) for i in range(lineage.diff.topLevelItemCount())}
    assert diff == {"state"}
    assert window.lineage.source.last_error is None


def test_logs_stream_per_node_and_run_selected(window, qt_loop, tmp_path):
    window.open_path(chain_project(tmp_path / "c", "ui_mod_logs"))
    window.canvas.select(["make"])
    task = window.run_selected()
    run_to_end(qt_loop, task)
    window.runs.flush()
    assert set(window.runs.history) == {"make"}  # only the selection (and its upstream)
    assert any("making 4 numbers" in line for line in window.run_panel.lines["make"])
    window.run_panel.show_node_log("make")
    assert "making 4 numbers" in window.run_panel.log.toPlainText()


def test_a_failed_node_is_pointed_at(window, qt_loop, tmp_path):
    window.open_path(chain_project(tmp_path / "f", "ui_mod_fail", fail=True))
    task = window.run_all()
    run_to_end(qt_loop, task)
    window.runs.flush()
    assert window.runs.last_summary["status"] == "failed"
    assert window.canvas.selected_ids() == ["boom"]
    assert window.canvas.node_view("boom").view.color[:3] == STATE_COLORS["failed"]
    problems = [
        window.run_panel.problems.item(i).text() for i in range(window.run_panel.problems.count())
    ]
    assert any("boom" in p and "the sensor file is empty" in p for p in problems)
    # Clicking the problem points at the node again.
    window.canvas.select([])
    window.run_panel.problems.itemClicked.emit(window.run_panel.problems.item(0))
    assert window.canvas.selected_ids() == ["boom"]


def test_an_invalid_project_does_not_start_and_names_the_node(window, qt_loop, tmp_path):
    window.open_path(chain_project(tmp_path / "v", "ui_mod_invalid"))
    window.doc.change_node("make", "params", lambda n: n.params.pop("callable"))
    task = window.run_all()
    run_to_end(qt_loop, task)
    assert window.canvas.selected_ids() == ["make"]
    assert "problems" in window.status_label.text()
    texts = [
        window.run_panel.problems.item(i).text() for i in range(window.run_panel.problems.count())
    ]
    # Named as the canvas and the Properties panel name them, not by internal paths.
    assert any(t.startswith("make") and "callable" in t and "required" in t for t in texts)
    assert not any("nodes." in t or "params." in t for t in texts), texts


def test_cancel_keeps_the_ui_responsive(window, qt_loop, tmp_path):
    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "ui_mod_slow.py").write_text(
        "import time\n"
        "def wait(ctx):\n"
        "    for _ in range(200):\n"
        "        ctx.check_cancelled()\n"
        "        time.sleep(0.02)\n"
        "    return 1\n"
    )
    from twinflow_studio.project import Node, Port, Project, save

    p = Project(name="slow")
    p.add_node(
        Node(
            "wait", "python", params={"callable": "ui_mod_slow:wait"}, outputs=[Port("out", "json")]
        )
    )
    save(p, folder / "slow.twin")
    window.open_path(folder / "slow.twin")
    task = window.run_all()
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(5)

    async def cancel_soon() -> None:
        await asyncio.sleep(0.3)
        window.actions_by_name["Cancel run"].trigger()

    qt_loop.run_until_complete(asyncio.gather(task, cancel_soon()))
    timer.stop()
    window.runs.flush()
    assert window.runs.last_summary["status"] == "cancelled"
    assert len(ticks) > 10  # the Qt loop kept turning during the run


def test_validate_checks_files_and_modules_before_a_run(window, tmp_path):
    path = chain_project(tmp_path / "pf", "ui_mod_preflight")
    window.open_path(path)
    window.add_node("datasource", None)
    [source] = [n for n in window.doc.project.nodes if n.startswith("datasource")]
    window.doc.change_node(source, "params", lambda n: n.params.update(path="sensors.csv"))
    window.doc.change_node(
        "total", "params", lambda n: n.params.update(callable="ui_mod_preflight:totl")
    )
    problems = window.validate_now()
    assert window.status_label.text() == "2 problem(s)"
    texts = [
        window.run_panel.problems.item(i).text() for i in range(window.run_panel.problems.count())
    ]
    assert any("sensors.csv" in t and "does not exist" in t for t in texts), texts
    assert any("defines no 'totl'" in t for t in texts), texts
    assert {p.node_id for p in problems} == {source, "total"}
    (tmp_path / "pf" / "sensors.csv").write_text("a\n1\n")
    window.doc.change_node(
        "total", "params", lambda n: n.params.update(callable="ui_mod_preflight:total")
    )
    assert window.validate_now() == []
    assert window.status_label.text() == "No problems"


def test_cancel_run_is_enabled_only_while_a_run_goes_on(window, qt_loop, hello_dir):
    assert window.open_path(hello_dir / "hello.twin")
    cancel = window.actions_by_name["Cancel run"]
    assert not cancel.isEnabled()  # nothing to cancel
    task = window.run_all()
    assert cancel.isEnabled()  # from the moment the run is asked for, before it starts
    run_to_end(qt_loop, task)
    window.runs.flush()
    assert window.runs.last_summary["status"] == "succeeded"
    assert not cancel.isEnabled()
