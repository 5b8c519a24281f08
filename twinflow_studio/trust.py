"""Project trust shared by the CLI and the studio: the reasons a run needs trust (with the
checks that look at the disk) and the user's answers, kept in a small config file.

The file is ``$XDG_CONFIG_HOME/twinflow-studio/trust.json`` (``~/.config/...`` by default)::

    {
      "trusted_projects": ["/home/me/twins/", "/home/me/other/plant.twin"],
      "decisions": {
        "/home/me/twins/hello/hello.twin": {
          "trusted": true, "reasons": ["python:nodes.fit.params.callable=..."],
          "project_version": "...", "decided_at": "2026-11-30T13:00:00Z"
        }
      }
    }

``trusted_projects`` is the user's own list (a `.twin` file, or a folder and everything in
it): trusted whatever the projects ask for. ``decisions`` are the studio's remembered
answers, per project path, for the reasons shown at the time: a project stays trusted while
every reason it has was among those granted, so an edit that asks for something new (another
callable, another database URL) asks again, and an edit that changes a number does not.
A refusal is remembered for the same reasons; it asks again when they change.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinflow_studio.project import Project
from twinflow_studio.project.trust import TrustReason, grants, is_inside_twinflow, trust_reasons

FILE_NAME = "trust.json"
FORMAT = "twinflow-studio-trust"


def config_dir() -> Path:
    """The user's config folder for the studio (XDG_CONFIG_HOME, else ~/.config)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "twinflow-studio"


def default_trust_file() -> Path:
    return config_dir() / FILE_NAME


def _linked(project_dir: Path, location: Path) -> Path | None:
    """The first symbolic link on the way from ``project_dir`` to ``location`` (inside it),
    or None."""
    try:
        rel = location.relative_to(project_dir)
    except ValueError:
        return None
    here = project_dir
    for part in rel.parts:
        here = here / part
        try:
            if stat.S_ISLNK(os.lstat(here).st_mode):
                return here
        except OSError:  # not there (yet): nothing further can be a link
            return None
    return None


def run_reasons(
    project: Project,
    project_path: Path | None,
    project_dir: Path | None = None,
    *,
    lineage: bool = True,
) -> list[TrustReason]:
    """Why running ``project`` needs trust: its settings and nodes (see
    ``twinflow_studio.project.trust``) plus links that lead out of the project folder (a
    ``.twinflow`` that is a link, a data file reached through one)."""
    folder = project_dir or (project_path.parent if project_path else None)
    # The nodes inside subgraphs (embedded or referenced parts) run too: counted as theirs.
    project = _flattened(project, Path(folder) if folder is not None else Path.cwd())
    if folder is None:
        return trust_reasons(project, "", lineage=lineage)
    folder = Path(os.path.abspath(folder))
    out = trust_reasons(project, str(folder), lineage=lineage)
    store = project.settings.get("run_store")
    store = store if isinstance(store, str) and store else ".twinflow"
    link = _linked(folder, Path(os.path.normpath(folder / store)))
    if link is not None:
        out.append(
            TrustReason(
                "links",
                "settings.run_store" if store != ".twinflow" else ".twinflow",
                f"the run store {link} is a link to {_target(link)}",
                str(_target(link)),
            )
        )
    for node in project.nodes.values():
        location = node.params.get("path") if node.kind == "datasource" else None
        if isinstance(location, str) and location and "://" not in location:
            path = Path(os.path.normpath(folder / location))
            link = _linked(folder, path)
            if link is not None:
                out.append(
                    TrustReason(
                        "links",
                        f"nodes.{node.id}.params.path",
                        f"node {node.id!r} reads {location} through the link {link} to "
                        f"{_target(link)}",
                        str(_target(link)),
                    )
                )
    return out


def _target(link: Path) -> str:
    try:
        return os.readlink(link)
    except OSError:
        return "?"


def inert_lineage(project_dir: Path, settings: Any) -> bool:
    """Whether ``settings.lineage`` names only the embedded graph in the project's own
    ``.twinflow/`` (reached without links): what an untrusted project may open."""
    if settings is None:
        settings = {}
    if not isinstance(settings, dict) or settings.get("backend", "embedded") != "embedded":
        return False
    path = settings.get("path") or ".twinflow/lineage"
    if not isinstance(path, str) or not is_inside_twinflow(str(project_dir), path):
        return False
    where = Path(os.path.normpath(Path(project_dir) / path))
    return _linked(Path(project_dir), where / "graph") is None and (
        _linked(Path(project_dir), where / "outbox") is None
    )


