"""The one error type TwinStat raises for bad input, so callers can show where it is."""

from __future__ import annotations

from twinflow_studio.project.errors import TwinFlowError


class TwinStatError(TwinFlowError, ValueError):
    """Bad input to a TwinStat model or node. ``field`` names the parameter or port at fault;
    ``node`` is filled in by the node executors so the message says which node it was."""

    def __init__(self, message: str, *, field: str | None = None, node: str | None = None):
        self.reason = message
        self.field = field
        self.node = node
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.node:
            where.append(f"node {self.node!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def at_node(self, node: str) -> TwinStatError:
        """The same error, now naming the node (raised from executors)."""
        err = TwinStatError(self.reason, field=self.field, node=node)
        err.__cause__ = self.__cause__
        return err
