"""S3 side of a Batch task: content-addressed inputs, the manifest, presigned URLs, and the
outputs that come back. Every method blocks; the target calls them in its thread pool."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.engine.paths import child_path
from twinflow_studio.engine.targets.batch_config import BatchOptions, describe_failure
from twinflow_studio.engine.task import InputArtifact

# A manifest up to this size travels inside the job's parameters (no S3 round trip for it);
# SubmitJob requests stay far below their size limit.
INLINE_MANIFEST_LIMIT = 4096


class ArtifactStager:
    def __init__(self, s3: Any, options: BatchOptions) -> None:
        self._s3 = s3
        self._options = options
        self._present: set[str] = set()
        self._lock = threading.Lock()
        self.uploads = 0

    def uri(self, key: str) -> str:
        return f"s3://{self._options.bucket}/{key}"

    def check_bucket(self) -> None:
        self._s3.head_bucket(Bucket=self._options.bucket)

    # -- inputs ----------------------------------------------------------------------------

    def input_entry(self, art: InputArtifact) -> dict[str, str]:
        """Uploads the input once per content hash and returns its presigned GET entry."""
        is_dir = art.path.is_dir()
        if not art.path.exists():
            raise TaskFailed(f"input {art.port!r}: {art.path} does not exist", retryable=False)
        key = self._options.key("cas", f"{art.sha256}.tar.gz" if is_dir else art.sha256)
        with self._lock:
            known = key in self._present
        if not known:
            if not self._exists(key):
                self._upload(art.path, key, is_dir)
            with self._lock:
                self._present.add(key)
        return {"url": self.presign("get_object", key), "kind": "dir" if is_dir else "file"}

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3.head_object(Bucket=self._options.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def _upload(self, path: Path, key: str, is_dir: bool) -> None:
        self.uploads += 1
        if not is_dir:
            self._s3.upload_file(str(path), self._options.bucket, key)
            return
        with tempfile.TemporaryFile() as handle:
            with tarfile.open(fileobj=handle, mode="w:gz") as archive:
                for child in sorted(path.iterdir()):
                    archive.add(child, arcname=child.name)
            handle.seek(0)
            self._s3.upload_fileobj(handle, self._options.bucket, key)

    # -- manifest and URLs -----------------------------------------------------------------

    def presign(self, method: str, key: str) -> str:
        return str(
            self._s3.generate_presigned_url(
                method,
                Params={"Bucket": self._options.bucket, "Key": key},
                ExpiresIn=self._options.url_expiry_s,
            )
        )

    def put_manifest(self, key: str, manifest: dict[str, Any]) -> str:
        """The job parameter for the manifest: the JSON itself when small, else a URL."""
        text = json.dumps(manifest, separators=(",", ":"))
        if len(text) <= INLINE_MANIFEST_LIMIT:
            return text
        body = text.encode("utf-8")
        self._s3.put_object(
            Bucket=self._options.bucket, Key=key, Body=body, ContentType="application/json"
        )
        return self.presign("get_object", key)

    # -- results ---------------------------------------------------------------------------

    def read_result(self, key: str) -> dict[str, Any] | None:
        body = self._get(key)
        if body is None:
            return None
        try:
            value = json.loads(body.decode("utf-8"))
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def download_outputs(self, key: str, dest: Path, ports: list[str]) -> dict[str, Path]:
        """Unpacks the job's outputs archive into ``dest``; returns {port: path} found.

        No archive means no outputs: the bootstrap fails the job when an upload fails."""
        body = self._get(key)
        if body is None:
            return {}
        dest.mkdir(parents=True, exist_ok=True)
        wanted = set(ports)
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            members = [m for m in archive.getmembers() if m.name.split("/", 1)[0] in wanted]
            _safe_extract(archive, members, dest)
        found = {port: child_path(dest, port) for port in ports}
        return {port: path for port, path in found.items() if path.exists()}

    def _get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            found = self._s3.get_object(Bucket=self._options.bucket, Key=key)
            return bytes(found["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise TaskFailed(f"cannot read {self.uri(key)}: {describe_failure(exc)}") from exc


def _safe_extract(archive: tarfile.TarFile, members: list[tarfile.TarInfo], dest: Path) -> None:
    # The archive comes from a container: never let it write outside ``dest``.
    if hasattr(tarfile, "data_filter"):
        archive.extractall(dest, members=members, filter="data")
        return
    root = dest.resolve()
    for member in members:
        target = (dest / member.name).resolve()
        if member.issym() or member.islnk() or not target.is_relative_to(root):
            raise TaskFailed(
                f"unsafe entry {member.name!r} in the outputs archive", retryable=False
            )
    archive.extractall(dest, members=members)
