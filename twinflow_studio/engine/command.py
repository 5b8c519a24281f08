"""Placeholders in a container command: ``{inputs.PORT}``, ``{outputs.PORT}``,
``{params.KEY}``. Only these exact forms are replaced, so other braces (Python dicts in a
``-c`` script, shell ``${VAR}``) pass through untouched."""

from __future__ import annotations

import json
import re
from typing import Any

from twinflow_studio.engine.errors import TaskFailed

_PLACEHOLDER = re.compile(r"\{(inputs|outputs|params)\.([A-Za-z0-9_.-]+)\}")


def render_command(
    command: list[Any], *, inputs: dict[str, str], outputs: dict[str, str], params: dict[str, Any]
) -> list[str]:
    tables: dict[str, dict[str, Any]] = {"inputs": inputs, "outputs": outputs, "params": params}

    def replace(match: re.Match[str]) -> str:
        table, key = match.group(1), match.group(2)
        if key not in tables[table]:
            known = ", ".join(sorted(tables[table])) or "none"
            raise TaskFailed(
                f"command placeholder {match.group(0)} names no {table[:-1]} (known: {known})",
                retryable=False,
            )
        value = tables[table][key]
        return value if isinstance(value, str) else json.dumps(value)

    return [_PLACEHOLDER.sub(replace, str(arg)) for arg in command]
