"""Attacks through the outputs archive of a Batch job, end to end through moto Batch.

A crafted job does what a hostile image could: it reads its own manifest (the bootstrap's
command line, visible in /proc), builds a malicious tar.gz and PUTs it to its outputs URL,
then writes no outputs, so the bootstrap leaves the crafted archive in place. The engine
must refuse it by our own member check, whatever the Python patch level, and nothing
outside the run folder may change.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from batch_helpers import MotoBatch
from security_helpers import run, run_log

from twinflow_studio.engine.errors import TargetUnavailable
from twinflow_studio.engine.targets.batch_config import parse_options
from twinflow_studio.project import (
    HardwareProfile,
    Node,
    Port,
    Project,
    ValidationError,
    save,
    validate,
)

pytestmark = [pytest.mark.moto, pytest.mark.docker]

CRAFT = """
import io, json, os, tarfile, urllib.request
argv = open(f'/proc/{os.getppid()}/cmdline', 'rb').read().split(b'\\0')
manifest = json.loads(next(a for a in argv if a.startswith(b'{')))
kinds = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'sym': tarfile.SYMTYPE,
         'hard': tarfile.LNKTYPE, 'chr': tarfile.CHRTYPE, 'fifo': tarfile.FIFOTYPE}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w:gz') as archive:
    for m in MEMBERS:
        info = tarfile.TarInfo(m['name'])
        info.type = kinds[m['kind']]
        info.linkname = m.get('link', '')
        data = m.get('data', '').encode() * m.get('repeat', 1)
        info.size = len(data) if m['kind'] == 'file' else 0
        archive.addfile(info, io.BytesIO(data) if m['kind'] == 'file' else None)
