"""Secrets never live in a project, a run snapshot, a log, the lineage outbox or the graph.

A node's ``env`` takes ``{"from_env": "NAME"}`` (read from the host at dispatch) and, on Batch,
``{"from_secret": ARN}`` (Secrets Manager / SSM, resolved by Batch); a literal that looks like
a secret is refused by validation with a message saying how to pass it instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from twinflow_studio.project import Node, Port, Project, TargetConfig, load, validate
from twinflow_studio.project.secrets import looks_secret_name

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("TWINFLOW_BASE_IMAGE", "twinflow/python-base:bookworm")
HOST_VAR = "TWINFLOW_TEST_DB_PASSWORD"
# Prints the secret (a careless command) and writes only its length and a derived value.
SCRIPT = (
    "import json, os, sys; v = os.environ['DB_PASSWORD'];"
    "print('connecting with', v, flush=True);"
    "json.dump({'length': len(v), 'reversed_tail': v[::-1][:4], 'mode': os.environ['MODE']},"
    " open(sys.argv[1], 'w'))"
)


def container_node(env: dict, target: str | None = None) -> Node:
    return Node(
        "connect",
        "container",
        params={
            "image": BASE_IMAGE,
            "command": ["python3", "-c", SCRIPT, "{outputs.seen}"],
            "env": env,
        },
        outputs=[Port("seen", "json")],
        target=target,
    )


def problems_of(project: Project) -> dict[str, str]:
    return {p.path: p.message for p in validate(project)}


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "API_KEY", "apiKey", "GITHUB_TOKEN", "MYSECRET", "aws_credentials", "PASS"],
)
def test_secret_looking_literals_are_refused_with_how_to(name: str) -> None:
    p = Project()
    p.add_node(container_node({name: "hunter22"}))
    message = problems_of(p)[f"nodes.connect.params.env.{name}"]
    assert "looks like a secret" in message
    assert f'{{"from_env": "{name}"}}' in message and "from_secret" in message


@pytest.mark.parametrize(
    "name", ["MODE", "KEYBOARD_LAYOUT", "MONKEY", "TOKENIZER_PATH", "PWD", "PASSENGERS"]
)
def test_ordinary_names_pass(name: str) -> None:
    assert not looks_secret_name(name)
    p = Project()
    p.add_node(container_node({name: "x"}))
    assert f"nodes.connect.params.env.{name}" not in problems_of(p)


def test_credential_values_are_refused_whatever_their_name() -> None:
    p = Project()
    p.add_node(container_node({"SETTING": "AKIAIOSFODNN7EXAMPLE"}))
    assert "looks like a credential" in problems_of(p)["nodes.connect.params.env.SETTING"]


def test_references_are_checked() -> None:
    p = Project()
    p.add_node(
        container_node(
            {
                "A": {"from_env": "not a name"},
                "B": {"from_secret": "arn:aws:s3:::bucket"},
                "C": {"from_env": "X", "extra": 1},
                "D": {"from_secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"},
                "bad name": "x",
            }
        )
    )
    found = problems_of(p)
    assert "is not an environment variable name" in found["nodes.connect.params.env.A"]
    assert "is not a Secrets Manager secret ARN" in found["nodes.connect.params.env.B"]
    assert "expected a string" in found["nodes.connect.params.env.C"]
    # The default targets are local: Batch alone can resolve a secret ARN.
    assert "works on AWS Batch targets only" in found["nodes.connect.params.env.D"]
    assert "nodes.connect.params.env.bad name" in found


def test_credential_like_target_options_are_refused_for_every_target_kind() -> None:
    p = Project()
    p.targets["docker"] = TargetConfig("docker", "docker", options={"api_token": "abc"})
    message = problems_of(p)["targets.docker.options.api_token"]
    assert "looks like a credential" in message


def twin(tmp_path: Path, node: Node, settings: dict | None = None) -> Path:
    from twinflow_studio.project import save

    p = Project(name="secret-run", settings=settings or {})
    p.add_node(node)
    path = tmp_path / "secret.twin"
    save(p, path)
    return path


def run_cli(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "twinflow_studio",
            "--run",
            str(path),
            "--logs",
            "--json",
            "--trust",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=path.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def files_holding(folder: Path, needle: bytes) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and needle in path.read_bytes():
            found.append(str(path.relative_to(folder)))
    return found


@pytest.mark.docker
def test_a_from_env_secret_reaches_the_container_and_nowhere_else(
    tmp_path: Path, docker_client: object, base_image: str
) -> None:
    secret = f"pw-{uuid.uuid4().hex}"
    path = twin(tmp_path, container_node({"DB_PASSWORD": {"from_env": HOST_VAR}, "MODE": "ro"}))
    assert validate(load(path)) == []
    done = run_cli(path, {HOST_VAR: secret})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    seen = json.loads(
        (Path(summary["run_dir"]) / "connect" / "outputs" / "seen").read_text(encoding="utf-8")
    )
    # The container got the real value...
    assert seen == {"length": len(secret), "reversed_tail": secret[::-1][:4], "mode": "ro"}
    # ...its echo was masked in the log and on the console...
    log = (Path(summary["run_dir"]) / "connect" / "log.txt").read_text(encoding="utf-8")
    assert "connecting with ***" in log
    assert "connecting with ***" in done.stderr
    # ...and nothing the run wrote holds it: .twin, snapshot, logs, run.json, cache, lineage.
    lineage = tmp_path / ".twinflow" / "lineage"
    assert any(lineage.rglob("*")), "the embedded lineage store recorded nothing"
    assert files_holding(lineage, HOST_VAR.encode()), "lineage lacks the node's params"
    assert files_holding(tmp_path, secret.encode()) == []
    assert secret not in done.stdout + done.stderr.replace("***", "")


@pytest.mark.docker
def test_the_outbox_never_holds_the_secret(
    tmp_path: Path, docker_client: object, base_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lineage for an unreachable database waits in the outbox: it holds the reference only.
    (In-process, so the store can be closed at once instead of the CLI's 30 s wait.)"""
    from twinflow_studio.engine import Engine
    from twinflow_studio.lineage import open_lineage

    secret = f"pw-{uuid.uuid4().hex}"
    monkeypatch.setenv(HOST_VAR, secret)
    settings = {"backend": "gremlin-server", "url": "ws://127.0.0.1:9/gremlin", "timeout": 1}
    p = Project(name="outbox", settings={"lineage": settings})
    p.add_node(container_node({"DB_PASSWORD": {"from_env": HOST_VAR}, "MODE": "rw"}))

    async def run() -> object:
        store = open_lineage(tmp_path, settings).start()
        try:
            return await Engine([store.subscriber]).run(p, project_dir=tmp_path)
        finally:
            await store.aclose(timeout=1.0)

    result = asyncio.run(run())
    assert result.ok, result.summary  # type: ignore[attr-defined]
    outbox = tmp_path / ".twinflow" / "lineage" / "outbox"
    assert files_holding(outbox, HOST_VAR.encode()), "nothing waits in the outbox"
    assert files_holding(tmp_path, secret.encode()) == []


