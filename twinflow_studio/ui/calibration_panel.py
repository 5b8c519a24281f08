"""The calibration panel: posterior figures drawn with matplotlib inside the app (trace, pair
plot, predictive bands when the run recorded them) and a parameter's history across
recalibrations (every run of the node in the run store)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PySide6.QtWidgets import QComboBox, QLabel, QTabWidget, QVBoxLayout, QWidget

from twinflow_studio.project import Project
from twinflow_studio.ui.lineage_source import RunStoreLineage
from twinflow_studio.ui.themes import Theme, current_theme


def uri_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)


def posterior_history(
    project: Project, project_dir: Path, node_id: str, store_root: Path | None = None
) -> list[tuple[str, Path]]:
    """(run id, posterior file) for each run of ``node_id`` that produced one, oldest first.
    Only regular files inside the run store count: run.json is read from disk, and what it
    names must not lead the panel to a FIFO or a file elsewhere."""
    node = project.nodes.get(node_id)
    if node is None:
        return []
    ports = [p.name for p in node.output_ports() if p.type == "posterior"]
    if not ports:
        return []
    source = RunStoreLineage(project, project_dir, store_root)
    runs_dir = os.path.realpath(source.runs_dir)
    out = []
    for run in reversed(source.runs()):
        for task in source.task_runs(run.run_id):
            if task.node_id == node_id and ports[0] in task.outputs:
                path = uri_path(str(task.outputs[ports[0]]))
                if _stored_file(path, runs_dir):
                    out.append((run.run_id, path))
    return out


def _stored_file(path: Path, runs_dir: str) -> bool:
    real = os.path.realpath(path)
    try:
        regular = stat.S_ISREG(os.stat(real).st_mode)
    except (OSError, ValueError):
        return False
    return regular and real.startswith(runs_dir.rstrip(os.sep) + os.sep)


class _Plot(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.figure = Figure(figsize=(5, 4), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.canvas)

    def redraw(self) -> None:
        style_figure(self.figure, current_theme())
        self.canvas.draw_idle()


HINT = "Select a calibration node that has run to see its posterior."


def style_figure(figure: Figure, theme: Theme) -> None:
    """Paint a figure in the theme's colours: background, axes, ticks, labels, titles."""
    back, ink = theme.mpl("base"), theme.mpl("plot_ink")
    figure.set_facecolor(back)
    for ax in figure.axes:
        ax.set_facecolor(back)
        for spine in ax.spines.values():
            spine.set_color(ink)
        ax.tick_params(colors=ink, which="both")
        ax.xaxis.label.set_color(ink)
        ax.yaxis.label.set_color(ink)
        ax.title.set_color(ink)
        legend = ax.get_legend()
        if legend is not None:
            legend.get_frame().set_facecolor(back)
            for text in legend.get_texts():
                text.set_color(ink)


class CalibrationPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = QLabel(HINT)
        self.info.setWordWrap(True)
        self.param = QComboBox()
        self.tabs = QTabWidget()
        self.trace, self.pair, self.predictive, self.history = _Plot(), _Plot(), _Plot(), _Plot()
        self.sensitivity = _Plot()
        for title, w in (
            ("Trace", self.trace),
            ("Pair plot", self.pair),
            ("Predictive", self.predictive),
            ("History", self.history),
            ("Sensitivity", self.sensitivity),
        ):
            self.tabs.addTab(w, title)
        lay = QVBoxLayout(self)
        lay.addWidget(self.info)
        lay.addWidget(self.tabs)
        lay.addWidget(QLabel("Parameter history:"))
        lay.addWidget(self.param)
        self.param.currentTextChanged.connect(lambda _t: self._draw_history())
        self.runs: list[tuple[str, Any]] = []

    def set_theme(self, theme: Theme) -> None:
        """Redraw what is shown in ``theme``'s colours (the figures read the current theme)."""
        del theme  # current_theme() is already this one; kept for a uniform set_theme API
        if self.runs:
            self._draw_all(self.runs[-1][1])
        else:
            for plot in (self.trace, self.pair, self.predictive, self.history):
                plot.redraw()

    def show_node(
        self,
        project: Project,
        project_dir: Path,
        node_id: str | None,
        store_root: Path | None = None,
    ) -> None:
        self.runs = []
        if node_id:
            from twinflow_studio.twinstat.posterior import Posterior

            for run_id, path in posterior_history(project, project_dir, node_id, store_root):
                try:
                    self.runs.append((run_id, Posterior.load(path)))
                except Exception as exc:  # a damaged artifact is reported, not fatal
                    self.info.setText(f"{path}: {exc}")
        for plot in (self.trace, self.pair, self.predictive, self.history, self.sensitivity):
            plot.figure.clear()
            plot.redraw()
        if node_id and self._show_sensitivity(project, project_dir, node_id, store_root):
            return
        if not self.runs:
            if node_id:
                self.info.setText(f"No posterior recorded for {node_id} yet.")
            else:  # nothing selected (or another project): no message of the last node stays
                self.info.setText(HINT)
                self.param.blockSignals(True)
                self.param.clear()
                self.param.blockSignals(False)
            return
        run_id, post = self.runs[-1]
        self.info.setText(
            f"{node_id}: posterior of run {run_id} "
            f"({post.samples.shape[0]} samples; {len(self.runs)} calibration(s))"
        )
        self.param.blockSignals(True)
        self.param.clear()
        self.param.addItems(post.names)
        self.param.blockSignals(False)
        self._draw_all(post)

    def _draw_all(self, post: Any) -> None:
        for plot in (self.trace, self.pair, self.predictive):
            plot.figure.clear()
        self._draw_trace(post)
        self._draw_pair(post)
        self._draw_predictive(post)
        self._draw_history()

    def _show_sensitivity(
        self, project: Project, project_dir: Path, node_id: str, store_root: Path | None
    ) -> bool:
        """A sensitivity node: its latest Sobol indices as a bar chart."""
        from twinflow_studio.ui.sensitivity_view import draw_indices, latest_indices

        node = project.nodes.get(node_id)
        if node is None or node.kind != "sensitivity":
            return False
        found = latest_indices(project, project_dir, node_id, store_root)
        if found is None:
            self.info.setText(f"No Sobol indices recorded for {node_id} yet.")
            return True
        run_id, data = found
        self.info.setText(f"{node_id}: Sobol indices of run {run_id}")
        draw_indices(self.sensitivity.figure, data)
        self.sensitivity.redraw()
        self.tabs.setCurrentWidget(self.sensitivity)
        return True

    def _draw_trace(self, post: Any) -> None:
        chain = post.chain
        ink = current_theme().mpl("plot_ink")
        axes = self.trace.figure.subplots(chain.shape[2], 1, sharex=True, squeeze=False)[:, 0]
        stride = max(1, chain.shape[0] // 400)
        for i, ax in enumerate(axes):
            ax.plot(chain[::stride, :, i], color=ink, alpha=0.35, lw=0.4)
            ax.set_ylabel(post.names[i])
        axes[-1].set_xlabel(f"step / {stride}")
        self.trace.redraw()

    def _draw_pair(self, post: Any) -> None:
        s = post.samples[:3000]
        n = s.shape[1]
        ink, accent = current_theme().mpl("plot_ink"), current_theme().mpl("plot_accent")
        axes = self.pair.figure.subplots(n, n, squeeze=False)
        for r in range(n):
            for c in range(n):
                ax = axes[r, c]
                if c > r:
                    ax.set_axis_off()
                elif r == c:
                    ax.hist(s[:, c], bins=30, color=accent, alpha=0.8)
                    ax.set_yticks([])
                else:
                    ax.plot(s[:, c], s[:, r], ",", color=ink, alpha=0.5)
                if r == n - 1:
                    ax.set_xlabel(post.names[c])
        self.pair.redraw()

    def _draw_predictive(self, post: Any) -> None:
        ax = self.predictive.figure.subplots()
        ink, accent = current_theme().mpl("plot_ink"), current_theme().mpl("plot_accent")
        pred = post.meta.get("predictive") if isinstance(post.meta, dict) else None
        if isinstance(pred, str):
            try:
                pred = json.loads(pred)
            except ValueError:
                pred = None
        if isinstance(pred, dict) and "x" in pred and "bands" in pred:
            x = np.asarray(pred["x"], dtype=float)
            bands = {k: np.asarray(v, dtype=float) for k, v in pred["bands"].items()}
            if "q05" in bands and "q95" in bands:
                ax.fill_between(
                    x, bands["q05"], bands["q95"], color=accent, alpha=0.3, label="90% band"
                )
            if "q50" in bands:
                ax.plot(x, bands["q50"], color=accent, label="median")
            if "y" in pred:
                ax.plot(x, pred["y"], ".", color=ink, label="observed")
            ax.legend()
        else:
            # Without recorded bands, show each parameter's marginal with its 90% interval.
            for i in range(len(post.names)):
                col = post.samples[:, i]
                q05, q50, q95 = np.quantile(col, [0.05, 0.5, 0.95])
                ax.errorbar(
                    [i], [q50], yerr=[[q50 - q05], [q95 - q50]], fmt="o", capsize=4, color=accent
                )
            ax.set_xticks(range(len(post.names)), post.names)
            ax.set_title("posterior medians with 90% intervals")
        self.predictive.redraw()

    def _draw_history(self) -> None:
        self.history.figure.clear()
        name = self.param.currentText()
        if not self.runs or not name:
            self.history.redraw()
            return
        ax = self.history.figure.subplots()
        xs, mids, lows, highs = [], [], [], []
        for i, (_run, post) in enumerate(self.runs):
            if name not in post.names:
                continue
            col = post.samples[:, post.names.index(name)]
            q05, q50, q95 = np.quantile(col, [0.05, 0.5, 0.95])
            xs.append(i + 1)
            mids.append(q50)
            lows.append(q50 - q05)
            highs.append(q95 - q50)
        accent = current_theme().mpl("plot_accent")
        ax.errorbar(xs, mids, yerr=[lows, highs], fmt="o-", capsize=4, color=accent)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("calibration #")
        ax.set_ylabel(name)
        ax.set_title(f"{name} across recalibrations")
        self.history.redraw()
