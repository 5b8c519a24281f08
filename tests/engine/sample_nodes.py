"""Functions the engine tests run as Python model nodes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_running = 0
peak = 0


def const(value: Any) -> Any:
    return value


def add(a: float, b: float = 0) -> float:
    return a + b


def boom(message: str = "boom") -> None:
    raise RuntimeError(message)


def flaky(counter: str, fail_times: int, ctx: Any, x: Any = None) -> int:
    """Fails the first ``fail_times`` calls (counted in a file), then succeeds."""
    path = Path(counter)
    calls = int(path.read_text()) if path.exists() else 0
    path.write_text(str(calls + 1))
    ctx.log(f"call {calls + 1}")
    if calls < fail_times:
        raise ConnectionError(f"transient failure {calls + 1}")
    return calls + 1


def sleepy(seconds: float, ctx: Any) -> str:
    """Sleeps cooperatively: stops early when the run is cancelled or timed out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ctx.check_cancelled()
        time.sleep(0.02)
    return "slept"


def concurrent(seconds: float = 0.2) -> int:
    """Records how many of these run at the same time."""
    global _running, peak
    with _lock:
        _running += 1
        peak = max(peak, _running)
    time.sleep(seconds)
    with _lock:
        _running -= 1
    return 1


def count_rows(table: Any) -> int:
    return int(len(table))


def write_file(text: str, ctx: Any) -> Path:
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.output_dir / "out.txt"
    path.write_text(text)
    return path


def read_file(path: Path) -> str:
    return Path(path).read_text()


def echo_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def square(x: float) -> float:
    return x * x
