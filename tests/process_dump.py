"""Stacks of a stuck subprocess and its children, for a test's failure message: a run that
hangs in CI then says where (py-spy reads the Python stacks from outside the process)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for child in Path("/proc").glob(f"{parent}/task/*/children"):
            try:
                kids = [int(k) for k in child.read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def dump_stacks(pid: int) -> str:
    """Every Python thread's stack of ``pid`` and of its descendants (empty without py-spy)."""
    spy = shutil.which("py-spy")
    if spy is None:
        return ""
    parts = []
    for each in [pid, *descendants(pid)]:
        try:
            out = subprocess.run(
                [spy, "dump", "--pid", str(each)], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            parts.append(f"--- {each}: {exc}")
            continue
        parts.append(f"--- {each}\n{out.stdout}{out.stderr}")
    return "\n".join(parts)
