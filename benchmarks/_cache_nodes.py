"""Nodes the cache verification benchmark runs: tiny values, tiny files, large files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def tiny_value(i: int) -> int:
    return i


def tiny_file(ctx: Any, i: int) -> Path:
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.output_dir / "tiny.txt"
    path.write_text(f"{i}\n")
    return path


def large_file(ctx: Any, i: int, mib: int) -> Path:
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.output_dir / "large.bin"
    block = os.urandom(1 << 20)
    with open(path, "wb") as out:
        out.write(i.to_bytes(8, "little"))
        for _ in range(mib):
            out.write(block)
    return path
