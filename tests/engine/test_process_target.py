"""The ``process`` target with real worker processes: fresh code, isolation, output, kill."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from twinflow_studio.engine import Engine, LogLine, NodeStateChanged, RunResult
from twinflow_studio.engine.process_pool import pool_for
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import HardwareProfile, Node, Port, Project, RetryPolicy


def node(
    node_id: str,
    func: str,
    outputs: tuple[tuple[str, str], ...] = (("out", "json"),),
    **kwargs: Any,
) -> Node:
    return Node(
        node_id,
        "python",
        params={"callable": func, "kwargs": kwargs},
        outputs=[Port(n, t) for n, t in outputs],
    )


def project(*nodes: Node) -> Project:
    p = Project("process")
    for n in nodes:
        p.add_node(n)
    return p


def write(folder: Path, name: str, source: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(source))


def value(result: RunResult, node_id: str, port: str = "out") -> Any:
    return json.loads(artifact_path(result.output(node_id, port)).read_text())


def run(engine: Engine, p: Project, folder: Path, **kwargs: Any) -> RunResult:
    return asyncio.run(engine.run(p, project_dir=folder, **kwargs))


def test_python_nodes_run_in_a_worker_process_by_default(tmp_path: Path) -> None:
    write(tmp_path, "where.py", "import os\ndef pid():\n    return os.getpid()\n")
    p = project(node("a", "where:pid"))
    events: list = []
    result = run(Engine([events.append]), p, tmp_path)
    assert result.ok, result.summary
    assert value(result, "a") != os.getpid()
    record = next(e.record for e in events if isinstance(e, NodeStateChanged) and e.record)
    assert record.target_kind == "process"


def test_an_edited_module_runs_on_the_next_run_of_the_same_engine(tmp_path: Path) -> None:
    write(tmp_path, "helper.py", "FACTOR = 2\n")
    write(tmp_path, "model.py", "from helper import FACTOR\ndef f(x):\n    return x * FACTOR\n")
    p = project(node("a", "model:f", x=10))
    engine = Engine()
    first = run(engine, p, tmp_path)
    assert value(first, "a") == 20 and first.nodes["a"].state == "succeeded"
    again = run(engine, p, tmp_path)
    assert again.nodes["a"].state == "cached"
    write(tmp_path, "model.py", "from helper import FACTOR\ndef f(x):\n    return x * FACTOR + 1\n")
    edited = run(engine, p, tmp_path)
    assert edited.nodes["a"].state == "succeeded", "a changed module must not be served cached"
    assert value(edited, "a") == 21
    # A module the callable imports is part of its code too.
    write(tmp_path, "helper.py", "FACTOR = 3\n")
    helper_edited = run(engine, p, tmp_path)
    assert helper_edited.nodes["a"].state == "succeeded"
    assert value(helper_edited, "a") == 31
    assert edited.nodes["a"].cache_key != helper_edited.nodes["a"].cache_key


def test_two_projects_with_same_named_modules_each_get_their_own(tmp_path: Path) -> None:
    for name in ("one", "two"):
        write(tmp_path / name, "tank_models.py", f"def which():\n    return {name!r}\n")
    p = project(node("a", "tank_models:which"))
    engine = Engine()

    async def both() -> list[RunResult]:
        return list(
            await asyncio.gather(
                engine.run(p, project_dir=tmp_path / "one"),
                engine.run(p, project_dir=tmp_path / "two"),
            )
        )

    first, second = asyncio.run(both())
    assert value(first, "a") == "one" and value(second, "a") == "two"
    # And again, in the other order, on the warm workers.
    assert value(run(engine, p, tmp_path / "two"), "a") == "two"
    assert value(run(engine, p, tmp_path / "one"), "a") == "one"


def test_print_logging_c_output_and_traceback_land_in_the_node_log(tmp_path: Path) -> None:
    write(
        tmp_path,
        "noisy.py",
        """
        import logging
        import os
        import sys

        def shout():
            print("hello from print")
            print("to stderr", file=sys.stderr)
            logging.getLogger("noisy").info("an info record")
            os.write(1, b"straight to fd 1\\n")
            inner()

        def inner():
            raise ValueError("the sensor table is empty")
        """,
    )
    p = project(node("a", "noisy:shout"))
    events: list = []
    result = run(Engine([events.append]), p, tmp_path)
    assert result.nodes["a"].state == "failed"
    assert result.nodes["a"].error == "ValueError: the sensor table is empty"
    assert result.summary["failed"][0]["error"] == "ValueError: the sensor table is empty"
    log = (result.run_dir / "a" / "log.txt").read_text()
    for text in (
        "hello from print",
        "to stderr",
        "INFO noisy: an info record",
        "straight to fd 1",
        "Traceback (most recent call last):",
        'noisy.py", line 14, in inner',
        "ValueError: the sensor table is empty",
    ):
        assert text in log, f"{text!r} missing from the log:\n{log}"
    streamed = [e for e in events if isinstance(e, LogLine) and e.node_id == "a"]
    assert any(e.line == "hello from print" and e.stream == "stdout" for e in streamed)
    assert any(e.line == "to stderr" and e.stream == "stderr" for e in streamed)
    failed = next(
        e.record for e in events if isinstance(e, NodeStateChanged) and e.state == "failed"
    )
    assert failed.error == "ValueError: the sensor table is empty"


STUCK = """
import ctypes
import os
import time
from pathlib import Path

