"""Turn engine events into lineage upserts.

Events are read by their type name and attributes (the engine's frozen dataclasses in
``twinflow_studio.engine.events``) so that ``lineage`` does not import the engine: only
``RunStarted``, ``NodeStateChanged`` carrying a ``TaskRecord``, ``RunFinished`` and
``RunInterrupted`` produce graph operations; log lines and progress do not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from twinflow_studio.lineage import schema as s

_IMAGE_TARGET_KINDS = frozenset({"docker", "batch"})


@dataclass
class _RunState:
    project: str
    # sha256 of an artifact made in this run -> uid of the task run that made it
    producers: dict[str, str] = field(default_factory=dict)


class RecordConverter:
    """Stateful per writer: remembers, per run, the project and which task made which artifact
    (for ``wasInformedBy`` between task runs). Cheap enough to call on the engine's thread."""

    def __init__(self) -> None:
        self._runs: dict[str, _RunState] = {}

    def ops_for(self, event: Any) -> list[s.Op]:
        kind = type(event).__name__
        if kind == "RunStarted":
            return self._run_started(event)
        if kind == "NodeStateChanged" and getattr(event, "record", None) is not None:
            return self._task_record(event.run_id, event.record)
        if kind == "RunFinished" or kind == "RunInterrupted":
            self._runs.pop(event.run_id, None)
            ops = self._interrupted(event) if kind == "RunInterrupted" else []
            return ops + [
                s.vertex(
                    s.RUN,
                    s.run_uid(event.run_id),
                    {"run_id": event.run_id},
                    {
                        "status": event.status,
                        "finished_at": event.finished_at,
                        "summary_json": event.summary,
                    },
                )
            ]
        return []

    @staticmethod
    def _interrupted(event: Any) -> list[s.Op]:
        # Its RunStarted may never have been recorded (a run without lineage): the run is
        # still tied to its project, so it shows among the project's runs.
        project = event.summary.get("project")
        if not isinstance(project, str):
            return []
        p_uid, r_uid = s.project_uid(project), s.run_uid(event.run_id)
        create: dict[str, Any] = {"run_id": event.run_id, "project": project}
        for key in ("project_version", "started_at"):
            if event.summary.get(key) is not None:
                create[key] = event.summary[key]
        return [
            s.vertex(s.PROJECT, p_uid, {"name": project}),
            s.vertex(s.RUN, r_uid, create),
            s.edge(r_uid, s.PART_OF, p_uid),
        ]

    def _run_started(self, event: Any) -> list[s.Op]:
        project = event.project_name
        self._runs[event.run_id] = _RunState(project)
        p_uid = s.project_uid(project)
        pv_uid = s.project_version_uid(project, event.project_version)
        r_uid = s.run_uid(event.run_id)
        ops: list[s.Op] = [
            s.vertex(s.PROJECT, p_uid, {"name": project}, {"path": event.project_path}),
            s.vertex(
                s.PROJECT_VERSION,
                pv_uid,
                {
                    "project": project,
                    "version": event.project_version,
                    "first_seen_at": event.started_at,
                },
            ),
            s.vertex(
                s.RUN,
                r_uid,
                {
                    "run_id": event.run_id,
                    "project": project,
                    "project_version": event.project_version,
                    "started_at": event.started_at,
                    "node_ids_json": list(event.node_ids),
                    "overrides_json": event.overrides,
                },
                {"status": "running"},
            ),
            s.edge(pv_uid, s.VERSION_OF, p_uid),
            s.edge(r_uid, s.PART_OF, p_uid),
            s.edge(r_uid, s.USED, pv_uid),
        ]
        trigger = event.trigger
        if trigger:
            t_uid = s.trigger_uid(str(trigger.get("id") or event.run_id))
            ops.append(
                s.vertex(
                    s.TRIGGER_EVENT,
                    t_uid,
                    {
                        "kind": trigger.get("kind", "manual"),
                        "project": project,
                        "at": trigger.get("at", event.started_at),
                        "detail_json": trigger,
                    },
                )
            )
            ops.append(s.edge(r_uid, s.TRIGGERED_BY, t_uid))
            source_run = trigger.get("run_id") or trigger.get("source_run")
            if source_run:
                ops.append(s.vertex(s.RUN, s.run_uid(str(source_run)), {"run_id": str(source_run)}))
                ops.append(s.edge(t_uid, s.WAS_INFORMED_BY, s.run_uid(str(source_run))))
        return ops

    def _task_record(self, run_id: str, record: Any) -> list[s.Op]:
        state = self._runs.setdefault(run_id, _RunState("unknown"))
        r_uid = s.run_uid(run_id)
        tr_uid = s.task_run_uid(run_id, record.node_id, record.attempt)
        ops: list[s.Op] = [
            s.vertex(s.RUN, r_uid, {"run_id": run_id}),
            s.vertex(
                s.TASK_RUN,
                tr_uid,
                {
                    "run_id": run_id,
                    "node_id": record.node_id,
                    "node_kind": record.node_kind,
                    "target": record.target,
                    "target_kind": record.target_kind,
                    "profile": record.profile,
                    "cache_key": record.cache_key,
                    "code_identity": record.code_identity,
                    "attempt": record.attempt,
                    # A task record is final for its attempt: nothing here changes later.
                    "status": record.status,
                    "started_at": record.started_at,
                    "ended_at": record.ended_at,
                    "exit_code": record.exit_code,
                    "error": record.error,
                    "cached_from_run": record.cached_from_run,
                    "params_json": record.params or None,
                    "metrics_json": record.metrics or None,
                    "subgraph_path": getattr(record, "subgraph_path", None),
                },
            ),
            s.edge(tr_uid, s.PART_OF, r_uid),
        ]
        if record.code_identity:
            code_kind = "image" if record.target_kind in _IMAGE_TARGET_KINDS else "code"
            code_uid = s.artifact_uid(record.code_identity)
            ops.append(
                s.vertex(
                    s.ARTIFACT,
                    code_uid,
                    {
                        "sha256": record.code_identity.removeprefix("sha256:"),
                        "uri": record.code_identity,
                        "type": code_kind,
                        "kind": code_kind,
                    },
                )
            )
            ops.append(s.edge(tr_uid, s.USED, code_uid, "code"))
        informed_by: set[str] = set()
        for ref in record.inputs:
            a_uid = s.artifact_uid(ref.sha256)
            ops.append(self._artifact(ref))
            ops.append(s.edge(tr_uid, s.USED, a_uid, ref.port, {"port": ref.port}))
            producer = state.producers.get(ref.sha256)
            if producer is not None and producer != tr_uid:
                informed_by.add(producer)
        for producer in sorted(informed_by):
            ops.append(s.edge(tr_uid, s.WAS_INFORMED_BY, producer))
        if record.cached_from_run:
            ops.append(
                s.vertex(
                    s.RUN, s.run_uid(record.cached_from_run), {"run_id": record.cached_from_run}
                )
            )
            ops.append(
                s.edge(
                    tr_uid,
                    s.WAS_INFORMED_BY,
                    s.run_uid(record.cached_from_run),
                    "cache",
                    {"reason": "cached"},
                )
            )
        cached = record.status == "cached"
        model_outputs = []
        for ref in record.outputs:
            a_uid = s.artifact_uid(ref.sha256)
            ops.append(self._artifact(ref))
            ops.append(
                s.edge(
                    a_uid,
                    s.WAS_GENERATED_BY,
                    tr_uid,
                    ref.port,
                    {"port": ref.port, "cached": cached},
                )
            )
            state.producers[ref.sha256] = tr_uid
            if ref.type in s.MODEL_PORT_TYPES:
                model_outputs.append(ref)
        if model_outputs and record.status in ("succeeded", "cached"):
            ops.extend(self._model_version(state.project, run_id, tr_uid, record, model_outputs))
        return ops

    @staticmethod
    def _artifact(ref: Any) -> s.VertexOp:
        return s.vertex(
            s.ARTIFACT,
            s.artifact_uid(ref.sha256),
            {
                "sha256": ref.sha256,
                "uri": ref.uri,
                "size": ref.size,
                "type": ref.type,
                "kind": ref.kind,
            },
        )

    @staticmethod
    def _model_version(
        project: str, run_id: str, tr_uid: str, record: Any, outputs: list[Any]
    ) -> list[s.Op]:
        content = "+".join(sorted(ref.sha256 for ref in outputs))
        if len(outputs) > 1:
            content = hashlib.sha256(content.encode()).hexdigest()
        m_uid = s.model_uid(project, record.node_id)
        mv_uid = s.model_version_uid(project, record.node_id, content)
        ops: list[s.Op] = [
            s.vertex(
                s.MODEL,
                m_uid,
                {"project": project, "node_id": record.node_id, "node_kind": record.node_kind},
            ),
            s.vertex(
                s.MODEL_VERSION,
                mv_uid,
                {
                    "project": project,
                    "node_id": record.node_id,
                    "content": content,
                    "run_id": run_id,
                    "created_at": record.ended_at or record.started_at,
                    "params_json": record.params,
                    "metrics_json": record.metrics,
                    "port_types": ",".join(sorted({ref.type for ref in outputs})),
                },
            ),
            s.edge(mv_uid, s.VERSION_OF, m_uid),
            s.edge(mv_uid, s.WAS_GENERATED_BY, tr_uid),
        ]
        for ref in outputs:
            ops.append(
                s.edge(
                    mv_uid,
                    s.WAS_DERIVED_FROM,
                    s.artifact_uid(ref.sha256),
                    ref.port,
                    {"port": ref.port},
                )
            )
        return ops
