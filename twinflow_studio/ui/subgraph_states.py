"""The run state of a subgraph instance, rolled up from the nodes flattened out of it.

The engine runs the flattened project, so its events name ``outer--inner`` nodes only; the
instance on the canvas shows a state derived from the states of all its inner nodes (at any
depth; one not reported yet counts as ``pending``), first rule that holds:

1. ``running``   any inner node runs or retries;
2. ``failed``    any failed;
3. ``cancelled`` any was cancelled;
4. ``pending`` / ``queued``  none has started yet (``queued`` once any is queued);
5. ``running``   some are done and others still to come;
6. all done: ``cached`` if all were cached, ``skipped_branch`` / ``skipped`` if all were
   skipped, else ``succeeded``.

The badge says how many inner nodes are done while the instance is not (``running 1/3``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from twinflow_studio.engine.events import TERMINAL_STATES, NodeState
from twinflow_studio.project.subgraphs import SEPARATOR

SKIPPED = frozenset({NodeState.SKIPPED, NodeState.SKIPPED_BRANCH})


def rollup(states: list[str]) -> str:
    """The instance's state from its inner nodes' ones (the rules above)."""
    if any(s in (NodeState.RUNNING, NodeState.RETRYING) for s in states):
        return NodeState.RUNNING
    for final in (NodeState.FAILED, NodeState.CANCELLED):
        if final in states:
            return final
    done = [s for s in states if s in TERMINAL_STATES]
    if not done:
        return NodeState.QUEUED if NodeState.QUEUED in states else NodeState.PENDING
    if len(done) < len(states):
        return NodeState.RUNNING
    if all(s == NodeState.CACHED for s in done):
        return NodeState.CACHED
    if all(s in SKIPPED for s in done):
        same = len(set(done)) == 1
        return done[0] if same else NodeState.SKIPPED
    return NodeState.SUCCEEDED


def instance_states(
    run_nodes: Iterable[str], latest: Mapping[str, str], prefix: str = ""
) -> dict[str, tuple[str, str]]:
    """(state, badge text) of each subgraph instance whose flattened id starts with
    ``prefix`` (``""``: the project's own canvas; ``"outer--"``: the body of ``outer``),
    from the run's flattened node ids and the last state each one reported."""
    inner: dict[str, list[str]] = {}
    for node_id in run_nodes:
        if not node_id.startswith(prefix):
            continue
        instance, sep, _rest = node_id[len(prefix) :].partition(SEPARATOR)
        if sep:
            inner.setdefault(instance, []).append(latest.get(node_id, NodeState.PENDING))
    out = {}
    for instance, states in inner.items():
        state = rollup(states)
        done = sum(s in TERMINAL_STATES for s in states)
        text = state if done in (0, len(states)) else f"{state} {done}/{len(states)}"
        out[instance] = (str(state), text)
    return out


def latest_states(history: Mapping[str, list[str]]) -> dict[str, str]:
    """The last state each node reported (``RunController.history``)."""
    return {node_id: seen[-1] for node_id, seen in history.items() if seen}


class SubgraphStates:
    """Keeps the state of the subgraph instances on the project's canvas in step with the
    run's events, and sets it once more when the run ends."""

    def __init__(self, runs: Any, canvas: Callable[[], Any]) -> None:
        self.runs = runs
        self.canvas = canvas
        runs.states.connect(lambda _states: self.update())
        runs.finished.connect(lambda _summary: self.update())

    def update(self) -> None:
        states = instance_states(self.runs.node_ids, latest_states(self.runs.history))
        if states:
            self.canvas().set_states(states)