def sleeps(marker):
    Path(marker).write_text(str(os.getpid()))
    time.sleep(60)

def in_c(marker):
    Path(marker).write_text(str(os.getpid()))
    # PyDLL keeps the GIL: not even the worker's own threads run until the call returns.
    ctypes.PyDLL(None).sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A killed child of the forkserver may linger as a zombie for a moment.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


@pytest.mark.parametrize("func", ["sleeps", "in_c"])
def test_timeout_kills_a_stuck_function_within_a_second(tmp_path: Path, func: str) -> None:
    write(tmp_path, "stuck.py", STUCK)
    marker = tmp_path / "pid"
    stuck = node("a", f"stuck:{func}", marker=str(marker))
    stuck.timeout_s = 1.0
    result = None
    # Warm the pool first: the timeout measures the node, not the first worker's start.
    write(tmp_path, "warm.py", "def ok():\n    return 1\n")
    engine = Engine()
    run(engine, project(node("w", "warm:ok")), tmp_path)
    started = time.monotonic()
    result = run(engine, project(stuck), tmp_path)
    elapsed = time.monotonic() - started
    assert result.nodes["a"].state == "failed"
    assert "timed out after 1 s" in result.nodes["a"].error
    assert elapsed < 1.0 + 1.0, elapsed
    pid = int(marker.read_text())
    deadline = time.monotonic() + 1.0
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(pid), "the worker that ran the stuck node must be ended"


@pytest.mark.parametrize("func", ["sleeps", "in_c"])
def test_cancel_ends_a_stuck_function_within_a_second(tmp_path: Path, func: str) -> None:
    write(tmp_path, "stuck.py", STUCK)
    marker = tmp_path / "pid"
    engine = Engine()

    async def main() -> tuple[RunResult, float]:
        task = asyncio.create_task(
            engine.run(
                project(node("a", f"stuck:{func}", marker=str(marker))), project_dir=tmp_path
            )
        )
        while not marker.exists() or not marker.read_text():
            await asyncio.sleep(0.02)
        cancelled_at = time.monotonic()
        engine.cancel()
        result = await task
        return result, time.monotonic() - cancelled_at

    result, elapsed = asyncio.run(main())
    assert result.status == "cancelled"
    assert elapsed < 1.0, elapsed
    pid = int(marker.read_text())
    deadline = time.monotonic() + 1.0
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(pid)


