"""What the lineage panel reads, behind a small interface.

``RunStoreLineage`` answers from the engine's run store (``run.json`` of each run), which
every run writes; a graph-database source (twinflow_studio.lineage.LineageQueries) can stand
in behind the same methods.
"""

from __future__ import annotations

import json
import os
import stat
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from twinflow_studio.project import Project


@dataclass
class RunInfo:
    run_id: str
    status: str
    duration_s: float
    project_version: str
    trigger: dict[str, Any] | None = None


@dataclass
class TaskRunInfo:
    node_id: str
    state: str
    attempts: int
    error: str | None
    outputs: dict[str, str] = field(default_factory=dict)


MAX_RUN_JSON = 64 << 20


def read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of ``path`` if it is a regular file (not a link, FIFO or device) of at most
    ``limit`` bytes; None otherwise. A project folder is untrusted input: a FIFO named
    run.json must not hang the studio."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit + 1)[:limit]
    except OSError:
        return None
    finally:
        os.close(fd)


def _mtime(path: Path) -> int:
    try:
        return os.lstat(path).st_mtime_ns
    except OSError:
        return 0


class LineageSource(Protocol):
    def runs(self) -> list[RunInfo]: ...

    def task_runs(self, run_id: str) -> list[TaskRunInfo]: ...

    def provenance(self, run_id: str, node_id: str) -> list[TaskRunInfo]: ...

    def impact(self, run_id: str, node_id: str) -> list[str]: ...

    def diff(self, run_a: str, run_b: str) -> list[tuple[str, str, str]]: ...


class RunStoreLineage:
    """``root`` overrides the project's ``run_store`` setting (an untrusted project's panels
    read only its own ``.twinflow/``)."""

    def __init__(self, project: Project, project_dir: Path, root: Path | None = None) -> None:
        self.project = project
        if root is None:
            setting = project.settings.get("run_store", "")
            root = Path(setting if isinstance(setting, str) and setting else ".twinflow")
        self.runs_dir = (root if root.is_absolute() else project_dir / root) / "runs"

    def _summary(self, run_id: str) -> dict[str, Any]:
        data = read_regular(self.runs_dir / run_id / "run.json", MAX_RUN_JSON)
        try:
            summary = json.loads(data) if data is not None else {}
        except (ValueError, RecursionError):
            return {}
        return summary if isinstance(summary, dict) else {}

    def runs(self) -> list[RunInfo]:
        out = []
        if not self.runs_dir.is_dir():
            return out
        # Newest first by when each run finished (run ids of the same second do not sort).
        finished = sorted(self.runs_dir.glob("*/run.json"), key=_mtime, reverse=True)
        for folder in (p.parent for p in finished):
            s = self._summary(folder.name)
            if s:
                out.append(
                    RunInfo(
                        folder.name,
                        s.get("status", "?"),
                        float(s.get("duration_s", 0)),
                        s.get("project_version", ""),
                        s.get("trigger"),
                    )
                )
        return out

    def task_runs(self, run_id: str) -> list[TaskRunInfo]:
        nodes = self._summary(run_id).get("nodes", {})
        return [
            TaskRunInfo(
                n,
                d.get("state", "?"),
                int(d.get("attempts", 0)),
                d.get("error"),
                dict(d.get("outputs", {})),
            )
            for n, d in sorted(nodes.items())
        ]

    def provenance(self, run_id: str, node_id: str) -> list[TaskRunInfo]:
        """The task runs that produced what ``node_id`` used in that run (all upstream)."""
        wanted = self.project.reachable([node_id], upstream=True) - {node_id}
        return [t for t in self.task_runs(run_id) if t.node_id in wanted]

    def impact(self, run_id: str, node_id: str) -> list[str]:
        return sorted(self.project.reachable([node_id]) - {node_id})

    def diff(self, run_a: str, run_b: str) -> list[tuple[str, str, str]]:
        """(node, what changed, detail) for nodes whose state or outputs differ."""
        a = {t.node_id: t for t in self.task_runs(run_a)}
        b = {t.node_id: t for t in self.task_runs(run_b)}
        out = []
        for node in sorted(set(a) | set(b)):
            ta, tb = a.get(node), b.get(node)
            if ta is None or tb is None:
                out.append((node, "only in one run", run_a if tb is None else run_b))
            elif ta.state != tb.state:
                out.append((node, "state", f"{ta.state} → {tb.state}"))
            elif ta.outputs != tb.outputs:
                out.append(
                    (
                        node,
                        "outputs",
                        ", ".join(
                            p
                            for p in sorted(set(ta.outputs) | set(tb.outputs))
                            if ta.outputs.get(p) != tb.outputs.get(p)
                        ),
                    )
                )
        return out


