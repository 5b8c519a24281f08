"""The Batch target's options and its boto3 clients.

Everything comes from ``TargetConfig.options`` plus boto3's standard credential chain
(environment, shared config and credentials files, SSO, instance or container roles).
Credentials never live in the project: an option that looks like one is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from twinflow_studio.engine.errors import TargetUnavailable
from twinflow_studio.project.model import TargetConfig
from twinflow_studio.project.url_expiry import (
    DEFAULT_URL_EXPIRY_S,
    MIN_URL_EXPIRY_S,
    url_expiry_problem,
    url_expiry_value,
)

DEFAULT_LOG_GROUP = "/aws/batch/job"
_SECRET_WORDS = ("secret", "access_key", "session_token", "password", "credential")


@dataclass(frozen=True)
class BatchOptions:
    target: str
    job_queue: str
    bucket: str
    prefix: str
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    log_group: str = DEFAULT_LOG_GROUP
    poll_min_s: float = 0.5
    poll_max_s: float = 15.0
    log_poll_s: float = 2.0
    log_drain_s: float = 5.0
    url_expiry_s: int = DEFAULT_URL_EXPIRY_S
    job_name_prefix: str = "twinflow"
    # The role Batch uses to read a node's from_secret values (Secrets Manager / SSM).
    execution_role_arn: str | None = None

    def expiry_for(self, timeout_s: float | None) -> int:
        """How long a job's presigned URLs live: no longer than the job may run (the node's
        timeout, plus a minute for clock skew), and never beyond ``url_expiry_s``."""
        if timeout_s is None:
            return self.url_expiry_s
        return max(MIN_URL_EXPIRY_S, min(self.url_expiry_s, math.ceil(timeout_s) + 60))

    @property
    def where(self) -> str:
        """The words that tell a user which Batch set-up a message is about."""
        endpoint = self.endpoint_url or "the default AWS endpoint"
        profile = f", profile {self.profile!r}" if self.profile else ""
        return (
            f"target {self.target!r} (region {self.region or 'unset'}, job queue "
            f"{self.job_queue!r}, endpoint {endpoint}{profile})"
        )

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))


def parse_options(config: TargetConfig) -> BatchOptions:
    options = dict(config.options)
    secret = sorted(k for k in options if any(w in k.lower() for w in _SECRET_WORDS))
    if secret:
        raise TargetUnavailable(
            f"target {config.name!r}: option(s) {', '.join(secret)} look like credentials; "
            "a project must not hold secrets. Use an AWS profile ('profile' option), "
            "environment variables or an instance role instead"
        )
    missing = [k for k in ("job_queue", "s3_prefix") if not options.get(k)]
    if missing:
        raise TargetUnavailable(
            f"target {config.name!r}: option(s) {', '.join(missing)} are required "
            "(e.g. job_queue: my-queue, s3_prefix: s3://my-bucket/twinflow)"
        )
    prefix_url = urlparse(str(options["s3_prefix"]))
    if prefix_url.scheme != "s3" or not prefix_url.netloc:
        raise TargetUnavailable(
            f"target {config.name!r}: s3_prefix {options['s3_prefix']!r} must look like "
            "s3://bucket/prefix"
        )
    try:
        return BatchOptions(
            target=config.name,
            job_queue=str(options["job_queue"]),
            bucket=prefix_url.netloc,
            prefix=prefix_url.path.strip("/"),
            region=options.get("region") or None,
            endpoint_url=options.get("endpoint_url") or None,
            profile=options.get("profile") or None,
            log_group=str(options.get("log_group") or DEFAULT_LOG_GROUP),
            poll_min_s=float(options.get("poll_min_s", 0.5)),
            poll_max_s=float(options.get("poll_max_s", 15.0)),
            log_poll_s=float(options.get("log_poll_s", 2.0)),
            log_drain_s=float(options.get("log_drain_s", 5.0)),
            url_expiry_s=_url_expiry(
                config.name, options.get("url_expiry_s", DEFAULT_URL_EXPIRY_S)
            ),
            job_name_prefix=str(options.get("job_name_prefix") or "twinflow"),
            execution_role_arn=options.get("execution_role_arn") or None,
        )
    except (TypeError, ValueError) as exc:
        raise TargetUnavailable(f"target {config.name!r}: bad option value ({exc})") from exc


def _url_expiry(target: str, raw: Any) -> int:
    value = url_expiry_value(raw)
    if value is None:
        raise TargetUnavailable(f"target {target!r}: option url_expiry_s {url_expiry_problem(raw)}")
    return value


@dataclass
class BatchClients:
    batch: Any
    s3: Any
    logs: Any
    region: str


_LOADER: list[Any] = []


def make_clients(options: BatchOptions, max_pool: int) -> BatchClients:
    """Blocking (reads config files): call it in a thread.

    Credentials are resolved afresh for every run (a renewed SSO session or an edited
    credentials file takes effect at once); only botocore's parsed service models are shared,
    which makes the clients of a later run ~6x quicker to create."""
    import boto3
    import botocore.session
    from botocore.config import Config

    core = botocore.session.Session(profile=options.profile)
    if _LOADER:
        core.register_component("data_loader", _LOADER[0])
    else:
        _LOADER.append(core.get_component("data_loader"))
    session = boto3.Session(botocore_session=core, region_name=options.region)
    region = session.region_name
    if not region:
        raise TargetUnavailable(
            f"{options.where}: no AWS region; set the 'region' option or AWS_DEFAULT_REGION"
        )
    base = Config(
        region_name=region,
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=max_pool,
    )
    # A local endpoint serves buckets by path; presigned URLs use SigV4 so that the
    # container may send any Content-Type.
    s3_style = {"addressing_style": "path"} if options.endpoint_url else {}
    s3_config = base.merge(Config(signature_version="s3v4", s3=s3_style))
    kwargs = {"endpoint_url": options.endpoint_url}
    return BatchClients(
        batch=session.client("batch", config=base, **kwargs),
        s3=session.client("s3", config=s3_config, **kwargs),
        logs=session.client("logs", config=base, **kwargs),
        region=region,
    )


def describe_failure(exc: BaseException) -> str:
    """A one-line reason for a botocore error, with a hint at the usual fix."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ProfileNotFound):
        return f"{exc}; check ~/.aws/config or the 'profile' option"
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return (
            f"no usable AWS credentials ({exc}); configure a profile, environment "
            "variables or an instance role"
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return f"cannot connect ({exc})"
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        text = f"{code}: {error.get('Message', '')}".strip(": ")
        if code in (
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "AccessDeniedException",
        ):
            return f"credentials rejected ({text}); check the profile or renew the session"
        return text or str(exc)
    if isinstance(exc, bx.BotoCoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