def test_cooperative_code_still_sees_check_cancelled(tmp_path: Path) -> None:
    write(
        tmp_path,
        "polite.py",
        """
        import time
        from pathlib import Path

        def waits(marker, ctx):
            while True:
                ctx.check_cancelled()
                Path(marker).write_text("running")
                time.sleep(0.01)
        """,
    )
    marker = tmp_path / "m"
    write(tmp_path, "warm.py", "def ok():\n    return 1\n")
    engine = Engine()
    run(engine, project(node("w", "warm:ok")), tmp_path)  # the timeout is for the node alone
    p = project(node("a", "polite:waits", marker=str(marker)))
    p.nodes["a"].timeout_s = 0.5
    result = run(engine, p, tmp_path)
    assert marker.exists()
    assert "timed out after 0.5 s" in result.nodes["a"].error


CRASHES = """
import ctypes
import os

def segfault():
    ctypes.string_at(0)

def exits():
    os._exit(3)

def killed():
    os.kill(os.getpid(), 9)  # what the kernel's OOM killer does

def fine():
    return "fine"
"""


def test_a_crashing_worker_fails_only_its_node(tmp_path: Path) -> None:
    write(tmp_path, "crashes.py", CRASHES)
    p = project(
        node("seg", "crashes:segfault"),
        node("exit", "crashes:exits"),
        node("oom", "crashes:killed"),
        node("ok", "crashes:fine"),
    )
    p.add_node(
        Node(
            "after",
            "python",
            params={"callable": "crashes:fine"},
            inputs=[Port("x", "json")],
            outputs=[Port("out", "json")],
        )
    )
    p.connect("seg", "out", "after", "x")
    engine = Engine()
    result = run(engine, p, tmp_path)
    assert result.status == "failed"
    assert "SIGSEGV" in result.nodes["seg"].error and "crashed" in result.nodes["seg"].error
    assert "exited with code 3" in result.nodes["exit"].error
    assert "killed (SIGKILL)" in result.nodes["oom"].error
    assert "out of memory" in result.nodes["oom"].error
    assert result.nodes["ok"].state == "succeeded"
    assert result.nodes["after"].state == "skipped"
    # The pool has replaced the dead workers: the next run works.
    assert run(engine, project(node("ok", "crashes:fine")), tmp_path).ok


def test_memory_mib_is_enforced_with_a_clear_message(tmp_path: Path) -> None:
    write(
        tmp_path,
        "hungry.py",
        """
        import time

        def eat(mib):
            block = bytearray(mib * 1024 * 1024)
            return len(block) // (1024 * 1024)

        def grow():
            blocks = []
            while True:  # never returns: only the watch can end it
                blocks.append(bytearray(16 * 1024 * 1024))
                time.sleep(0.01)
        """,
    )
    p = project(
        node("big", "hungry:eat", mib=600),
        node("small", "hungry:eat", mib=32),
        node("runaway", "hungry:grow"),
    )
    p.profiles["small"] = HardwareProfile("small", vcpus=1, memory_mib=256)
    for n in p.nodes.values():
        n.profile = "small"
    p.nodes["runaway"].retries = RetryPolicy(count=2, backoff_s=0.01)
    result = run(Engine(), p, tmp_path)
    assert result.nodes["small"].state == "succeeded" and value(result, "small") == 32
    assert result.nodes["big"].state == "failed"
    assert "exceeded 256 MiB" in result.nodes["big"].error
    assert "'small'" in result.nodes["big"].error
    assert result.nodes["runaway"].state == "failed"
    assert "exceeded 256 MiB" in result.nodes["runaway"].error
    assert result.nodes["runaway"].attempts == 1  # not retried: it would only fail again


