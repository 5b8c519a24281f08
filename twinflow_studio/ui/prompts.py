"""Every question the studio asks a person goes through a Prompter.

Tests install a Prompter with scripted answers (the hook for dialogs that would otherwise
block an offscreen test); the studio's own logic around the answers runs unchanged.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

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

    def error(self, title: str, text: str) -> None:
        QMessageBox.critical(self.parent, title, text)

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

    def error(self, title: str, text: str) -> None:
        self._next("error", f"{title}: {text}", None)

    def open_path(self, start: str = "") -> Path | None:
        return self._next("open_path", start, None)  # type: ignore[return-value]

    def save_path(self, start: str = "") -> Path | None:
        return self._next("save_path", start, None)  # type: ignore[return-value]

    def text(self, title: str, label: str, default: str = "") -> str | None:
        return self._next("text", f"{title}: {label}", default)  # type: ignore[return-value]
