"""Priors and noise as small forms: one row per parameter (name, distribution, its numbers
as spin boxes), with the density drawn next to it. The checks are TwinStat's own
(``parse_prior``), so the form refuses exactly what a run would refuse."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QWidget,
)

from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.priors import (
    DISTRIBUTIONS,
    Prior,
    canonical_dist,
    distribution_args,
    parse_prior,
)
from twinflow_studio.ui.forms.numbers import NumberSpin
from twinflow_studio.ui.forms.shaped import ShapedForm, clear_layout
from twinflow_studio.ui.forms.sparkline import Sparkline, density_curve
from twinflow_studio.ui.themes import current_theme
from twinflow_studio.ui.wheel_guard import guard_wheel


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def prior_shape_problem(entry: Any, named: bool) -> str | None:
    """Why one prior entry cannot be shown in a row (its numbers may still be invalid:
    the row shows that)."""
    if not isinstance(entry, Mapping):
        return "a prior is not an object"
    dist = entry.get("dist")
    if not isinstance(dist, str) or canonical_dist(dist) not in DISTRIBUTIONS:
        return f"unknown distribution {dist!r}"
    required, optional = distribution_args(dist)
    allowed = {"dist", *required, *optional} | ({"name"} if named else set())
    extra = sorted(set(entry) - allowed)
    if extra:
        return f"unknown key(s) {extra}"
    if named and (not isinstance(entry.get("name"), str) or not entry["name"]):
        return "a prior without a name"
    for key in required:
        if not _is_number(entry.get(key)):
            return f"{key!r} is not a number"
    for key in optional:
        value = entry.get(key)
        if value is not None and not (_is_number(value) and math.isfinite(value)):
            return f"{key!r} is not a finite number"
    return None


def _spread(entry: Mapping[str, Any]) -> tuple[float, float]:
    """A centre and a spread of the current row, to start a new distribution near it."""
    try:
        prior = parse_prior("x", entry)
        lo, mid, hi = (float(v) for v in prior.ppf([0.16, 0.5, 0.84]))
        if all(map(math.isfinite, (lo, mid, hi))) and hi > lo:
            return mid, (hi - lo) / 2
    except (TwinStatError, ValueError):
        pass
    return 0.0, 1.0


def starting_args(dist: str, centre: float, spread: float) -> dict[str, float]:
    """Numbers for ``dist`` near the previous distribution, to 3 significant digits (a
    starting point to edit, not a precise conversion)."""
    if dist == "uniform":
        args = {"low": centre - 2 * spread, "high": centre + 2 * spread}
    elif dist == "lognormal":
        args = {"mu": math.log(centre) if centre > 0 else 0.0, "sigma": 0.5}
    else:
        args = {"mean": centre, "sd": spread}
    return {k: float(f"{v:.3g}") for k, v in args.items()}


class PriorRow(QFrame):
    """One parameter's prior. ``named`` rows have a name field (the noise prior has not)."""

    changed = Signal()
    removeRequested = Signal()

    def __init__(self, entry: Mapping[str, Any] | None, named: bool = True) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.named = named
        self.original = dict(entry) if entry is not None else None
        self.touched = entry is None
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 3, 4, 3)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        self.name = QLineEdit(str(entry.get("name", "")) if entry else "")
        self.name.setPlaceholderText("e.g. k")
        self.name.setToolTip("Parameter name")
        self.name.textEdited.connect(self._edited)
        self.dist = QComboBox()
        self.dist.addItems(list(DISTRIBUTIONS))
        self.dist.setToolTip("Distribution")
        self.sparkline = Sparkline()
        self.sparkline.setToolTip("Density of the prior")
        self.remove = QToolButton()
        self.remove.setText("✕")
        self.remove.setToolTip("Remove this parameter")
        self.remove.clicked.connect(self.removeRequested.emit)
        col = 0
        if named:
            grid.addWidget(self.name, 0, col)
            col += 1
        else:
            self.name.hide()
            self.remove.hide()
        grid.addWidget(self.dist, 0, col)
        grid.addWidget(self.sparkline, 0, col + 1)
        grid.addWidget(self.remove, 0, col + 2)
        grid.setColumnStretch(0, 1)
        self.args_box = QHBoxLayout()
        self.args_box.setContentsMargins(0, 0, 0, 0)
        grid.addLayout(self.args_box, 1, 0, 1, col + 3)
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {current_theme().hex('error')};")
        self.error.setWordWrap(True)
        self.error.hide()
        grid.addWidget(self.error, 2, 0, 1, col + 3)
        self.spins: dict[str, NumberSpin] = {}
        self.bounds: dict[str, QCheckBox] = {}
        start = dict(entry) if entry else {"dist": "uniform", "low": 0.0, "high": 1.0}
        self.dist.setCurrentText(canonical_dist(str(start.get("dist", "uniform"))))
        self.shown_dist = self.dist.currentText()  # the one the spin boxes are for
        self._build_args(self.shown_dist, start)
        self.dist.currentTextChanged.connect(self._dist_changed)
        self.refresh()

    def _build_args(self, dist: str, values: Mapping[str, Any]) -> None:
        clear_layout(self.args_box)
        self.spins, self.bounds = {}, {}
        required, optional = distribution_args(dist)
        for key in (*required, *optional):
            value = values.get(key)
            if key in optional:  # an optional bound: off means unbounded on that side
                box = QCheckBox(key)
                box.setChecked(value is not None)
                box.setToolTip(f"Bound the distribution: {key}")
                box.toggled.connect(self._edited)
                self.args_box.addWidget(box)
                self.bounds[key] = box
            else:
                label = QLabel(key)
                label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.args_box.addWidget(label)
            spin = NumberSpin(float(value) if _is_number(value) else 0.0)
            spin.setObjectName(key)
            spin.setToolTip(key)
            spin.setEnabled(key not in self.bounds or self.bounds[key].isChecked())
            spin.valueChanged.connect(self._edited)
            if key in self.bounds:
                self.bounds[key].toggled.connect(spin.setEnabled)
            self.args_box.addWidget(spin, 1)
            self.spins[key] = spin
        guard_wheel(self)

    def _dist_changed(self, dist: str) -> None:
        centre, spread = _spread(self._built())
        self.shown_dist = dist
        self._build_args(dist, starting_args(dist, centre, spread))
        self._edited()

    def _edited(self, *_: Any) -> None:
        self.touched = True
        self.refresh()
        self.changed.emit()

    def _built(self) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        if self.named:
            entry["name"] = self.name.text().strip()
        entry["dist"] = self.shown_dist
        for key, spin in self.spins.items():
            box = self.bounds.get(key)
            if box is None or box.isChecked():
                entry[key] = spin.value()
        return entry

    def entry(self) -> dict[str, Any]:
        """The prior as the document holds it: the original, untouched, when not edited
        (its number types, alias and key order survive)."""
        if not self.touched and self.original is not None:
            return dict(self.original)
        return self._built()

    def problem(self) -> str | None:
        entry = self.entry()
        if self.named and not str(entry.get("name", "")).strip():
            return "give the parameter a name"
        try:
            parse_prior(str(entry.get("name", "sigma")), entry)
        except TwinStatError as exc:
            return exc.reason
        return None

    def prior(self) -> Prior | None:
        if self.problem() is not None:
            return None
        entry = self.entry()
        return parse_prior(str(entry.get("name", "sigma")), entry)

    def show_problem(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))
        self.error.setStyleSheet(f"color: {current_theme().hex('error')};")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if self.error.isHidden():
            return
        # Painted, not a style sheet: a style sheet on the row would pin its fields to
        # the palette of the moment and they would not follow a theme switch.
        painter = QPainter(self)
        painter.setPen(QPen(QColor(current_theme().hex("error")), 1.5))
        painter.drawRect(self.rect().adjusted(1, 1, -1, -1))

    def refresh(self) -> None:
        prior = self.prior()
        self.show_problem(self.problem())
        if prior is None:
            self.sparkline.set_values([])
            return
        bounded = prior.support if prior.dist in ("uniform",) else None
        _x, y = density_curve(prior.frozen, bounded)
        self.sparkline.set_values(y)


