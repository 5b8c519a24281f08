"""A node's ``env`` as a target passes it: literals, values read from the host environment
at dispatch (``{"from_env": "NAME"}``) and, on Batch, secret ARNs Batch resolves itself.

Resolved values exist only in memory, on their way to the container: the project, the run
snapshot, cache keys and lineage keep the reference. Log lines are masked with the resolved
values, so a command echoing its environment does not write the secret into ``log.txt``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.project.secrets import FROM_ENV, FROM_SECRET, env_reference

MASK = "***"
# Shorter values would mask ordinary words in every log line.
_MIN_MASKED = 4


@dataclass(frozen=True)
class NodeEnv:
    literal: dict[str, str] = field(default_factory=dict)
    from_host: dict[str, str] = field(default_factory=dict)
    # Environment variable name -> Secrets Manager / SSM parameter ARN (Batch only).
    secrets: dict[str, str] = field(default_factory=dict)

    def masked_values(self) -> tuple[str, ...]:
        values = {v for v in self.from_host.values() if len(v) >= _MIN_MASKED}
        return tuple(sorted(values, key=len, reverse=True))


def resolve_env(
    node_id: str, env: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> NodeEnv:
    """Reads ``from_env`` references from ``environ`` (the process environment)."""
    host = os.environ if environ is None else environ
    literal: dict[str, str] = {}
    from_host: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for name, value in (env or {}).items():
        ref = env_reference(value)
        if ref is None:
            literal[str(name)] = str(value)
        elif ref[0] == FROM_ENV:
            if ref[1] not in host:
                raise TaskFailed(
                    f"node {node_id!r}: env {name} takes its value from the environment "
                    f"variable {ref[1]}, which is not set where this run started; set it "
                    "there (it is never stored in the project)",
                    retryable=False,
                )
            from_host[str(name)] = host[ref[1]]
        elif ref[0] == FROM_SECRET:
            secrets[str(name)] = ref[1]
    return NodeEnv(literal, from_host, secrets)


def masking(log: Callable[..., None], values: tuple[str, ...]) -> Callable[..., None]:
    """``log`` with each of ``values`` replaced by ``***`` in every line."""
    if not values:
        return log

    def masked(line: str, *args: Any, **kwargs: Any) -> None:
        for value in values:
            if value in line:
                line = line.replace(value, MASK)
        log(line, *args, **kwargs)

    return masked
