"""The bootstrap a Batch container runs before and after the node's command.

It is sent as the source of ``python3 -c`` (see ``bootstrap_source``), so it imports only the
standard library, and the container needs no AWS credentials: every transfer uses a
presigned URL from the manifest. Usage inside the container::

    python3 -c SOURCE MANIFEST WORKDIR COMMAND...

MANIFEST is the manifest itself (JSON, when small) or a presigned URL to it.
The manifest (JSON) holds ``env``, ``inputs`` ({port: {url, kind}}), optionally ``item_port``
and ``items`` (a map node: each array child takes ``items[index]``; with ``item_ports``, a map
over several ports, ``items[index]`` is a list, one value per port), ``output_ports``, and one
``outputs`` and ``results`` PUT URL per index. The child's index is AWS_BATCH_JOB_ARRAY_INDEX
(or the ``:N`` suffix of AWS_BATCH_JOB_ID, which is the same number). When the command
succeeds it uploads the declared outputs it finds in /twinflow/outputs as one tar.gz (no
archive: no outputs); when it fails it uploads a small result JSON with the exit code. It
prints MARKER with the code and exits with it. Modules load lazily: a job with nothing to
move loads no more than ``json``.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile

MARKER = "twinflow-bootstrap: command exited with code"
ROOT = "/twinflow"


def bootstrap_source() -> str:
    """This module's source, for ``python3 -c``; the engine never imports it in a container."""
    with open(__file__, encoding="utf-8") as handle:
        return handle.read()


def _say(text: str) -> None:
    sys.stdout.write("twinflow-bootstrap: " + text + "\n")
    sys.stdout.flush()


def _request(url: str, data: bytes | None = None, method: str = "GET") -> bytes:
    # Imported here: a job without transfers should not pay for loading urllib.
    import time
    import urllib.request

    # Transient network errors are common at container start; a few quick retries hide them.
    last: Exception | None = None
    for attempt in range(5):
        try:
            request = urllib.request.Request(url, data=data, method=method)
            if data is not None:
                request.add_header("Content-Type", "application/octet-stream")
            with urllib.request.urlopen(request, timeout=300) as response:
                return response.read()
        except Exception as exc:  # urllib raises URLError, HTTPError, OSError, timeouts
            last = exc
            time.sleep(0.5 * 2**attempt)
    raise RuntimeError(f"{method} failed after retries: {last}")


def _safe_extract(archive: tarfile.TarFile, dest: str) -> None:
    if hasattr(tarfile, "data_filter"):
        archive.extractall(dest, filter="data")
        return
    root = os.path.realpath(dest)
    for member in archive.getmembers():
        target = os.path.realpath(os.path.join(dest, member.name))
        if not (target == root or target.startswith(root + os.sep)) or member.islnk():
            raise RuntimeError(f"unsafe path in archive: {member.name}")
    archive.extractall(dest)


def _index() -> int:
    explicit = os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX")
    if explicit:
        return int(explicit)
    job_id = os.environ.get("AWS_BATCH_JOB_ID", "")
    suffix = job_id.rpartition(":")[2] if ":" in job_id else ""
    return int(suffix) if suffix.isdigit() else 0


def _stage_inputs(manifest: dict, index: int) -> None:
    import io
    import tarfile

    inputs_dir = os.path.join(ROOT, "inputs")
    os.makedirs(inputs_dir, exist_ok=True)
    total = 0
    if not (manifest.get("inputs") or manifest.get("item_port") or manifest.get("item_ports")):
        return
    for port, entry in manifest.get("inputs", {}).items():
        body = _request(entry["url"])
        total += len(body)
        dest = os.path.join(inputs_dir, port)
        if entry.get("kind") == "dir":
            os.makedirs(dest, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
                _safe_extract(archive, dest)
        else:
            with open(dest, "wb") as handle:
                handle.write(body)
    item_port = manifest.get("item_port")
    if item_port:
        os.makedirs(inputs_dir, exist_ok=True)
        with open(os.path.join(inputs_dir, item_port), "w", encoding="utf-8") as handle:
            json.dump(manifest["items"][index], handle)
    # A map over several ports: the item is a list, one value per port.
    item_ports = manifest.get("item_ports") or []
    for position, port in enumerate(item_ports):
        with open(os.path.join(inputs_dir, port), "w", encoding="utf-8") as handle:
            json.dump(manifest["items"][index][position], handle)
    _say(f"staged {len(manifest.get('inputs', {}))} input(s), {total} bytes")


def _run(command: list, workdir: str) -> int:
    """Runs the command as a child (fork and exec: ``subprocess`` would double our start-up
    time) and returns its exit code, shell style (128 + N when killed by signal N)."""
    import signal

    if not command:
        _say("no command to run")
        return 2
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            if workdir:
                os.chdir(workdir)
            os.execvp(command[0], command)
        except BaseException as exc:
            sys.stderr.write(f"twinflow-bootstrap: cannot run {command[0]!r}: {exc}\n")
            sys.stderr.flush()
        os._exit(127)

    # Batch stops a job with SIGTERM to this process; the command must hear it too.
    def forward(signum: int, _frame: object) -> None:
        os.kill(pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _upload_outputs(manifest: dict, index: int) -> list:
    """Uploads the declared outputs that exist as one tar.gz; nothing when there are none."""
    import io
    import tarfile

    outputs_dir = os.path.join(ROOT, "outputs")
    found = [
        port
        for port in manifest.get("output_ports", [])
        if os.path.lexists(os.path.join(outputs_dir, port))
    ]
    if not found:
        return found
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for port in found:
            archive.add(os.path.join(outputs_dir, port), arcname=port)
    _request(manifest["outputs"][index], buffer.getvalue(), "PUT")
    _say(f"uploaded output(s) {', '.join(found)}, {buffer.tell()} bytes")
    return found


def main(argv: list) -> int:
    # A small manifest comes inline as the job parameter, a large one by URL.
    source = argv[1] if argv[1].startswith("{") else _request(argv[1]).decode("utf-8")
    manifest = json.loads(source)
    index = _index()
    os.environ.update({str(k): str(v) for k, v in manifest.get("env", {}).items()})
    os.environ["TWINFLOW_ITEM_INDEX"] = str(index)
    os.makedirs(os.path.join(ROOT, "outputs"), exist_ok=True)
    _stage_inputs(manifest, index)
    code = _run(argv[3:], argv[2])
    if code == 0:
        try:
            _upload_outputs(manifest, index)
        except Exception as exc:
            # A job that lost its outputs must not look successful.
            _say(f"cannot upload outputs: {exc}")
            code = 125
    if code != 0:
        # Where Batch does not report the exit code, the engine reads it from here.
        result = json.dumps({"exit_code": code, "index": index}).encode("utf-8")
        try:
            _request(manifest["results"][index], result, "PUT")
        except Exception as exc:
            _say(f"cannot upload the result: {exc}")
    sys.stdout.write(f"{MARKER} {code}\n")
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
