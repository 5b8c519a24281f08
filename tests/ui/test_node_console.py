"""The node console: a node's stdout, stderr and traceback, live while it runs, selected
with the node on the canvas; a real container prints and raises on the local Docker."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from ui_helpers import MODULE, run_to_end

from twinflow_studio.project import Node, Port, Project, save

SCRIPT = (
    "import sys, time\n"
    "print('hello from the container', flush=True)\n"
    "print('a warning on stderr', file=sys.stderr, flush=True)\n"
    "time.sleep(2)\n"
    "raise ValueError('the sensor reading is negative')\n"
)


def console_project(folder, image: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "console_nodes.py").write_text(MODULE, encoding="utf-8")
    p = Project(name="console")
    p.add_node(
        Node(
            "noisy",
            "container",
            params={"image": image, "command": ["python3", "-c", SCRIPT]},
            outputs=[Port("out", "file", required=False)],
        )
    )
    p.add_node(
        Node(
            "make",
            "python",
            params={"callable": "console_nodes:make", "kwargs": {"n": 3}},
            outputs=[Port("values", "json")],
        )
    )
    p.layout["nodes"] = {"noisy": {"x": 0, "y": 0}, "make": {"x": 0, "y": 200}}
    path = folder / "console.twin"
    save(p, path)
    return path


def test_console_shows_a_nodes_print_and_traceback_live(
    make_window, qt_loop, tmp_path, base_image, docker_client
):
    window = make_window()
    assert window.open_path(console_project(tmp_path / "console", base_image))
    console = window.console
    seen_live: list[bool] = []

    def sample() -> None:  # the console while the container still runs
        state = window.canvas._states.get("noisy", ("",))[0]
        if state == "running":
            seen_live.append("hello from the container" in console.text_of("noisy"))

    timer = QTimer()
    timer.timeout.connect(sample)
    timer.start(20)
    run_to_end(qt_loop, window.run_all())
    timer.stop()
    window.runs.flush()
    assert window.runs.last_summary["status"] == "failed"
    assert True in seen_live, "the print did not reach the console while the node ran"

    text = console.text_of("noisy")
    assert "hello from the container" in text
    assert "a warning on stderr" in text
    assert "Traceback (most recent call last)" in text
    assert "ValueError: the sensor reading is negative" in text
    streams = {stream for stream, _line in console.lines["noisy"]}
    assert "stderr" in streams
    assert "making 3 numbers" in console.text_of("make")  # a Python node's own log

    # Selecting a node on the canvas selects its console, and only its lines are shown.
    window.run_panel.tabs.setCurrentWidget(console)
    window.canvas.select(["make"])
    assert console.current == "make"
    assert console.nodes.currentItem().text() == "make"
    assert "making 3 numbers" in console.text.toPlainText()
    assert "hello from the container" not in console.text.toPlainText()
    window.canvas.select(["noisy"])
    assert console.current == "noisy"
    shown = console.text.toPlainText()
    assert "Traceback (most recent call last)" in shown and "failed" in console.title.text()

    # Reopened later, the console reads the node's log from the run store.
    path = window.doc.path
    window.new_project()
    assert window.open_path(path)
    assert console.lines == {}
    window.canvas.select(["noisy"])
    assert "hello from the container" in console.text.toPlainText()
    assert "from run" in console.title.text()
