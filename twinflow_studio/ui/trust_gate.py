"""The studio's side of project trust: is the open project trusted (no question, for what
opening may touch), and may it run (asks once, remembers the answer)."""

from __future__ import annotations

from pathlib import Path

from twinflow_studio.project import Project
from twinflow_studio.project.trust import TrustReason
from twinflow_studio.trust import TrustStore, Verdict, run_reasons
from twinflow_studio.ui.prompts import Prompter


class TrustGate:
    def __init__(self, prompter: Prompter, store: TrustStore | None = None) -> None:
        self.prompter = prompter
        self.store = store or TrustStore()
        # Reasons granted in this session, per path (None: an unsaved project); they hold
        # even when the answer could not be written to the store.
        self._session: dict[Path | None, set[str]] = {}
        self.last_message = ""

    def _granted_now(self, path: Path | None, reasons: list[TrustReason]) -> bool:
        keys = self._session.get(_key(path))
        return keys is not None and {r.key for r in reasons} <= keys

    def verdict(self, project: Project, path: Path | None, folder: Path) -> Verdict:
        reasons = run_reasons(project, path, folder)
        verdict = self.store.verdict(path, reasons)
        if not verdict.trusted and self._granted_now(path, reasons):
            return Verdict(True, reasons, "granted")
        return verdict

    def is_trusted(self, project: Project, path: Path | None, folder: Path) -> bool:
        """Trusted to do what it asks for, without asking anyone (opening uses this)."""
        return self.verdict(project, path, folder).trusted

    def allow_run(
        self, project: Project, path: Path | None, folder: Path, *, ask_again: bool = False
    ) -> bool:
        """May ``project`` run now? Asks the person once for the reasons it has and
        remembers the answer; a remembered No holds until the reasons change (or
        ``ask_again``)."""
        verdict = self.verdict(project, path, folder)
        self.last_message = ""
        if verdict.how == "no reasons":
            self.last_message = (
                "This project needs no trust: it asks for nothing beyond its folder and "
                "local containers"
            )
        if verdict.trusted:
            return True
        if verdict.how == "refused" and not ask_again:
            self.last_message = (
                "Not run: you chose not to trust this project (Run ▸ Trust project… asks again)"
            )
            return False
        title = path.name if path is not None else f"{project.name} (unsaved)"
        answer = self.prompter.trust_project(title, verdict.reasons)
        self.last_message = "" if answer else "Not run: the project is not trusted"
        if answer:
            self._session[_key(path)] = {r.key for r in verdict.reasons}
        if path is not None:
            try:
                self.store.record(path, verdict.reasons, answer, project.version())
            except OSError as exc:  # the answer holds for this session
                self.last_message = f"Your answer could not be saved in {self.store.file}: {exc}"
        return answer

    def moved(self, old: Path | None, new: Path, project: Project) -> None:
        """A project saved under another name keeps the trust given to it in this session
        (the person already said yes to what it asks for)."""
        keys = self._session.get(_key(old))
        if keys is None or _key(old) == _key(new):
            return
        reasons = [r for r in run_reasons(project, new) if r.key in keys]
        self._session[_key(new)] = keys
        try:
            self.store.record(new, reasons, True, project.version())
        except OSError:
            pass  # holds for the session


def _key(path: Path | None) -> Path | None:
    return path.resolve() if path is not None else None
