"""What a container may do on the host: capabilities, processes, user, root file system.

Every value is read from inside a real container (/proc/self/status, the cgroup files).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from security_helpers import container, run, run_log

from twinflow_studio.project import HardwareProfile, Project, save, validate

pytestmark = pytest.mark.docker

STATUS = (
    "import os\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith(('Cap', 'NoNewPrivs', 'Uid', 'Gid')): print(line.strip())\n"
    "for f in ('/sys/fs/cgroup/pids.max', '/sys/fs/cgroup/pids/pids.max'):\n"
    "    if os.path.exists(f): print('pids.max', open(f).read().strip())\n"
)


def status_of(result, node_id: str = "probe") -> dict[str, str]:
    found = {}
    for line in run_log(result, node_id).splitlines():
        key, _, rest = line.partition(":") if ":" in line else line.partition(" ")
        found[key.strip()] = rest.strip()
    return found


def probe(host, image: str, script: str = STATUS, profile: HardwareProfile | None = None, **params):
    p = Project("defaults")
    node = container("probe", image, script, **params)
    if profile is not None:
        p.profiles[profile.name] = profile
        node.profile = profile.name
    p.add_node(node)
    result = run(p, host.project)
    assert result.ok, result.summary
    return result


def test_every_capability_is_dropped_and_privileges_cannot_grow(host, image) -> None:
    status = status_of(probe(host, image))
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[field], 16) == 0, (field, status[field])
    assert status["NoNewPrivs"] == "1"


def test_a_declared_capability_is_the_only_one_left(host, image) -> None:
    status = status_of(probe(host, image, cap_add=["chown"]))
    assert int(status["CapBnd"], 16) == 1 << 0  # CAP_CHOWN is bit 0
    assert int(status["CapEff"], 16) == 0  # not root inside either


def test_a_dangerous_capability_is_refused_by_validate(image, tmp_path: Path) -> None:
    p = Project("caps")
    p.add_node(container("probe", image, "print(1)", cap_add=["SYS_ADMIN", "CHOWN", 7]))
    problems = {pr.path: pr.message for pr in validate(p)}
    assert "cannot be granted" in problems["nodes.probe.params.cap_add[0]"]
    assert "nodes.probe.params.cap_add[1]" not in problems
    assert "nodes.probe.params.cap_add[2]" in problems
    path = tmp_path / "caps.twin"
    save(p, path)
    done = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--validate", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 2
    assert "nodes.probe.params.cap_add[0]" in done.stderr and "'SYS_ADMIN'" in done.stderr
    assert "Traceback" not in done.stderr


def test_pids_limit_comes_from_the_profile(host, image) -> None:
    assert status_of(probe(host, image))["pids.max"] == "512"  # the default
    script = STATUS + (
        "import threading, time\n"
        "started = 0\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "        started += 1\n"
        "except RuntimeError:\n"
        "    pass\n"
        "print('threads', started)\n"
    )
    result = probe(host, image, script, HardwareProfile("small", pids_limit=32))
    status = status_of(result)
    assert status["pids.max"] == "32"
    assert int(status["threads"]) < 32  # a fork bomb stops at the limit


def test_the_container_user_is_nobody_when_the_cli_is_root(host, image) -> None:
    status = status_of(probe(host, image))
    uid = status["Uid"].split()[0]
    gid = status["Gid"].split()[0]
    if os.geteuid() == 0:
        assert (uid, gid) == ("65534", "65534")
    else:
        assert (uid, gid) == (str(os.getuid()), str(os.getgid()))


def test_read_only_root_file_system_keeps_tmp_and_outputs_writable(host, image) -> None:
    script = (
        "import errno, json\n"
        "def attempt(path):\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        return 'ok'\n"
        "    except OSError as e:\n"
        "        return errno.errorcode[e.errno]\n"
        "json.dump({p: attempt(p) for p in ('/etc/evil', '/var/tmp/evil', '/tmp/scratch')},"
        " open('/twinflow/outputs/out', 'w'))\n"
    )
    p = Project("ro")
    p.add_node(container("probe", image, script, outputs=(("out", "json"),), read_only=True))
    result = run(p, host.project)
    assert result.ok, result.summary
    from twinflow_studio.engine.store import artifact_path

    seen = json.loads(artifact_path(result.output("probe", "out")).read_text())
    assert seen == {"/etc/evil": "EROFS", "/var/tmp/evil": "EROFS", "/tmp/scratch": "ok"}


def test_bad_profile_limits_are_named_by_validate() -> None:
    p = Project("limits")
    p.profiles["bad"] = HardwareProfile("bad", pids_limit=0, max_output_mib=-5)
    problems = {pr.path for pr in validate(p)}
    assert {"profiles.bad.pids_limit", "profiles.bad.max_output_mib"} <= problems


def test_profile_limits_round_trip_through_the_twin_file(tmp_path: Path) -> None:
    from twinflow_studio.project import load

    p = Project("limits")
    p.profiles["big"] = HardwareProfile("big", pids_limit=2048, max_output_mib=50_000)
    plain = Project("limits")
    path = tmp_path / "limits.twin"
    save(p, path)
    loaded = load(path).profiles["big"]
    assert (loaded.pids_limit, loaded.max_output_mib) == (2048, 50_000)
    # Defaults are not written: projects saved before these fields keep their version.
    save(plain, path)
    assert "pids_limit" not in path.read_text() and "max_output_mib" not in path.read_text()
