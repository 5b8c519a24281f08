"""While a run is going, the graph's structure on screen is the one the run uses: structural
edits are refused with a message in the status bar; other edits (moves, names) go on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from twinflow_studio.project import Edge, Node, Port, Project, save

SLOW = (
    "import time\n"
    "def wait(ctx):\n"
    "    for _ in range(500):\n"
    "        ctx.check_cancelled()\n"
    "        time.sleep(0.01)\n"
    "    return 1\n"
    "def after(value=0):\n"
    "    return value + 1\n"
)


def slow_project(folder: Path, module: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(SLOW)
    p = Project(name="slow")
    p.add_node(
        Node("wait", "python", params={"callable": f"{module}:wait"}, outputs=[Port("out", "json")])
    )
    p.add_node(
        Node(
            "after",
            "python",
            params={"callable": f"{module}:after"},
            inputs=[Port("value", "json")],
            outputs=[Port("out", "json")],
        )
    )
    p.add_node(
        Node(
            "spare",
            "python",
            params={"callable": f"{module}:after"},
            inputs=[Port("value", "json", required=False)],
            outputs=[Port("out", "json")],
        )
    )
    p.connect("wait", "out", "after", "value")
    p.layout["nodes"] = {n: {"x": i * 250, "y": 0} for i, n in enumerate(p.nodes)}
    path = folder / "slow.twin"
    save(p, path)
    return path


def test_structural_edits_during_a_run_are_refused(window, qt_loop, tmp_path):
    assert window.open_path(slow_project(tmp_path / "s", "ui_mod_edit_run"))
    window.canvas.select(["wait"])
    clip = window.copy()
    [added_before] = window.paste()  # a second wait node, to undo during the run
    window.doc.undo.setClean()
    [edit] = [a.menu() for a in window.menuBar().actions() if a.text() == "&Edit"]
    [undo] = [a for a in edit.actions() if a.text().startswith("&Undo")]
    task = window.run_all()
    seen: dict[str, object] = {}

    async def edit_while_running() -> None:
        while not window.runs.busy or "wait" not in window.runs.history:  # under way
            await asyncio.sleep(0.02)
        window.runs.flush()
        assert window.runs.busy
        edges = list(window.doc.project.edges)
        window.canvas.select(["wait"])
        window.delete_selection()
        seen["after delete"] = set(window.doc.project.nodes)
        seen["message"] = window.status_label.text()
        window.cut()
        seen["after cut"] = set(window.doc.project.nodes)
        seen["added"] = window.add_node("python", QPointF(600, 300))
        QApplication.clipboard().setText(clip)
        seen["pasted"] = window.paste()
        window.doc.disconnect(edges)
        seen["refused connect"] = window.canvas.request_connection(
            Edge("wait", "out", "spare", "value")
        )
        window.doc.change_node("wait", "outputs", lambda n: n.outputs.append(Port("extra", "json")))
        seen["edges"] = list(window.doc.project.edges)
        seen["ports"] = [p.name for p in window.doc.project.nodes["wait"].outputs]
        # Moving and renaming are not structural: they go on.
        window.doc.move_nodes({"spare": (10.0, 400.0)})
        window.doc.change_node("spare", "name", lambda n: setattr(n, "name", "Spare"))
        seen["moved"] = window.doc.position("spare")
        seen["renamed"] = window.doc.project.nodes["spare"].name
        # Undo goes back through the name and the move; not through adding a node.
        undo.trigger()
        undo.trigger()
        seen["after two undos"] = (
            window.doc.project.nodes["spare"].name,
            window.doc.position("spare"),
        )
        window.show_message("")
        undo.trigger()
        seen["after third undo"] = set(window.doc.project.nodes)
        seen["undo message"] = window.status_label.text()
        window.actions_by_name["Cancel run"].trigger()

    qt_loop.run_until_complete(asyncio.wait_for(asyncio.gather(task, edit_while_running()), 60))
    window.runs.flush()
    assert seen["after delete"] == {"wait", "after", "spare", added_before}
    assert "run is in progress" in str(seen["message"])
    assert seen["after cut"] == {"wait", "after", "spare", added_before}
    assert seen["added"] is None and seen["pasted"] == []
    assert seen["refused connect"] and "run is in progress" in str(seen["refused connect"])
    assert seen["edges"] == [Edge("wait", "out", "after", "value")]
    assert seen["ports"] == ["out"]
    assert seen["moved"] == (10.0, 400.0) and seen["renamed"] == "Spare"
    assert seen["after two undos"] == ("", (500.0, 0.0))
    assert seen["after third undo"] == {"wait", "after", "spare", added_before}
    assert "run is in progress" in str(seen["undo message"])
    assert window.runs.last_summary["status"] == "cancelled", window.runs.last_summary
    assert set(window.runs.last_summary["nodes"]) == set(window.doc.project.nodes)
    # The pipe on screen still joins wait and after.
    view = window.canvas.node_view("after")
    assert [p.node().doc_id for p in view.inputs()["value"].connected_ports()] == ["wait"]

    # Once the run has ended, the same edits are made.
    window.canvas.select(["wait"])
    window.delete_selection()
    assert "wait" not in window.doc.project.nodes
    undo.trigger()
    assert "wait" in window.doc.project.nodes