def own_run_store(project_dir: Path) -> Path:
    """The run store an untrusted project's panels may read: its own ``.twinflow/``."""
    return Path(project_dir) / ".twinflow"


@dataclass
class Verdict:
    trusted: bool
    reasons: list[TrustReason]
    how: str  # "no reasons", "trusted list", "granted", "refused", "unknown"
    new: list[TrustReason] = field(default_factory=list)  # reasons not granted before


class TrustStore:
    """The user's trust decisions (see the module doc). Reading never writes; a file that
    cannot be read counts as empty and is kept aside (``.bad``) on the next write."""

    def __init__(self, file: Path | None = None) -> None:
        self.file = Path(file) if file is not None else default_trust_file()
        self.problem: str | None = None  # why the file could not be read, if it could not

    # ----- reading -----
    def read(self) -> dict[str, Any]:
        self.problem = None
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            self.problem = f"{self.file}: {exc}"
            return {}
        if not isinstance(data, dict):
            self.problem = f"{self.file}: expected a JSON object"
            return {}
        return data

    def trusted_paths(self, data: dict[str, Any] | None = None) -> list[Path]:
        data = self.read() if data is None else data
        entries = data.get("trusted_projects")
        out = []
        for entry in entries if isinstance(entries, list) else []:
            raw = entry.get("path") if isinstance(entry, dict) else entry
            if isinstance(raw, str) and raw.strip():
                out.append(_key_path(Path(raw).expanduser()))
        return out

    def verdict(self, project_path: Path | None, reasons: Sequence[TrustReason]) -> Verdict:
        reasons = list(reasons)
        if not reasons:
            return Verdict(True, reasons, "no reasons")
        if project_path is None:
            return Verdict(False, reasons, "unknown", reasons)
        data = self.read()
        path = _key_path(project_path)
        for listed in self.trusted_paths(data):
            if path == listed or listed in path.parents:
                return Verdict(True, reasons, "trusted list")
        decisions = data.get("decisions")
        decision = decisions.get(str(path)) if isinstance(decisions, dict) else None
        if not isinstance(decision, dict) or not isinstance(decision.get("reasons"), list):
            return Verdict(False, reasons, "unknown", reasons)
        seen = {k for k in decision["reasons"] if isinstance(k, str)}
        new = [r for r in reasons if r.key not in seen]
        if decision.get("trusted") is True and not new:
            return Verdict(True, reasons, "granted")
        if decision.get("trusted") is False and {r.key for r in reasons} == seen:
            return Verdict(False, reasons, "refused")
        return Verdict(False, reasons, "unknown", new or reasons)

    # ----- writing -----
    def record(
        self,
        project_path: Path,
        reasons: Sequence[TrustReason],
        trusted: bool,
        project_version: str = "",
    ) -> None:
        """Remember the user's answer for ``project_path`` (atomic; raises OSError)."""
        with self._locked():
            data = self.read()
            if self.problem is not None and self.file.exists():
                os.replace(self.file, self.file.with_name(self.file.name + ".bad"))
                data = {}
            decisions = data.get("decisions")
            if not isinstance(decisions, dict):
                decisions = {}
            decisions[str(_key_path(project_path))] = {
                "trusted": trusted,
                "reasons": sorted({r.key for r in reasons}),
                "project_version": project_version,
                "decided_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            data["format"] = FORMAT
            data.setdefault("trusted_projects", [])
            data["decisions"] = decisions
            self._write(data)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time (the studio and a CLI may answer together)."""
        import fcntl

        self.file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.file.with_name(self.file.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _write(self, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".trust-", dir=self.file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2, sort_keys=True)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _key_path(path: Path) -> Path:
    """A project's identity in the store: its absolute path with links resolved."""
    return Path(os.path.realpath(path))


def explain(path: Path, reasons: Sequence[TrustReason]) -> str:
    """The headless refusal: why trust is needed and how to grant it."""
    lines = [f"{path} is not trusted, and running it would:"]
    lines += [f"  - {r}" for r in reasons]
    lines.append("Trusting it allows it to " + "; ".join(grants(list(reasons))) + ".")
    lines.append(
        "Run it only if you trust its author: add --trust to this command, add the project "
        f'(or its folder) to "trusted_projects" in {default_trust_file()}, or answer Yes '
        "when the studio asks before its first run."
    )
    return "\n".join(lines)


def _flattened(project: Project, folder: Path) -> Project:
    """``project`` with its subgraphs flattened; as it is when a body cannot be read (the
    run is refused by validation then, before anything runs)."""
    from twinflow_studio.project.errors import ValidationError
    from twinflow_studio.project.subgraphs import flatten

    try:
        return flatten(project, folder)
    except ValidationError:
        return project
