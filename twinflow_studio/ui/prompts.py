"""Every question the studio asks a person goes through a Prompter.

Tests install a Prompter with scripted answers (the hook for dialogs that would otherwise
block an offscreen test); the studio's own logic around the answers runs unchanged.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from twinflow_studio.project.trust import TrustReason, grants

TWIN_FILTER = "TwinFlow projects (*.twin)"


class Prompter:
    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def save_changes(self, title: str) -> str:
        """'save', 'discard' or 'cancel' for a document with unsaved changes."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unsaved changes",
            f"{title} has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self.parent,
        )
        answer = box.exec()
        return {
            QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard",
        }.get(QMessageBox.StandardButton(answer), "cancel")

    def recover(self, description: str) -> bool:
        answer = QMessageBox.question(
            self.parent,
            "Recover unsaved work?",
            f"The studio did not close cleanly last time. Recover {description}?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def quit_during_run(self) -> str:
        """'wait' (quit when the run ends), 'cancel' (cancel it, then quit) or 'keep' (the
        run goes on and the studio stays open) when quitting while a run is in progress."""
        from twinflow_studio.ui.quit_guard import ask_quit_during_run

        return ask_quit_during_run(self.parent)

    def error(self, title: str, text: str) -> None:
        QMessageBox.critical(self.parent, title, text)

    def trust_project(self, title: str, reasons: list[TrustReason]) -> bool:
        """Whether the person trusts ``title`` to do what ``reasons`` say (asked before its
        first run; No is the default button)."""
        box = trust_box(self.parent, title, reasons)
        return QMessageBox.StandardButton(box.exec()) == QMessageBox.StandardButton.Yes

    def open_path(self, start: str = "") -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self.parent, "Open project", start, TWIN_FILTER)
        return Path(name) if name else None

    def save_path(self, start: str = "") -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self.parent, "Save project as", start, TWIN_FILTER)
        if not name:
            return None
        path = Path(name)
        return path if path.suffix == ".twin" else path.with_suffix(".twin")

    def text(self, title: str, label: str, default: str = "") -> str | None:
        """A line of text (a name, a title); None when cancelled."""
        value, ok = QInputDialog.getText(self.parent, title, label, text=default)
        return value if ok else None

    def save_file(self, title: str, name: str) -> Path | None:
        """Where to save a copy of an output (a figure), or None."""
        chosen, _ = QFileDialog.getSaveFileName(self.parent, title, name)
        return Path(chosen) if chosen else None

    def choose_folder(self, title: str, start: str = "") -> Path | None:
        """A folder (an example is copied into it before it is opened), or None."""
        chosen = QFileDialog.getExistingDirectory(self.parent, title, start)
        return Path(chosen) if chosen else None


class ScriptedPrompter(Prompter):
    """Answers from a script, in order; records each question asked (for tests and demos)."""

    def __init__(self, **answers: list) -> None:
        super().__init__(None)
        self.answers = {k: list(v) for k, v in answers.items()}
        self.asked: list[tuple[str, str]] = []

    def _next(self, kind: str, text: str, default: object) -> object:
        self.asked.append((kind, text))
        queue = self.answers.get(kind) or []
        return queue.pop(0) if queue else default

    def save_changes(self, title: str) -> str:
        return str(self._next("save_changes", title, "cancel"))

    def recover(self, description: str) -> bool:
        return bool(self._next("recover", description, False))

    def quit_during_run(self) -> str:
        return str(self._next("quit_during_run", "", "keep"))

    def error(self, title: str, text: str) -> None:
        self._next("error", f"{title}: {text}", None)

    def trust_project(self, title: str, reasons: list[TrustReason]) -> bool:
        # Unscripted, the person trusts what they run (the tests of a refusal script False).
        text = "\n".join([title, *(str(r) for r in reasons)])
        return bool(self._next("trust_project", text, True))

    def open_path(self, start: str = "") -> Path | None:
        return self._next("open_path", start, None)  # type: ignore[return-value]

    def save_path(self, start: str = "") -> Path | None:
        return self._next("save_path", start, None)  # type: ignore[return-value]

    def text(self, title: str, label: str, default: str = "") -> str | None:
        return self._next("text", f"{title}: {label}", default)  # type: ignore[return-value]

    def save_file(self, title: str, name: str) -> Path | None:
        return self._next("save_file", name, None)  # type: ignore[return-value]

    def choose_folder(self, title: str, start: str = "") -> Path | None:
        return self._next("choose_folder", title, None)  # type: ignore[return-value]


def trust_box(parent: QWidget | None, title: str, reasons: list[TrustReason]) -> QMessageBox:
    """The question asked before the first run of a project that needs trust."""
    allowed = "".join(f"<li>{escape(g)}</li>" for g in grants(reasons))
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Trust this project?",
        f"<p>Running <b>{escape(title)}</b> will let it:</p><ul>{allowed}</ul>"
        "<p>Run it only if you trust its author. Your answer is remembered for this "
        "project; it is asked again when the project asks for something new.</p>",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setInformativeText(
        "Because:<ul>"
        + "".join(f"<li>{escape(str(r))}</li>" for r in reasons[:12])
        + "</ul>"
        + (f"and {len(reasons) - 12} more (see Details)" if len(reasons) > 12 else "")
    )
    box.setDetailedText("\n".join(f"- {r}" for r in reasons))
    box.button(QMessageBox.StandardButton.Yes).setText("Trust and run")
    box.button(QMessageBox.StandardButton.No).setText("Do not run")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    return box
