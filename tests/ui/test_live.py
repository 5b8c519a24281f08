"""Live mode in the studio: triggers armed on the Qt loop (the --watch code), a file dropped
in a watched folder starts a run that colours the canvas and shows in the Live panel with its
cause; Fire now; stop; the twin status tab."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from cli_helpers import cooling_calibration, counting_project

from twinflow_studio.project import Node, Project, save
from twinflow_studio.ui.canvas_items import STATE_COLORS


def live_project(folder: Path) -> Path:
    p = counting_project(folder, "live", module="live_mod", delay=0.2, manual=True)
    p.layout["nodes"] = {"src": {"x": 0, "y": 0}, "n": {"x": 300, "y": 0}}
    save(p, folder / "live.twin")
    return folder / "live.twin"


async def until(done, timeout: float = 60.0, on_timeout=lambda: None) -> None:
    """Keep the loop (Qt events included) going until ``done()``."""
    try:
        async with asyncio.timeout(timeout):
            while not done():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out: {on_timeout()}") from None


async def act(action) -> None:
    """Trigger ``action`` as a click does, and await what it returns."""
    result = action()
    if result is not None:
        await result


def scenario(loop: asyncio.AbstractEventLoop, body) -> None:
    """Run a whole live scenario in one ``run_until_complete``: qasync processes pending Qt
    events after each one with no running loop, so a watch task stepped between two of them
    dies with 'no running event loop' (the studio's loop runs forever and never does that)."""
    loop.run_until_complete(body())


def rows(panel) -> dict[str, list[str]]:
    t = panel.table
    return {
        t.item(r, 0).text(): [t.item(r, c).text() for c in range(t.columnCount())]
        for r in range(t.rowCount())
    }


def test_go_live_file_drop_fire_now_and_stop(make_window, qt_loop, tmp_path, monkeypatch):
    monkeypatch.setenv("TWINFLOW_WATCH_POLL_S", "0.1")
    twin = live_project(tmp_path / "proj")
    window = make_window(trust=["yes"])
    assert window.open_path(twin)

    async def run() -> None:
        await act(window.actions_by_name["Go live"].trigger)  # Run -> Go live (toolbar too)
        assert window.live.live, window.status_label.text()
        assert window.actions_by_name["Go live"].isChecked()
        panel = window.live_panel
        await until(lambda: (tmp_path / "proj" / ".twinflow" / "live" / "state.json").exists())
        window._live_changed()
        task = window.live.task
        assert window.live.live, task.exception() if task.done() else task
        assert rows(panel)["files"][2] == "armed" and rows(panel)["files"][3] != "–"
        assert rows(panel)["poke"][2] == "armed"

        seen: set[tuple[int, ...]] = set()
        window.canvas.node_view("n")  # exists
        (tmp_path / "proj" / "incoming" / "b.csv").write_text("x\n2\n")

        def sample() -> bool:
            seen.add(tuple(window.canvas.node_view("n").view.color[:3]))
            return bool(window.live.history) and window.live.history[-1]["status"] == "succeeded"

        await until(sample, on_timeout=lambda: (window.live.history, window.live.task))
        entry = window.live.history[-1]
        assert entry["cause"]["kind"] == "new_data" and entry["cause"]["detail"]["added"] == [
            "b.csv"
        ]
        assert tuple(STATE_COLORS["running"]) in seen  # coloured live while it ran
        assert window.canvas.node_view("n").view.color[:3] == STATE_COLORS["succeeded"]
        run = json.loads(
            (tmp_path / "proj" / ".twinflow" / "runs" / entry["run_id"] / "run.json").read_text()
        )
        assert run["trigger"]["id"] == "files"  # the cause is in the run record (and lineage)
        window._live_changed()
        assert "new data: b.csv" in rows(panel)["files"][5]
        assert any("b.csv" in panel.queue.item(i).text() for i in range(panel.queue.count()))

        # Fire now: only for manual triggers; it goes through the same request file as --fire.
        panel.table.selectRow(list(rows(panel)).index("files"))
        assert not panel.fire.isEnabled()
        panel.table.selectRow(list(rows(panel)).index("poke"))
        assert panel.fire.isEnabled()
        panel.fire.click()
        await until(
            lambda: (
                window.live.history[-1]["cause"]["kind"] == "manual"
                and window.live.history[-1]["status"] == "succeeded"
            ),
        )
        window._live_changed()
        assert "fired by hand" in rows(panel)["poke"][5]

        # Stop: disarmed, nothing fires any more.
        await act(window.toggle_live)
        assert not window.live.live and not window.actions_by_name["Go live"].isChecked()
        window._live_changed()
        assert rows(panel)["files"][2] == "off"
        count = len(window.live.history)
        (tmp_path / "proj" / "incoming" / "c.csv").write_text("x\n3\n")
        await asyncio.sleep(0.6)
        assert len(window.live.history) == count
        assert not window.runs.busy

    scenario(qt_loop, run)


def test_live_needs_a_saved_project_with_triggers(make_window, tmp_path):
    window = make_window()
    window.toggle_live()
    assert not window.live.live
    assert "Save the project first" in window.status_label.text()
    p = Project("plain")
    p.add_node(Node("src", "datasource", params={"path": "x.csv"}))
    save(p, tmp_path / "plain.twin")
    assert window.open_path(tmp_path / "plain.twin")
    window.toggle_live()
    assert not window.live.live and "no triggers" in window.status_label.text()


def test_status_tab_plots_parameter_history_in_theme_colours(make_window, tmp_path):
    """The twin status tab reads the run store (here a calibration run written by --run)."""
    import subprocess
    import sys

    folder = tmp_path / "cal"
    (folder / "incoming").mkdir(parents=True)
    t = [i * 0.5 for i in range(25)]
    lines = "".join(f"{x},{20 + 70 * 2.718281828 ** (-0.35 * x)}\n" for x in t)
    (folder / "incoming" / "001.csv").write_text("t,temp\n" + lines)
    p = Project("cal")
    p.add_node(Node("sensor", "datasource", params={"path": "incoming"}))
    p.add_node(cooling_calibration(n_steps=200))
    p.connect("sensor", "data", "calib", "data")
    save(p, folder / "cal.twin")
    env = dict(os.environ)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twinflow_studio",
            "--run",
            str(folder / "cal.twin"),
            "--trust",
            "--no-lineage",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    window = make_window()
    assert window.open_path(folder / "cal.twin")
    status = window.live_panel.show_status(window.doc.project, folder)
    assert set(status["parameters"]["calib"]) == {"k", "t_env", "t0"}
    assert status["last_data"] is not None
    axes = window.live_panel.figure.axes
    assert len(axes) == 4  # three parameter histories and the latest window
    from PySide6.QtGui import QPalette

    fg = window.live_panel.palette().color(QPalette.ColorRole.WindowText).name()
    from matplotlib.colors import to_hex

    assert to_hex(axes[0].yaxis.label.get_color()) == fg


def test_live_again_resumes_and_runs_saved_edits(make_window, qt_loop, tmp_path, monkeypatch):
    """Stop, a file lands and the project is edited and saved while not live: going live again
    runs once for the new file (not for the old one), with the saved edit."""
    monkeypatch.setenv("TWINFLOW_WATCH_POLL_S", "0.1")
    twin = live_project(tmp_path / "proj")
    window = make_window(trust=["yes", "yes"])  # the edited code is asked about again
    assert window.open_path(twin)

    async def run() -> None:
        await act(window.toggle_live)
        await until(lambda: (tmp_path / "proj" / ".twinflow" / "live" / "state.json").exists())
        await act(window.toggle_live)
        assert not window.live.live and window.live.history == []

        (tmp_path / "proj" / "incoming" / "b.csv").write_text("x\n2\n")
        (tmp_path / "proj" / "live_mod2.py").write_text(
            "def count(folder):\n    return 100 + len(list(folder.glob('*.csv')))\n"
        )
        window.doc.change_node("n", "params", lambda n: n.params.update(callable="live_mod2:count"))
        assert window.save()
        await act(window.toggle_live)
        await until(
            lambda: bool(window.live.history) and window.live.history[-1]["status"] == "succeeded",
        )
        await asyncio.sleep(0.6)  # more polls: nothing else fires
        await act(window.toggle_live)
        assert len(window.live.history) == 1
        entry = window.live.history[0]
        assert entry["cause"]["detail"]["added"] == ["b.csv"]
        run = json.loads(
            (tmp_path / "proj" / ".twinflow" / "runs" / entry["run_id"] / "run.json").read_text()
        )
        out = run["nodes"]["n"]["outputs"]["out"][len("file://") :]
        assert json.loads(Path(out).read_text()) == 102  # the saved edit ran

    scenario(qt_loop, run)