def test_thread_pools_start_under_the_memory_limit(tmp_path: Path) -> None:
    """pyarrow starts its thread pools on the first parquet read of a fresh worker; under an
    address-space limit their reserved arenas and stacks made that read hang or abort about
    one worker in three. Each project here gets its own pool, so each read is a first one."""
    import numpy as np
    import pandas as pd

    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(20):
        pd.DataFrame({"seq": np.arange(500) + 500 * i, "t": np.random.rand(500)}).to_parquet(
            parts / f"p{i:02d}.parquet"
        )
    source = f"""
        import pandas as pd

        def rows():
            return len(pd.read_parquet({str(parts)!r}))
        """
    for attempt in range(6):
        folder = tmp_path / f"project{attempt}"
        write(folder, "reader.py", source)
        p = project(node("read", "reader:rows"))
        p.nodes["read"].timeout_s = 30  # a hang fails the node instead of the test session
        p.profiles["small"] = HardwareProfile("small", vcpus=1, memory_mib=256)
        p.nodes["read"].profile = "small"
        result = run(Engine(), p, folder)
        assert result.ok, result.nodes["read"].error
        assert value(result, "read") == 10_000


def test_workers_stay_warm_between_runs(tmp_path: Path) -> None:
    write(tmp_path, "where.py", "import os\ndef pid():\n    return os.getpid()\n")
    p = project(node("a", "where:pid"))
    engine = Engine()
    first = value(run(engine, p, tmp_path, use_cache=False), "a")
    second = value(run(engine, p, tmp_path, use_cache=False), "a")
    assert first == second
    assert first in pool_for(tmp_path, "workers", 4).idle_pids()


def test_explicit_inprocess_placement_still_runs_on_threads(tmp_path: Path) -> None:
    write(tmp_path, "where.py", "import os\ndef pid():\n    return os.getpid()\n")
    p = project(node("a", "where:pid"))
    p.nodes["a"].target = "local"
    result = run(Engine(), p, tmp_path)
    assert value(result, "a") == os.getpid()


def test_dataframes_cross_as_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        "frames.py",
        """
        import pandas as pd

        def make():
            return pd.DataFrame({"x": range(1000), "y": [v * 2 for v in range(1000)]})

        def total(table):
            return int(table["y"].sum())
        """,
    )
    p = project(node("make", "frames:make", outputs=(("out", "dataframe"),)))
    p.add_node(
        Node(
            "sum",
            "python",
            params={"callable": "frames:total"},
            inputs=[Port("table", "dataframe")],
            outputs=[Port("out", "json")],
        )
    )
    p.connect("make", "out", "sum", "table")
    result = run(Engine(), p, tmp_path)
    assert result.ok, result.summary
    assert value(result, "sum") == sum(v * 2 for v in range(1000))
    assert artifact_path(result.output("make", "out")).suffix == ".csv"


def test_inprocess_also_runs_an_edited_module_on_the_next_run(tmp_path: Path) -> None:
    """The in-process target shares the studio's interpreter: a changed module is imported
    afresh rather than served from sys.modules under a cache key that names the new code."""
    write(tmp_path, "inproc_edit_helper.py", "FACTOR = 2\n")
    write(
        tmp_path,
        "inproc_edit.py",
        "from inproc_edit_helper import FACTOR\ndef f(x):\n    return x * FACTOR\n",
    )
    p = project(node("a", "inproc_edit:f", x=10))
    p.nodes["a"].target = "local"
    engine = Engine()
    assert value(run(engine, p, tmp_path), "a") == 20
    write(tmp_path, "inproc_edit_helper.py", "FACTOR = 5\n")
    edited = run(engine, p, tmp_path)
    assert edited.nodes["a"].state == "succeeded"
    assert value(edited, "a") == 50


