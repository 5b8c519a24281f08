"""Executor of the `mqtt` node: its window of the stored messages, as a dataframe."""

from __future__ import annotations

from typing import Any

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.engine.task import TaskContext
from twinflow_studio.twinstat.mqtt_decode import Decoder
from twinflow_studio.twinstat.mqtt_table import MqttTable, table_dir


def run_mqtt_source(ctx: TaskContext) -> dict[str, Any]:
    try:
        table = MqttTable(table_dir(ctx.project_dir, ctx.node_id))
    except ValueError as exc:
        raise TaskFailed(str(exc), retryable=False) from exc
    rows = int(ctx.params.get("window_rows", 0) or 0)
    seconds = float(ctx.params.get("window_seconds", 0) or 0)
    frame = table.window(rows, seconds)
    if frame.empty:
        frame = Decoder(ctx.params).empty()
        ctx.log(
            "no messages stored yet: they are stored while the twin is live "
            "(--run --watch, or the studio's live mode) and, before a --run, what the "
            "broker kept for the session"
        )
    else:
        ctx.log(f"window: {len(frame)} row(s) of {table.root}")
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    out = ctx.output_dir / "data.parquet"
    frame.to_parquet(out, index=False)
    return {"data": out}
