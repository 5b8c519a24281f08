"""Secrets never live in a project: how a node's ``env`` refers to them, and what is refused.

A value in a node's ``env`` is one of:

- a literal (``"info"``): stored in the `.twin`, the run snapshot and lineage like any
  parameter, so it must not be a secret;
- ``{"from_env": "NAME"}``: the value of the host environment variable NAME, read by the
  target when it dispatches the task and passed only to the container;
- ``{"from_secret": "arn:aws:secretsmanager:..."}`` or ``{"from_secret":
  "arn:aws:ssm:...:parameter/..."}`` (AWS Batch only): Batch resolves it inside AWS (the
  job definition's ``secrets``), so the value never reaches this machine.

A literal whose name looks like a secret (PASSWORD, SECRET, TOKEN, KEY, CREDENTIAL, ...) or
whose value looks like a credential (an AWS access key id, a private key) is refused by
validation with a message saying how to pass it instead. The same word list refuses target
options that look like credentials.
"""

from __future__ import annotations

import re
from typing import Any

from twinflow_studio.project.errors import Problem
from twinflow_studio.project.model import Node, Project
from twinflow_studio.project.placement import PlacementError, resolve_target

FROM_ENV = "from_env"
FROM_SECRET = "from_secret"

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")
# Secrets Manager secret ARNs and SSM parameter ARNs, as Batch's ``secrets.valueFrom`` takes.
SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@:-]+"
    r"|ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9/_.-]+)"
)
# Words that make a name look like a secret; whole words (split at '_', '-', '.' and
# camelCase), so SORT_KEY is a secret name but KEYBOARD and MONKEY are not.
_SECRET_WORDS = frozenset(
    {
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "TOKENS",
        "KEY",
        "KEYS",
        "APIKEY",
        "ACCESSKEY",
        "PRIVATEKEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "AUTH",
        "AUTHORIZATION",
        "COOKIE",
        "SIGNATURE",
    }
)
# Parts of a word that make it a secret name even glued to others (DBPASSWORD, MYSECRET).
_SECRET_STEMS = ("PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "APIKEY", "PRIVATEKEY")
# Values that are credentials whatever their name.
_SECRET_VALUES = re.compile(
    r"(?:^|[^A-Z0-9])(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}(?:[^A-Z0-9]|$)"  # AWS key ids
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\bgh[pousr]_[A-Za-z0-9]{36}\b"  # GitHub tokens
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack tokens
)


def looks_secret_name(name: str) -> bool:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.upper()) if w]
    if any(w in _SECRET_WORDS for w in words):
        return True
    glued = "".join(words)
    return any(stem in glued for stem in _SECRET_STEMS)


def looks_secret_value(value: str) -> bool:
    return bool(_SECRET_VALUES.search(value))


def how_to_pass(name: str) -> str:
    return (
        "a project must not hold secrets (the .twin, each run's snapshot and lineage keep "
        f'it). Pass it from the environment the run starts in: {{"{FROM_ENV}": "{name}"}}, '
        f'or on AWS Batch from Secrets Manager or SSM: {{"{FROM_SECRET}": '
        '"arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"}'
    )


def env_reference(value: Any) -> tuple[str, str] | None:
    """``(FROM_ENV | FROM_SECRET, name or ARN)`` when ``value`` is a reference."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, ref),) = value.items()
        if key in (FROM_ENV, FROM_SECRET) and isinstance(ref, str):
            return key, ref
    return None


def check_secrets(project: Project) -> list[Problem]:
    out: list[Problem] = []
    for node in project.nodes.values():
        env = node.params.get("env")
        if isinstance(env, dict):
            out += _check_env(project, node, env)
    for name, target in project.targets.items():
        for key in target.options:
            if looks_secret_name(str(key)):
                out.append(
                    Problem(
                        f"targets.{name}.options.{key}",
                        "looks like a credential; a project must not hold secrets. Use an AWS "
                        "profile ('profile' option), environment variables or an instance role",
                        code="secret",
                    )
                )
    return out


def _check_env(project: Project, node: Node, env: dict[str, Any]) -> list[Problem]:
    out: list[Problem] = []

    def add(key: str, message: str) -> None:
        out.append(Problem(f"nodes.{node.id}.params.env.{key}", message, node.id, "secret"))

    for key, value in env.items():
        if not ENV_NAME.fullmatch(key):
            add(key, "is not an environment variable name (letters, digits and '_')")
            continue
        if isinstance(value, dict):
            ref = env_reference(value)
            if ref is None:
                add(
                    key,
                    f'expected a string, {{"{FROM_ENV}": "NAME"}} or {{"{FROM_SECRET}": "ARN"}}',
                )
            elif ref[0] == FROM_ENV and not ENV_NAME.fullmatch(ref[1]):
                add(key, f"{FROM_ENV}: {ref[1]!r} is not an environment variable name")
            elif ref[0] == FROM_SECRET and not SECRET_ARN.fullmatch(ref[1]):
                add(
                    key,
                    f"{FROM_SECRET}: {ref[1][:80]!r} is not a Secrets Manager secret ARN or an "
                    "SSM parameter ARN",
                )
            elif ref[0] == FROM_SECRET and _target_kind(project, node) != "batch":
                add(
                    key,
                    f"{FROM_SECRET} works on AWS Batch targets only (Batch resolves it); "
                    f'elsewhere use {{"{FROM_ENV}": "NAME"}}',
                )
            continue
        if isinstance(value, (list, bool)) or value is None:
            add(key, f"expected a string, found {type(value).__name__}")
            continue
        text = str(value)
        if text and looks_secret_name(key):
            add(key, f"looks like a secret: {how_to_pass(key)}")
        elif looks_secret_value(text):
            add(key, f"holds what looks like a credential: {how_to_pass(key)}")
    return out


def _target_kind(project: Project, node: Node) -> str | None:
    try:
        return resolve_target(project, node).kind
    except (PlacementError, KeyError):
        return None
