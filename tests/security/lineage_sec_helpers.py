"""Helpers of the lineage security tests: small projects run by the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from twinflow_studio.project import Node, Port, Project, save

ROOT = Path(__file__).resolve().parents[2]

NODES_MODULE = '''
import os
import time
from pathlib import Path


def produce(ctx, size=1000, delay=0.0, gate=""):
    """Writes ``size`` bytes; waits ``delay`` seconds first (or until ``gate`` exists)."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if gate and os.path.exists(gate):
            break
        ctx.check_cancelled()
        time.sleep(0.02)
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.output_dir / "data.bin"
    with open(path, "wb") as handle:
        for _ in range(size // 65536):
            handle.write(b"y" * 65536)
        handle.write(b"y" * (size % 65536))
    return path


def consume(data, ctx, tag=""):
    return {"seen": Path(str(data)).name, "tag": tag}
'''


def chain_project(
    folder: Path,
    name: str,
    *,
    size: int = 1000,
    delay: float = 0.0,
    gate: str = "",
    length: int = 2,
) -> Path:
    """``length`` nodes: ``n0`` writes ``size`` bytes (after ``delay``), each next one reads the
    previous. Returns the .twin path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sec_nodes.py").write_text(NODES_MODULE)
    project = Project(name)
    project.add_node(
        Node(
            "n0",
            "python",
            params={
                "callable": "sec_nodes:produce",
                "kwargs": {"size": size, "delay": delay, "gate": gate},
            },
            outputs=[Port("data", "file")],
        )
    )
    for index in range(1, length):
        project.add_node(
            Node(
                f"n{index}",
                "python",
                # Each its own tag: otherwise the later consumers of one run are (rightly)
                # served the first one's result from the cache, same code, config and bytes.
                params={"callable": "sec_nodes:consume", "kwargs": {"tag": f"n{index}"}},
                inputs=[Port("data", "file")],
                outputs=[Port("out", "json")],
            )
        )
        project.connect("n0", "data", f"n{index}", "data")
    twin = folder / f"{name}.twin"
    save(project, twin)
    return twin


def cli_command(*args: str) -> list[str]:
    from twinflow_studio.cli import build_parser

    # The trust gate (another change) asks headless runs of Python nodes for --trust.
    extra = ["--trust"] if "--trust" in build_parser().format_help() else []
    return [sys.executable, "-m", "twinflow_studio", *args, *extra]


def cli_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(*args), capture_output=True, text=True, timeout=timeout, env=cli_env()
    )


def run_summaries(project_dir: Path) -> dict[str, dict[str, Any]]:
    runs = project_dir / ".twinflow" / "runs"
    return {
        path.parent.name: json.loads(path.read_text()) for path in sorted(runs.glob("*/run.json"))
    }