def test_map_nodes_and_retries_run_on_workers(tmp_path: Path) -> None:
    write(
        tmp_path,
        "mapped.py",
        """
        from pathlib import Path

        def items():
            return [1, 2, 3]

        def square(x):
            return x * x

        def flaky(counter):
            path = Path(counter)
            calls = int(path.read_text()) if path.exists() else 0
            path.write_text(str(calls + 1))
            if calls < 1:
                raise ConnectionError("transient")
            return calls + 1
        """,
    )
    p = project(
        node("items", "mapped:items"), node("f", "mapped:flaky", counter=str(tmp_path / "c"))
    )
    p.add_node(
        Node(
            "sq",
            "python",
            params={"callable": "mapped:square"},
            inputs=[Port("x", "json")],
            outputs=[Port("out", "json")],
            map_over="x",
        )
    )
    p.connect("items", "out", "sq", "x")
    p.nodes["f"].retries.count = 2
    p.nodes["f"].retries.backoff_s = 0.01
    result = run(Engine(), p, tmp_path)
    assert result.ok, result.summary
    assert value(result, "sq") == [1, 4, 9]
    assert value(result, "f") == 2 and result.nodes["f"].attempts == 2
    assert "ConnectionError: transient" in (result.run_dir / "f" / "log.txt").read_text()


def test_idle_workers_of_all_pools_are_capped(tmp_path: Path, monkeypatch) -> None:
    from twinflow_studio.engine import process_pool

    monkeypatch.setattr(process_pool, "MAX_IDLE", 2)
    pids = []
    for name in ("p1", "p2", "p3"):
        write(tmp_path / name, "where.py", "import os\ndef pid():\n    return os.getpid()\n")
        result = run(Engine(), project(node("a", "where:pid")), tmp_path / name)
        pids.append(value(result, "a"))
    pools = [pool_for(tmp_path / name, "workers", 4) for name in ("p1", "p2", "p3")]
    assert sum(len(pool.idle_pids()) for pool in pools) <= 2
    assert pools[0].idle_pids() == []  # the longest idle went first
    deadline = time.monotonic() + 2.0
    while not _gone(pids[0]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(pids[0])
    assert pids[2] in pools[2].idle_pids()


def test_a_run_cancelled_while_its_worker_starts_leaves_the_pool_whole(tmp_path: Path) -> None:
    write(tmp_path, "where.py", "import os\ndef pid():\n    return os.getpid()\n")
    engine = Engine()

    async def cancel_at_once() -> RunResult:
        task = asyncio.create_task(
            engine.run(project(node("a", "where:pid")), project_dir=tmp_path)
        )
        await asyncio.sleep(0.05)  # the worker is starting (that takes longer than this)
        engine.cancel()
        return await task

    assert asyncio.run(cancel_at_once()).status == "cancelled"
    pool = pool_for(tmp_path, "workers", 4)
    deadline = time.monotonic() + 10
    while pool.workers and not pool.idle_pids() and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker that was starting joins the pool once it is up
    assert pool.workers <= 1
    result = run(engine, project(node("a", "where:pid")), tmp_path)
    assert result.ok
    assert pool.workers == 1


def test_a_bad_workers_option_fails_the_nodes_with_a_clear_message(tmp_path: Path) -> None:
    write(tmp_path, "where.py", "import os\ndef pid():\n    return os.getpid()\n")
    p = project(node("a", "where:pid"))
    p.targets["workers"].options["workers"] = "many"
    result = run(Engine(), p, tmp_path)
    assert result.nodes["a"].state == "failed"
    assert result.nodes["a"].error == (
        "target 'workers': options.workers must be a whole number of at least 1, found 'many'"
    )


def test_ctrl_c_on_a_headless_run_ends_a_worker_stuck_in_c(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from twinflow_studio.project import save

    write(tmp_path, "stuck.py", STUCK)
    marker = tmp_path / "pid"
    save(project(node("a", "stuck:in_c", marker=str(marker))), tmp_path / "p.twin")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twinflow_studio",
            "--run",
            str(tmp_path / "p.twin"),
            "--no-lineage",
            "--trust",
        ],
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(marker.read_text())
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
    deadline = time.monotonic() + 2.0
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(pid), "the worker outlived the headless run"
    run_json = json.loads(next((tmp_path / ".twinflow" / "runs").glob("*/run.json")).read_text())
    assert run_json["status"] == "cancelled"
