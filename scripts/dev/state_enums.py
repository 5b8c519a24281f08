"""Rewrites node-state and run-status string literals in the scheduler as NodeState/RunStatus
members. Idempotent: rerun it after merging other branches' scheduler edits."""

from __future__ import annotations

import re
import sys
from pathlib import Path

STATES = ("pending", "queued", "running", "retrying", "succeeded", "cached", "failed",
          "skipped", "cancelled")  # fmt: skip
# Only where a literal is a state: passed to _finish/_state/_record, compared with .state,
# tested for membership in states, or assigned to status.
CONTEXTS = [
    (r'(self\._(?:finish|state|record)\([^,()]+,\s*)"({s})"', r"\1NodeState.{S}"),
    (r'(\.state\s*(?:==|!=)\s*)"({s})"', r"\1NodeState.{S}"),
    (r'(state:\s*str\s*=\s*)"({s})"', r"\1NodeState.{S}"),
    (r'(status\s*==\s*)"({s})"', r"\1RunStatus.{S}"),
    (r'(status\s*=\s*)"({s})"', r"\1RunStatus.{S}"),
    (r'"({s})"(\s+in\s+states)', r"NodeState.{S}\2"),
]


def rewrite(text: str) -> str:
    for state in STATES:
        for pattern, repl in CONTEXTS:
            text = re.sub(pattern.format(s=state), repl.format(S=state.upper()), text)
    # Multi-line calls: _finish(\n node, "failed", ...) and _state(\n node, "succeeded", ...)
    for state in STATES:
        text = re.sub(
            rf'(self\._(?:finish|state)\(\s*\n\s*[^,\n]+,\s*\n\s*)"{state}"',
            rf"\1NodeState.{state.upper()}",
            text,
        )
        text = re.sub(
            rf'(self\._record\(\s*[^,()]+,\s*)"{state}"', rf"\1NodeState.{state.upper()}", text
        )
    return text


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        path.write_text(rewrite(path.read_text()))