class GraphLineage:
    """The same answers from the lineage graph (twinflow_studio.lineage.LineageQueries)."""

    def __init__(self, queries: Any, project_name: str) -> None:
        self.q = queries
        self.project_name = project_name

    def runs(self) -> list[RunInfo]:
        out = []
        for r in self.q.runs(self.project_name):
            started, ended = r.get("started_at"), r.get("finished_at") or r.get("ended_at")
            duration = float(ended) - float(started) if started and ended else 0.0
            trigger = {"kind": r["trigger_kind"]} if r.get("trigger_kind") else None
            out.append(
                RunInfo(
                    str(r.get("run_id")),
                    str(r.get("status", "?")),
                    duration,
                    str(r.get("project_version", "")),
                    trigger,
                )
            )
        return out

    def _latest_tasks(self, run_id: str) -> dict[str, dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for t in self.q.task_runs(run_id):
            prev = latest.get(t["node_id"])
            if prev is None or t.get("attempt", 0) >= prev.get("attempt", 0):
                latest[t["node_id"]] = t
        return latest

    def task_runs(self, run_id: str) -> list[TaskRunInfo]:
        outputs: dict[str, dict[str, str]] = defaultdict(dict)
        for a in self.q.artifacts(run_id):
            if a.get("role") == "generated":
                outputs[a["node_id"]][a.get("port", "")] = str(a.get("uri", a.get("sha256")))
        return [
            TaskRunInfo(
                n,
                str(t.get("status", "?")),
                int(t.get("attempt", 1)),
                t.get("error"),
                outputs.get(n, {}),
            )
            for n, t in sorted(self._latest_tasks(run_id).items())
        ]

    def _related(self, run_id: str, node_id: str, upstream: bool) -> list[dict[str, Any]]:
        task = self._latest_tasks(run_id).get(node_id)
        if task is None:
            return []
        closure = (self.q.provenance if upstream else self.q.impact)(task["uid"])
        return [
            v
            for v in closure.get("vertices", [])
            if v.get("node_id") and v.get("node_id") != node_id and "attempt" in v
        ]

    def provenance(self, run_id: str, node_id: str) -> list[TaskRunInfo]:
        tasks = {t.node_id: t for t in self.task_runs(run_id)}
        seen = []
        for v in self._related(run_id, node_id, upstream=True):
            if v["node_id"] not in seen:
                seen.append(v["node_id"])
        return [
            tasks.get(n) or TaskRunInfo(n, str(v.get("status", "?")), 1, None)
            for n, v in ((n, {}) for n in seen)
        ]

    def impact(self, run_id: str, node_id: str) -> list[str]:
        out: list[str] = []
        for v in self._related(run_id, node_id, upstream=False):
            if v["node_id"] not in out:
                out.append(v["node_id"])
        return out

    def diff(self, run_a: str, run_b: str) -> list[tuple[str, str, str]]:
        d = self.q.diff_runs(run_a, run_b)
        out = [(n, "only in one run", run_a) for n in d.get("only_in_a", [])]
        out += [(n, "only in one run", run_b) for n in d.get("only_in_b", [])]
        for change in d.get("changed", []):
            fields = change.get("fields", {})
            if "status" in fields:
                out.append(
                    (
                        change["node_id"],
                        "state",
                        f"{fields['status']['a']} → {fields['status']['b']}",
                    )
                )
            else:
                out.append((change["node_id"], ", ".join(sorted(fields)), ""))
        return sorted(out)


class PreferGraph:
    """Asks the lineage graph first; the run store answers when the graph cannot (database
    away, or the writer not yet caught up), so the panel never goes blank."""

    def __init__(self, graph: GraphLineage, store: RunStoreLineage) -> None:
        self.graph, self.store = graph, store
        self.last_error: str | None = None

    def _ask(self, name: str, *args: Any) -> Any:
        try:
            answer = getattr(self.graph, name)(*args)
        except Exception as exc:  # any backend failure: fall back, and say why
            self.last_error = f"lineage graph: {exc}"
            return getattr(self.store, name)(*args)
        if not answer and name in ("runs", "task_runs"):
            return getattr(self.store, name)(*args)
        return answer

    def runs(self) -> list[RunInfo]:
        return self._ask("runs")

    def task_runs(self, run_id: str) -> list[TaskRunInfo]:
        return self._ask("task_runs", run_id)

    def provenance(self, run_id: str, node_id: str) -> list[TaskRunInfo]:
        return self._ask("provenance", run_id, node_id)

    def impact(self, run_id: str, node_id: str) -> list[str]:
        return self._ask("impact", run_id, node_id)

    def diff(self, run_a: str, run_b: str) -> list[tuple[str, str, str]]:
        return self._ask("diff", run_a, run_b)