request = urllib.request.Request(manifest['outputs'][0], data=buf.getvalue(), method='PUT')
request.add_header('Content-Type', 'application/octet-stream')
urllib.request.urlopen(request).read()
print('crafted archive uploaded', flush=True)
"""


def batch_node(node_id: str, image: str, script: str, **extra) -> Node:
    return Node(
        node_id,
        "container",
        params={"image": image, "command": ["python3", "-c", script]},
        outputs=[Port("out", "file")],
        target="aws",
        **extra,
    )


def crafted(rig: MotoBatch, image: str, members: list[dict], profile=None) -> Project:
    p = Project("batch-attack")
    p.targets["aws"] = rig.target()
    script = f"MEMBERS = {json.dumps(members)!r}\nMEMBERS = __import__('json').loads(MEMBERS)\n"
    node = batch_node("evil", image, script + CRAFT)
    if profile is not None:
        p.profiles[profile.name] = profile
        node.profile = profile.name
    p.add_node(node)
    return p


def assert_refused(result, needle: str) -> str:
    assert result.status == "failed", result.summary
    outcome = result.nodes["evil"]
    assert outcome.attempts == 1  # a retry would only fetch the same archive
    assert needle in outcome.error, outcome.error
    assert "crafted archive uploaded" in run_log(result, "evil")
    # Nothing of the archive stays, not even the members that came before the bad one.
    attempt = result.run_dir / "evil" / "attempt-1"
    assert not (attempt / "outputs").exists() or not any((attempt / "outputs").iterdir())
    return outcome.error


def climb(path) -> str:
    """A member name that, joined to any extraction folder, lands on ``path``."""
    return "out/" + "../" * 40 + str(path).lstrip("/")


def test_dot_dot_member_is_refused(host, moto_batch, image) -> None:
    members = [
        {"name": climb(host.root / "planted.txt"), "kind": "file", "data": "new file"},
        {"name": climb(host.secret), "kind": "file", "data": "OVERWRITTEN"},
    ]
    result = run(crafted(moto_batch, image, members), host.project)
    assert_refused(result, "climbs out with '..'")


def test_absolute_member_is_refused(host, moto_batch, image) -> None:
    members = [{"name": str(host.secret), "kind": "file", "data": "OVERWRITTEN"}]
    result = run(crafted(moto_batch, image, members), host.project)
    assert_refused(result, f"entry {str(host.secret)!r} has an absolute path")


def test_symlink_then_file_member_is_refused(host, moto_batch, image) -> None:
    members = [
        {"name": "out", "kind": "dir"},
        {"name": "out/link", "kind": "sym", "link": str(host.folder)},
        {"name": "out/link/inner.txt", "kind": "file", "data": "OVERWRITTEN"},
        {"name": "out/link/planted.txt", "kind": "file", "data": "new file"},
    ]
    result = run(crafted(moto_batch, image, members), host.project)
    error = assert_refused(result, "entry 'out/link' is a symbolic link")
    assert str(host.folder) in error


def data_filter_bypass(outside, target: str, dest_length: int) -> list[dict]:
    """The public CVE-2025-4517 pattern: symlinks through folder names so long that
    ``os.path.realpath`` gives up, so tarfile's data filter (3.11.7 here) judges a link to be
    inside the destination while the kernel resolves it to ``outside``; a hard link then
    points at ``outside/target`` and a file member writes through it."""
    steps = "abcdefghijklmnop"
    # The folders must fit in PATH_MAX below the destination, the last link must not.
    comp = "d" * ((4096 - 128 - dest_length) // len(steps) - 1)
    members: list[dict] = [{"name": "out", "kind": "dir"}]
    path = "out"
    for step in steps:
        members.append({"name": f"{path}/{comp}", "kind": "dir"})
        members.append({"name": f"{path}/{step}", "kind": "sym", "link": comp})
        path = f"{path}/{comp}"
    deep = "/".join(steps) + "/" + "l" * 254
    members.append({"name": f"out/{deep}", "kind": "sym", "link": "../" * len(steps)})
    members.append(
        {"name": "out/escape", "kind": "sym", "link": deep + "/.." * len(steps) + str(outside)}
    )
    members.append({"name": "out/flaglink", "kind": "hard", "link": f"out/escape/{target}"})
    members.append({"name": "out/flaglink", "kind": "file", "data": "OVERWRITTEN"})
    return members


def test_data_filter_bypass_archive_is_refused(host, moto_batch, image) -> None:
    """This archive overwrote a host file through the old extraction (tarfile's filter)."""
    # <project>/.twinflow/runs/<run id>/evil/attempt-1/outputs/out
    dest_length = len(f"{host.project}/.twinflow/runs/{'r' * 29}/evil/attempt-1/outputs/out")
    members = data_filter_bypass(host.secret.parent, host.secret.name, dest_length)
    result = run(crafted(moto_batch, image, members), host.project)
    assert_refused(result, "entry 'out/a' is a symbolic link (to 'dddd")


def test_hard_link_member_is_refused(host, moto_batch, image) -> None:
    members = [
        {"name": "out", "kind": "dir"},
        {"name": "out/h", "kind": "hard", "link": str(host.secret)},
        {"name": "out/h", "kind": "file", "data": "OVERWRITTEN"},
    ]
    result = run(crafted(moto_batch, image, members), host.project)
    assert_refused(result, "entry 'out/h' is a hard link")


def test_device_member_is_refused(host, moto_batch, image) -> None:
    members = [{"name": "out", "kind": "chr"}]
    result = run(crafted(moto_batch, image, members), host.project)
    assert_refused(result, "entry 'out' is a device node")


def test_duplicate_member_is_refused(host, moto_batch, image) -> None:
    members = [
        {"name": "out", "kind": "file", "data": "first"},
        {"name": "out", "kind": "file", "data": "second"},
    ]
    result = run(crafted(moto_batch, image, members), host.project)
    assert_refused(result, "entry 'out' appears twice")


def test_oversize_archive_is_refused(host, moto_batch, image) -> None:
    # 8 MiB of one letter: a few KiB on the wire, past a 1 MiB cap once unpacked.
    members = [{"name": "out", "kind": "file", "data": "x", "repeat": 8 << 20}]
    profile = HardwareProfile("tiny", max_output_mib=1)
    result = run(crafted(moto_batch, image, members, profile), host.project)
    error = assert_refused(result, "output entry 'out': the outputs exceed the size cap of 1 MiB")
    assert "max_output_mib = 1 of hardware profile 'tiny'" in error


def test_symlink_output_through_the_bootstrap_is_refused(host, moto_batch, image) -> None:
    """No crafting: the job leaves a link in /twinflow/outputs and the bootstrap packs it."""
    p = Project("batch-link")
    p.targets["aws"] = moto_batch.target()
    script = f"import os; os.symlink({str(host.secret)!r}, '/twinflow/outputs/out')"
    p.add_node(batch_node("evil", image, script))
    result = run(p, host.project)
    assert result.status == "failed"
    assert "entry 'out' is a symbolic link" in result.nodes["evil"].error


@pytest.mark.parametrize("bad", [0, -60, 59, 10**9, 3600.5, "soon", True])
def test_bad_url_expiry_is_refused_naming_the_option(host, moto_batch, image, bad) -> None:
    p = Project("expiry")
    p.targets["aws"] = moto_batch.target(url_expiry_s=bad)
    p.add_node(batch_node("evil", image, "print(1)"))
    problems = {pr.path: pr.message for pr in validate(p)}
    message = problems["targets.aws.options.url_expiry_s"]
    assert message.startswith("must be a whole number of seconds from 60 to 604800")
    assert message.endswith(f"found {bad!r}")
    with pytest.raises(ValidationError, match="url_expiry_s"):
        run(p, host.project)
    # The target checks it again for itself, should it be started without validation.
    with pytest.raises(TargetUnavailable, match="target 'aws': option url_expiry_s must be"):
        parse_options(p.targets["aws"])


def test_bad_url_expiry_makes_validate_exit_2(tmp_path, moto_batch) -> None:
    p = Project("expiry")
    p.targets["aws"] = moto_batch.target(url_expiry_s=10**9)
    path = tmp_path / "expiry.twin"
    save(p, path)
    done = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--validate", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "targets.aws.options.url_expiry_s" in done.stderr and "found 1000000000" in done.stderr
    assert "Traceback" not in done.stderr


def test_presigned_urls_expire_with_the_job(host, moto_batch, image) -> None:
    """Seen from inside the job: every URL it holds dies soon after its node's timeout."""
    script = (
        "import json, os, urllib.parse\n"
        "argv = open(f'/proc/{os.getppid()}/cmdline', 'rb').read().split(b'\\0')\n"
        "m = json.loads(next(a for a in argv if a.startswith(b'{')))\n"
        "urls = m['outputs'] + m['results'] + [e['url'] for e in m['inputs'].values()]\n"
        "q = [urllib.parse.parse_qs(urllib.parse.urlparse(u).query) for u in urls]\n"
        "print('expiries', sorted({int(x['X-Amz-Expires'][0]) for x in q}), len(urls))\n"
    )
    p = Project("expiry")
    p.targets["aws"] = moto_batch.target(url_expiry_s=3600)
    p.add_node(
        Node(
            "data",
            "python",
            params={"callable": "json:dumps", "kwargs": {"obj": 1}},
            outputs=[Port("out", "json")],
        )
    )
    bounded = batch_node("bounded", image, script, timeout_s=120)
    bounded.outputs = []
    bounded.inputs = [Port("data", "json")]
    free = batch_node("free", image, script)
    free.outputs = []
    p.add_node(bounded)
    p.add_node(free)
    p.connect("data", "out", "bounded", "data")
    result = run(p, host.project)
    assert result.ok, result.summary
    assert "expiries [180] 3" in run_log(result, "bounded")  # 120 s timeout + 60 s skew
    assert "expiries [3600] 2" in run_log(result, "free")  # no timeout: the option's bound