class PriorsForm(ShapedForm):
    """A list of priors (``[{name, dist, ...}]``, or the mapping ``{name: {dist, ...}}``,
    kept in the shape it came in)."""

    def __init__(self, value: Any, parent: QWidget | None = None) -> None:
        self.rows: list[PriorRow] = []
        self.mapping = isinstance(value, Mapping)
        super().__init__(value, parent)
        add = QPushButton("+ parameter")
        add.setToolTip("Add a parameter with a prior")
        add.clicked.connect(self.add_row)
        self.buttons.insertWidget(0, add)
        self.add_button = add

    def _entries(self, value: Any) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, Mapping):
            return [{"name": k, **v} if isinstance(v, Mapping) else v for k, v in value.items()]
        return list(value)

    def cannot_express(self, value: Any) -> str | None:
        if value is not None and not isinstance(value, (list, Mapping)):
            return "priors are a list of {name, dist, ...}"
        for i, entry in enumerate(self._entries(value)):
            why = prior_shape_problem(entry, named=True)
            if why:
                return f"entry {i + 1}: {why}"
        return None

    def load(self, value: Any) -> None:
        self.mapping = isinstance(value, Mapping)
        clear_layout(self.body_layout)
        self.rows = []
        for entry in self._entries(value):
            self._append(PriorRow(entry))
        self._mark_duplicates()

    def _append(self, row: PriorRow) -> None:
        row.changed.connect(self._row_changed)
        row.removeRequested.connect(lambda r=row: self.remove_row(r))
        self.body_layout.addWidget(row)
        self.rows.append(row)

    def add_row(self) -> PriorRow:
        taken = {r.entry().get("name") for r in self.rows}
        i = len(self.rows) + 1
        while f"theta{i}" in taken:
            i += 1
        row = PriorRow(None)
        row.name.setText(f"theta{i}")
        self._append(row)
        self._row_changed()
        return row

    def remove_row(self, row: PriorRow) -> None:
        self.rows.remove(row)
        row.setParent(None)
        row.deleteLater()
        self._row_changed()

    def _mark_duplicates(self) -> str | None:
        seen: dict[str, int] = {}
        first_problem = None
        for i, row in enumerate(self.rows):
            problem = row.problem()
            name = str(row.entry().get("name", ""))
            if problem is None and name in seen:
                problem = f"the name {name!r} is taken by parameter {seen[name] + 1}"
            seen.setdefault(name, i)
            row.show_problem(problem)
            if problem and first_problem is None:
                first_problem = f"parameter {i + 1} ({name or 'unnamed'}): {problem}"
        return first_problem

    def _row_changed(self) -> None:
        self.form_changed()

    def collect(self) -> tuple[Any, str | None]:
        entries = [row.entry() for row in self.rows]
        if self.mapping:
            value: Any = {e["name"]: {k: v for k, v in e.items() if k != "name"} for e in entries}
        else:
            value = entries
        return value, self._mark_duplicates()


