"""What the CLI, live-mode and studio tests (and the studio benchmark) share: the studio's
command line run as a real subprocess, a ``--watch`` process read line by line, and the two
small living projects they drive (a folder counter and a Newton-cooling calibration).

``tests/`` is on ``sys.path`` for every test (its conftest is imported from there), so any
test module imports this one as ``cli_helpers``.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from process_dump import dump_stacks

from twinflow_studio.project import Node, Port, Project

STUDIO = [sys.executable, "-m", "twinflow_studio"]

COOLING_MODEL = "twinflow_studio.twinstat.models:newton_cooling"
COOLING_PRIORS: list[dict[str, Any]] = [
    {"name": "k", "dist": "lognormal", "mu": -1.2, "sigma": 0.5},
    {"name": "t_env", "dist": "uniform", "low": 0, "high": 40},
    {"name": "t0", "dist": "uniform", "low": 50, "high": 120},
]


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``twinflow-studio ARGS`` to completion, its output captured as text."""
    return subprocess.run(
        [*STUDIO, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )


class Watch:
    """A real ``--run PROJECT --trust --watch --no-lineage`` process (plus ``extra``
    arguments), one stream of it (stderr, or stdout for ``--json``) read line by line."""

    def __init__(
        self, project: Path, *extra: str, poll_s: str = "0.1", stream: str = "stderr"
    ) -> None:
        env = dict(os.environ, TWINFLOW_WATCH_POLL_S=poll_s)
        args = [*STUDIO, "--run", str(project), "--trust", "--watch", "--no-lineage", *extra]
        pipes: dict[str, Any] = (
            {"stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL}
            if stream == "stdout"
            else {"stderr": subprocess.PIPE}
        )
        self.proc = subprocess.Popen(args, text=True, env=env, **pipes)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        source = self.proc.stdout if stream == "stdout" else self.proc.stderr
        assert source is not None
        threading.Thread(target=lambda: [self.lines.put(x) for x in source], daemon=True).start()

    def next_line(self, timeout: float = 120) -> str:
        line = self.lines.get(timeout=timeout)
        self.seen.append(line)
        return line

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Read lines until one holds ``text`` (fails when the process ends first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.next_line(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if text in line:
                return
        # A process still running but silent is stuck: its Python stacks say where.
        stacks = dump_stacks(self.proc.pid) if self.proc.poll() is None else ""
        raise AssertionError(f"{text!r} not seen in {''.join(self.seen[-40:])}\n{stacks}")

    def stop(self) -> int:
        """Ctrl-C, as a user stops a living twin; its exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()  # a test that failed halfway leaves no process behind
        self.proc.wait(timeout=60)


def counting_project(
    folder: Path,
    name: str = "live",
    *,
    module: str = "count_mod",
    delay: float = 0.0,
    manual: bool = False,
) -> Project:
    """``src`` (the folder ``incoming/``, holding a.csv) -> ``n`` (counts its CSV files,
    after ``delay`` seconds), re-run by a ``new_data`` trigger ``files`` (and a manual one,
    ``poke``). The counting module is written to ``folder``; the project is not saved."""
    (folder / "incoming").mkdir(parents=True)
    (folder / "incoming" / "a.csv").write_text("x\n1\n")
    wait = f"    time.sleep({delay})\n" if delay else ""
    (folder / f"{module}.py").write_text(
        f"import time\n\n\ndef count(folder):\n{wait}    return len(list(folder.glob('*.csv')))\n"
    )
    p = Project(name)
    p.add_node(Node("src", "datasource", params={"path": "incoming"}))
    p.add_node(
        Node(
            "n",
            "python",
            params={"callable": f"{module}:count"},
            inputs=[Port("folder", "file")],
            outputs=[Port("out", "json")],
        )
    )
    p.connect("src", "data", "n", "folder")
    p.triggers = [
        {"id": "files", "kind": "new_data", "config": {"path": "incoming", "pattern": "*.csv"}}
    ]
    if manual:
        p.triggers.append({"id": "poke", "kind": "manual"})
    return p


def cooling_calibration(node_id: str = "calib", **params: Any) -> Node:
    """A calibration node fitting Newton cooling (k, t_env, t0) to columns ``t`` and
    ``temp``; ``params`` add to or override the defaults."""
    return Node(
        node_id,
        "calibration",
        params={
            "model": COOLING_MODEL,
            "x_columns": ["t"],
            "y_column": "temp",
            "noise": {"sigma": 1.0},
            "priors": [dict(p) for p in COOLING_PRIORS],
            "n_steps": 300,
            "figures": False,
            **params,
        },
    )
