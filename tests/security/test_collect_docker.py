"""Attacks through what a Docker container leaves in /twinflow/outputs, against real Docker.

Each test plants sentinel files on the host (the ``host`` fixture), runs a container that
tries one trick, and proves that the run ends with a clear error naming the entry, that no
host content reached the run store and that nothing outside the run folder changed.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from security_helpers import container, leftovers, run, run_log

from twinflow_studio.engine import Engine
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import HardwareProfile, Node, Port, Project

pytestmark = pytest.mark.docker


def one_node(image: str, script: str, port: str = "out", **params) -> Project:
    p = Project("attack")
    p.add_node(container("evil", image, script, outputs=((port, "file"),), **params))
    # A consumer downstream: it must never see what the attacker planted.
    p.add_node(
        Node(
            "use",
            "container",
            params={"image": image, "command": ["true"]},
            inputs=[Port("data", "file")],
        )
    )
    p.connect("evil", port, "use", "data")
    return p


def assert_refused(result, needle: str) -> str:
    assert result.status == "failed", result.summary
    outcome = result.nodes["evil"]
    assert outcome.state == "failed" and outcome.attempts == 1  # a retry cannot help
    assert needle in outcome.error, outcome.error
    assert result.nodes["use"].state != "succeeded"
    assert leftovers(result, "evil") == []  # no link, FIFO or socket stays in the run folder
    assert not (result.run_dir / "evil" / "outputs").exists()
    return outcome.error


def test_symlink_to_a_host_file_is_refused(host, image) -> None:
    script = f"import os; os.symlink({str(host.secret)!r}, '/twinflow/outputs/out')"
    result = run(one_node(image, script), host.project)
    error = assert_refused(result, "output entry 'out' is a symbolic link")
    assert str(host.secret) in error and "only be regular files and folders" in error


def test_symlink_to_a_host_folder_is_refused(host, image) -> None:
    script = f"import os; os.symlink({str(host.folder)!r}, '/twinflow/outputs/out')"
    result = run(one_node(image, script), host.project)
    assert_refused(result, "output entry 'out' is a symbolic link")


def test_symlink_deep_inside_an_output_folder_is_refused(host, image) -> None:
    script = (
        "import os\n"
        "os.makedirs('/twinflow/outputs/out/sub')\n"
        "open('/twinflow/outputs/out/a.txt', 'w').write('fine')\n"
        f"os.symlink({str(host.folder)!r}, '/twinflow/outputs/out/sub/link')\n"
    )
    result = run(one_node(image, script), host.project)
    assert_refused(result, "output entry 'out/sub/link' is a symbolic link")


def test_hard_link_in_the_outputs_is_refused(host, image) -> None:
    script = (
        "import os\n"
        "os.makedirs('/twinflow/outputs/out')\n"
        "open('/twinflow/outputs/out/a', 'w').write('x')\n"
        "os.link('/twinflow/outputs/out/a', '/twinflow/outputs/out/b')\n"
    )
    result = run(one_node(image, script), host.project)
    error = assert_refused(result, "is a hard link (2 names for one file)")
    assert "output entry 'out/a'" in error or "output entry 'out/b'" in error


def test_fifo_output_fails_at_once_within_the_timeout(host, image) -> None:
    """It used to block the collector forever: timeout_s never fired, Ctrl-C was ignored."""
    p = one_node(image, "import os; os.mkfifo('/twinflow/outputs/out')")
    p.nodes["evil"].timeout_s = 60
    started = time.monotonic()
    result = run(p, host.project)
    assert time.monotonic() - started < 60
    assert_refused(result, "output entry 'out' is a FIFO (named pipe)")


def test_socket_output_is_refused(host, image) -> None:
    script = "import socket\ns = socket.socket(socket.AF_UNIX)\ns.bind('/twinflow/outputs/out')\n"
    result = run(one_node(image, script), host.project)
    assert_refused(result, "output entry 'out' is a socket")


def test_device_node_cannot_even_be_made(host, image) -> None:
    """mknod needs CAP_MKNOD, which every container lost; the output is simply missing."""
    script = (
        "import os, stat\n"
        "try:\n"
        "    os.mknod('/twinflow/outputs/out', stat.S_IFCHR | 0o666, os.makedev(1, 3))\n"
        "    print('mknod worked')\n"
        "except PermissionError as e:\n"
        "    print('mknod refused', e.errno)\n"
    )
    result = run(one_node(image, script), host.project)
    assert "mknod refused 1" in run_log(result, "evil")  # EPERM
    assert_refused(result, "did not produce required output(s) out")


def test_oversize_output_is_refused_and_not_kept(host, image) -> None:
    p = one_node(image, "open('/twinflow/outputs/out', 'wb').write(b'x' * (3 << 20))")
    p.profiles["tiny"] = HardwareProfile("tiny", max_output_mib=1)
    p.nodes["evil"].profile = "tiny"
    result = run(p, host.project)
    error = assert_refused(result, "output entry 'out': the outputs exceed the size cap of 1 MiB")
    assert "max_output_mib = 1 of hardware profile 'tiny'" in error
    assert not (result.run_dir / "evil" / "attempt-1" / "collected").exists()


def test_cancel_during_collection_stops_it(host, image) -> None:
    """A big output is being copied when the user cancels: the copy stops at once."""
    size = 3 << 30  # sparse in the container, so writing it costs nothing there
    p = one_node(image, f"f = open('/twinflow/outputs/out', 'wb'); f.truncate({size})")
    partial = None

    async def scenario():
        nonlocal partial
        engine = Engine()
        task = asyncio.create_task(engine.run(p, project_dir=host.project))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not task.done():
            runs = list(
                (host.project / ".twinflow" / "runs").glob("*/evil/attempt-1/collected/out")
            )
            if runs:
                partial = runs[0]
                break
            await asyncio.sleep(0.02)
        assert partial is not None, "the collection never started"
        engine.cancel()
        cancelled_at = time.monotonic()
        result = await asyncio.wait_for(task, 60)
        return result, time.monotonic() - cancelled_at

    result, took = asyncio.run(scenario())
    assert result.status == "cancelled"
    assert took < 15
    # The collector thread stopped and removed its partial copy.
    assert not partial.exists()
    assert not (result.run_dir / "evil" / "attempt-1" / "outputs").exists()


def test_regular_outputs_are_rebuilt_inside_the_run_folder(host, image) -> None:
    script = (
        "import os\n"
        "os.makedirs('/twinflow/outputs/out/sub')\n"
        "open('/twinflow/outputs/out/sub/a.txt', 'w').write('hello')\n"
        "os.chmod('/twinflow/outputs/out/sub', 0o777)\n"
        "open('/twinflow/outputs/out/run.sh', 'w').write('#!/bin/sh')\n"
        "os.chmod('/twinflow/outputs/out/run.sh', 0o4777)\n"
    )
    p = one_node(image, script)
    result = run(p, host.project)
    assert result.ok, result.summary
    out = artifact_path(result.output("evil", "out"))
    assert out.is_relative_to(result.run_dir / "evil")
    assert (out / "sub" / "a.txt").read_text() == "hello"
    # Our own files with our own modes: no world-writable folder, no setuid bit.
    assert (out / "sub").stat().st_mode & 0o777 == 0o755
    assert (out / "run.sh").stat().st_mode & 0o7777 == 0o755
    assert (out / "sub" / "a.txt").stat().st_uid == __import__("os").geteuid()
    assert not (result.run_dir / "evil" / "attempt-1" / "outputs").exists()


def test_deeply_nested_output_is_refused(host, image) -> None:
    script = "import os; os.makedirs('/twinflow/outputs/out/' + '/'.join(['d'] * 80))"
    result = run(one_node(image, script), host.project)
    assert_refused(result, "folders nested deeper than 64")


def test_control_characters_in_a_name_are_refused(host, image) -> None:
    script = (
        "import os\n"
        "os.makedirs('/twinflow/outputs/out')\n"
        "open('/twinflow/outputs/out/report\\n\\x1b[2Jfake.txt', 'w').write('x')\n"
    )
    result = run(one_node(image, script), host.project)
    assert_refused(result, "its name holds control characters")
