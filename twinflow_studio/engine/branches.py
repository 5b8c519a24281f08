"""Branches decided at run time: the switch and merge executors, and which children of a
finished node a branch not taken leaves out.

A switch produces only its chosen output. A node fed by an output the switch left empty
(or by a node so left out) ends ``skipped_branch``: not run, not failed, and the run still
succeeds. A merge runs once all its inputs are settled if at least one of them arrived.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.engine.executors import import_callable
from twinflow_studio.engine.task import TaskContext

SKIPPED_BRANCH = "skipped_branch"
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda a, b: a in b,
}


def _field(value: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise TaskFailed(f"the input has no field {path!r}", retryable=False)
    return value


def choose(value: Any, params: Mapping[str, Any], outputs: list[str]) -> str:
    """The output a switch with ``params`` sends ``value`` to."""
    predicate = str(params.get("callable") or "")
    if predicate:
        chosen = import_callable(predicate)(value)
    else:
        chosen = params.get("default") or ""
        for i, case in enumerate(params.get("cases") or []):
            if not isinstance(case, Mapping):
                raise TaskFailed(f"cases[{i}] must be an object {{output, field, op, value}}")
            op = _OPS.get(str(case.get("op", "==")))
            if op is None:
                raise TaskFailed(f"cases[{i}].op must be one of {' '.join(_OPS)}", retryable=False)
            try:
                holds = op(_field(value, str(case.get("field") or "")), case.get("value"))
            except TypeError as exc:
                raise TaskFailed(f"cases[{i}] cannot compare: {exc}", retryable=False) from None
            if holds:
                chosen = case.get("output")
                break
    if chosen not in outputs:
        raise TaskFailed(
            f"the switch chose {chosen!r}, which is not one of its outputs {', '.join(outputs)}",
            retryable=False,
        )
    return str(chosen)


def run_switch(ctx: TaskContext) -> dict[str, Any]:
    art = ctx.inputs.get("value")
    value = art.load() if art is not None else None
    chosen = choose(value, ctx.params, list(ctx.output_ports))
    return {chosen: value}


def run_merge(ctx: TaskContext) -> dict[str, Any]:
    for port in ctx.inputs:
        return {"out": ctx.inputs[port].load()}
    raise TaskFailed("none of the merge's inputs arrived", retryable=False)


class BranchRule:
    """Which children a finished node leaves out; keeps per-merge "has an input arrived"."""

    def __init__(self, kinds: Mapping[str, str]) -> None:
        self.kinds = kinds
        self.live: dict[str, bool] = {}

    def dead(self, parent: str, state: str, outputs: Mapping[str, Any], port: str) -> bool:
        """Whether the edge from ``parent.port`` carries nothing because of a branch."""
        if state == SKIPPED_BRANCH:
            return True
        return (
            self.kinds.get(parent) == "switch"
            and state in ("succeeded", "cached")
            and port not in outputs
        )

    def verdict(self, child: str, dead: bool, waiting: int) -> str:
        """After one input edge of ``child`` settled: "ready", "wait" or ``SKIPPED_BRANCH``."""
        if self.kinds.get(child) != "merge":
            if dead:
                return SKIPPED_BRANCH
            return "ready" if waiting == 0 else "wait"
        if not dead:
            self.live[child] = True
        if waiting:
            return "wait"
        return "ready" if self.live.get(child) else SKIPPED_BRANCH
