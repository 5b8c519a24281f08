"""Where the studio finds what a node made: its outputs in the run store.

The one place that turns an output's ``file://`` URI (from ``run.json`` or the lineage
graph) into a path. Everything in a run folder was written by a node, perhaps a container:
an output is shown only when its path lies inside its run's folder and no component from
there down is a symbolic link, so a crafted ``run.json`` or a link a container left cannot
make the studio read anything else.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from twinflow_studio.engine.paths import UnsafePathError, child_path, run_path
from twinflow_studio.ui.lineage_source import RunStoreLineage


@dataclass(frozen=True)
class NodeOutput:
    node_id: str
    port: str
    port_type: str
    run_id: str
    uri: str
    path: Path | None  # None: not readable here (remote, outside the run store, a link)
    problem: str = ""
    run_dir: Path | None = None  # the run folder holding it (a cached output: an older run's)


def uri_to_path(uri: str) -> Path | None:
    """The local path of a ``file://`` URI, or None for any other scheme."""
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parsed.path))


def confined(path: Path, folder: Path) -> str:
    """Why ``path`` may not be read as an output of ``folder`` ('' when it may): it must be
    inside ``folder`` lexically and no component below ``folder`` may be a link."""
    path = Path(os.path.abspath(path))
    # The engine records resolved paths: the folder may be reached through a link above it.
    for base in (Path(os.path.abspath(folder)), Path(os.path.realpath(folder))):
        try:
            rel = path.relative_to(base)
            break
        except ValueError:
            continue
    else:
        return f"{path} is outside the run store {folder}"
    folder = base
    if ".." in rel.parts:
        return f"{path} leaves its run folder"
    current = folder
    for part in rel.parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return f"{current} does not exist"
        if stat.S_ISLNK(mode):
            return f"{current} is a link; outputs are shown only from inside the run folder"
    return ""


class RunOutputs:
    """A node's outputs in a project's run store (newest run first), read through the run
    summaries the lineage panel reads."""

    def __init__(self, source: RunStoreLineage, port_types: dict[tuple[str, str], str]) -> None:
        self.source = source
        self.port_types = port_types

    @property
    def runs_dir(self) -> Path:
        return self.source.runs_dir

    def of_run(self, run_id: str, node_id: str) -> list[NodeOutput]:
        for task in self.source.task_runs(run_id):
            if task.node_id == node_id:
                return [self.output(run_id, node_id, p, u) for p, u in task.outputs.items()]
        return []

    def latest(self, node_id: str) -> list[NodeOutput]:
        """The outputs of the newest run in which ``node_id`` has any."""
        for run in self.source.runs():
            outputs = self.of_run(run.run_id, node_id)
            if outputs:
                return outputs
        return []

    def log_file(self, node_id: str) -> tuple[str, Path] | None:
        """The newest run's log of ``node_id`` (run id, path), when it is a plain file there.
        Runs are ordered by when they finished, without reading their summaries."""
        if not self.runs_dir.is_dir():
            return None
        for summary in sorted(self.runs_dir.glob("*/run.json"), key=_mtime, reverse=True):
            try:
                run_dir = run_path(self.runs_dir, summary.parent.name)
                path = child_path(run_dir, node_id) / "log.txt"
            except UnsafePathError:
                continue
            if not confined(path, run_dir):
                return run_dir.name, path
        return None

    def output(self, run_id: str, node_id: str, port: str, uri: object) -> NodeOutput:
        port_type = self.port_types.get((node_id, port), "any")
        uri = str(uri)
        path = uri_to_path(uri)
        if path is None:
            return NodeOutput(node_id, port, port_type, run_id, uri, None, f"{uri} is not local")
        # A cached node's output lies in the run that made it: any run of this store.
        problem = confined(path, self.runs_dir)
        if problem:
            return NodeOutput(node_id, port, port_type, run_id, uri, None, problem)
        run_dir = _first_below(path, self.runs_dir)
        if run_dir is None or run_dir == path:
            return NodeOutput(node_id, port, port_type, run_id, uri, None, "not in a run folder")
        return NodeOutput(node_id, port, port_type, run_id, uri, path, run_dir=run_dir)

    def newest(self) -> tuple[str, dict[str, list[NodeOutput]]] | None:
        """Every node's outputs in the newest run (one summary read)."""
        runs = self.source.runs()
        if not runs:
            return None
        run_id = runs[0].run_id
        return run_id, {
            t.node_id: [self.output(run_id, t.node_id, p, u) for p, u in t.outputs.items()]
            for t in self.source.task_runs(run_id)
        }


def _mtime(path: Path) -> int:
    try:
        return os.lstat(path).st_mtime_ns
    except OSError:
        return 0


def _first_below(path: Path, folder: Path) -> Path | None:
    """``folder/<first component of path below it>``."""
    path = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(folder)), Path(os.path.realpath(folder))):
        try:
            rel = path.relative_to(base)
        except ValueError:
            continue
        return base / rel.parts[0] if rel.parts else None
    return None