@pytest.mark.docker
def test_a_missing_host_variable_fails_the_node_clearly(
    tmp_path: Path, docker_client: object, base_image: str
) -> None:
    path = twin(tmp_path, container_node({"DB_PASSWORD": {"from_env": HOST_VAR}, "MODE": "x"}))
    env = {k: v for k, v in os.environ.items() if k != HOST_VAR}
    done = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--run", str(path), "--trust"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"env DB_PASSWORD takes its value from the environment variable {HOST_VAR}" in (
        done.stderr
    )


# ----- AWS Batch (moto_server runs the jobs' containers on the local Docker engine) -----


@pytest.fixture()
def moto_rig(moto_url: str, base_image: str, tmp_path: Path) -> Iterator[object]:
    sys.path.insert(0, str(ROOT / "tests" / "batch"))
    try:
        from batch_helpers import create_moto_batch, write_credentials
    finally:
        sys.path.remove(str(ROOT / "tests" / "batch"))
    env = write_credentials(tmp_path / "aws")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        yield create_moto_batch(moto_url)


@pytest.mark.moto
def test_batch_takes_secret_arns_and_host_values_without_storing_them(
    tmp_path: Path, moto_rig: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twinflow_studio.engine import Engine

    rig = moto_rig
    secret = f"pw-{uuid.uuid4().hex}"
    monkeypatch.setenv(HOST_VAR, secret)
    api_arn = rig.client(
        "secretsmanager"
    ).create_secret(  # type: ignore[attr-defined]
        Name=f"twinflow-api-{uuid.uuid4().hex[:6]}", SecretString="never-read-here"
    )["ARN"]
    ssm_arn = f"arn:aws:ssm:us-east-1:123456789012:parameter/twinflow/{uuid.uuid4().hex[:6]}"
    p = Project(name="batch-secrets")
    p.targets["aws"] = rig.target(  # type: ignore[attr-defined]
        execution_role_arn="arn:aws:iam::123456789012:role/twinflow-exec"
    )
    p.add_node(
        container_node(
            {
                "DB_PASSWORD": {"from_env": HOST_VAR},
                "API_TOKEN": {"from_secret": api_arn},
                "SIGNING_KEY": {"from_secret": ssm_arn},
                "MODE": "batch",
            },
            target="aws",
        )
    )
    assert validate(p) == []
    events: list = []
    result = asyncio.run(Engine([events.append]).run(p, project_dir=tmp_path))
    assert result.ok, result.summary
    seen = json.loads((result.run_dir / "connect" / "outputs" / "seen").read_text())
    assert seen == {"length": len(secret), "reversed_tail": secret[::-1][:4], "mode": "batch"}
    arn = result.nodes["connect"].metrics["batch_job_definition"]
    batch = rig.client("batch")  # type: ignore[attr-defined]
    [definition] = batch.describe_job_definitions(jobDefinitions=[arn])["jobDefinitions"]
    props = definition["containerProperties"]
    assert sorted(props["secrets"], key=lambda s: s["name"]) == [
        {"name": "API_TOKEN", "valueFrom": api_arn},
        {"name": "SIGNING_KEY", "valueFrom": ssm_arn},
    ]
    assert props["executionRoleArn"].endswith("role/twinflow-exec")
    # The host value went with the job, not into the (content-named, long-lived) definition.
    assert secret not in json.dumps(definition, default=str)
    logs = [e.line for e in events if type(e).__name__ == "LogLine"]
    assert any("connecting with ***" in line for line in logs), logs
    assert files_holding(tmp_path, secret.encode()) == []
    with contextlib.suppress(Exception):
        rig.client("secretsmanager").delete_secret(  # type: ignore[attr-defined]
            SecretId=api_arn, ForceDeleteWithoutRecovery=True
        )
