"""The twin's status, read back from the run store: what a twin panel and ``--watch --json``
show.

- ``parameters``: per calibration node and parameter, its history over the runs that
  computed a new posterior (cache hits are not repeated): mean, median and 90 % band, with the
  run id, its time and cause.
- ``drift``: the latest drift report of each drift_check node.
- ``last_data``: the newest modification time of a file a data source reads.
- ``predictive``: observed vs predicted (5/50/95 % bands) of each calibration node's latest
  window, as the node stored it in its summary.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

MAX_RUNS = 500  # a long-lived twin: the status shows the recent history


def _read_json(uri: Any) -> Any:
    if not isinstance(uri, str):
        return None
    path = Path(unquote(urlparse(uri).path)) if uri.startswith("file://") else Path(uri)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _run_time(run_id: str) -> str:
    """Run ids start with a UTC timestamp (``20261130T143912.322Z-...``)."""
    try:
        stamp = datetime.strptime(run_id.split("-")[0], "%Y%m%dT%H%M%S.%fZ")
    except ValueError:
        return ""
    return stamp.replace(tzinfo=timezone.utc).isoformat()


def _runs(store: Path) -> list[dict[str, Any]]:
    try:
        folders = sorted(p for p in (store / "runs").iterdir() if p.is_dir())
    except OSError:
        return []
    out = []
    for folder in folders[-MAX_RUNS:]:
        try:
            record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a run still going, or one interrupted before it wrote its record
        if isinstance(record, dict) and isinstance(record.get("nodes"), dict):
            out.append(record)
    return out


def _last_data(project: Any, project_dir: Path) -> str | None:
    newest = 0.0
    for node in project.nodes.values():
        location = node.params.get("path") if node.kind == "datasource" else None
        if not isinstance(location, str) or location.startswith("s3://"):
            continue
        path = Path(location).expanduser()
        path = path if path.is_absolute() else project_dir / path
        files = [path] if path.is_file() else (list(path.iterdir()) if path.is_dir() else [])
        for file in files:
            try:
                if file.is_file() and not file.name.startswith("."):
                    newest = max(newest, file.stat().st_mtime)
            except OSError:
                continue
    if not newest:
        return None
    return datetime.fromtimestamp(newest, timezone.utc).isoformat()


def twin_status(project: Any, project_dir: Path) -> dict[str, Any]:
    project_dir = Path(project_dir)
    setting = project.settings.get("run_store", "")
    store = Path(setting) if isinstance(setting, str) and setting else project_dir / ".twinflow"
    store = store if store.is_absolute() else project_dir / store
    calibrations = sorted(n for n, node in project.nodes.items() if node.kind == "calibration")
    checks = sorted(n for n, node in project.nodes.items() if node.kind == "drift_check")
    parameters: dict[str, dict[str, list[dict[str, Any]]]] = {n: {} for n in calibrations}
    predictive: dict[str, Any] = {}
    drift: dict[str, Any] = {}
    seen: set[str] = set()
    for record in _runs(store):
        run_id = str(record.get("run_id", ""))
        for node_id in calibrations:
            outcome = record["nodes"].get(node_id) or {}
            uri = (outcome.get("outputs") or {}).get("summary")
            if outcome.get("state") != "succeeded" or not uri or uri in seen:
                continue
            seen.add(uri)
            summary = _read_json(uri)
            if not isinstance(summary, dict):
                continue
            for name, p in (summary.get("parameters") or {}).items():
                parameters[node_id].setdefault(name, []).append(
                    {
                        "run_id": run_id,
                        "time": _run_time(run_id),
                        "trigger": record.get("trigger"),
                        **{k: p.get(k) for k in ("mean", "q05", "q50", "q95")},
                        "changed": bool(
                            ((summary.get("prior_source") or {}).get("adaptive") or {}).get(
                                "changed"
                            )
                        ),
                    }
                )
            if isinstance(summary.get("predictive"), dict):
                predictive[node_id] = {"run_id": run_id, **summary["predictive"]}
        for node_id in checks:
            outcome = record["nodes"].get(node_id) or {}
            report = _read_json((outcome.get("outputs") or {}).get("report"))
            if outcome.get("state") == "succeeded" and isinstance(report, dict):
                drift[node_id] = {"run_id": run_id, "time": _run_time(run_id), **report}
    return {
        "parameters": parameters,
        "drift": drift,
        "last_data": _last_data(project, project_dir),
        "predictive": predictive,
    }