NOISE_MODES: tuple[tuple[str, str], ...] = (
    ("sigma", "Known sigma"),
    ("sigma_column", "Sigma per row (column)"),
    ("prior", "Inferred (prior on sigma)"),
)


class NoiseForm(ShapedForm):
    """The calibration's noise: a known sigma, a column of sigmas, or a prior to infer it."""

    def cannot_express(self, value: Any) -> str | None:
        if value in (None, {}):
            return None
        if not isinstance(value, Mapping) or len(value) != 1:
            return "noise is one of {sigma}, {sigma_column} or {prior}"
        key, inner = next(iter(value.items()))
        if key == "sigma" and not _is_number(inner):
            return "sigma is not a number"
        if key == "sigma_column" and not isinstance(inner, str):
            return "sigma_column is not a column name"
        if key == "prior":
            why = prior_shape_problem(inner, named=False)
            return f"prior: {why}" if why else None
        if key not in dict(NOISE_MODES):
            return f"unknown key {key!r}"
        return None

    def load(self, value: Any) -> None:
        clear_layout(self.body_layout)
        value = dict(value or {"sigma": 1.0})
        key, inner = next(iter(value.items()))
        self.mode = QComboBox()
        for name, text in NOISE_MODES:
            self.mode.addItem(text, name)
        self.mode.setCurrentIndex([m for m, _t in NOISE_MODES].index(key))
        self.sigma = NumberSpin(float(inner) if key == "sigma" else 1.0)
        self.sigma.setToolTip("Standard deviation of the measurement noise (> 0)")
        self.column = QLineEdit(inner if key == "sigma_column" else "")
        self.column.setPlaceholderText("e.g. sigma")
        self.prior_row = PriorRow(
            inner if key == "prior" else {"dist": "lognormal", "mu": 0.0, "sigma": 0.5},
            named=False,
        )
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {current_theme().hex('error')};")
        self.error.hide()
        self.original = value
        self.touched = False
        # One field at a time (a stacked widget would take the tallest one's height).
        self.pages = (self.sigma, self.column, self.prior_row)
        for widget in (self.mode, *self.pages, self.error):
            self.body_layout.addWidget(widget)
        self._show_page(self.mode.currentIndex())
        self.mode.currentIndexChanged.connect(self._show_page)
        self.mode.currentIndexChanged.connect(self._edited)
        self.sigma.valueChanged.connect(self._edited)
        self.column.textEdited.connect(self._edited)
        self.prior_row.changed.connect(self._edited)
        guard_wheel(self.body)

    def _show_page(self, index: int) -> None:
        for i, page in enumerate(self.pages):
            page.setVisible(i == index)

    def _edited(self, *_: Any) -> None:
        self.touched = True
        self.form_changed()

    def collect(self) -> tuple[Any, str | None]:
        key = self.mode.currentData()
        problem = None
        if key == "sigma":
            value: Any = {"sigma": self.sigma.value()}
            if not self.sigma.value() > 0:
                problem = f"sigma must be > 0, got {self.sigma.value():g}"
        elif key == "sigma_column":
            value = {"sigma_column": self.column.text().strip()}
            if not value["sigma_column"]:
                problem = "name the column that holds each row's sigma"
        else:
            value = {"prior": self.prior_row.entry()}
            problem = self.prior_row.problem()
        if not self.touched:
            value = self.original
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        return value, problem


FORMS: dict[str, type[ShapedForm]] = {"priors": PriorsForm, "noise": NoiseForm}
