"""The calibration panel draws a node's posterior (from a real run) inside the app and the
history of a parameter across recalibrations."""

from __future__ import annotations

import textwrap

from ui_helpers import run_to_end

from twinflow_studio.project import Node, Port, Project, save

MODULE = textwrap.dedent(
    """
    import numpy as np
    from twinflow_studio.twinstat.posterior import Posterior

    def calibrate(ctx, center=1.0):
        rng = np.random.default_rng(0)
        chain = center + 0.1 * rng.standard_normal((200, 8, 2))
        post = Posterior(names=["k", "ambient"], samples=chain[100:].reshape(-1, 2),
                         log_prob=np.zeros(800), chain=chain,
                         diagnostics={"burn": 100}, meta={"seed": 0})
        return post.save(ctx.output_dir / "posterior.npz")
    """
)


def test_posterior_figures_and_history(window, qt_loop, tmp_path):
    folder = tmp_path / "cal"
    folder.mkdir()
    (folder / "ui_mod_calib.py").write_text(MODULE, encoding="utf-8")
    p = Project(name="calibration")
    p.add_node(
        Node(
            "calib",
            "python",
            params={"callable": "ui_mod_calib:calibrate", "kwargs": {"center": 1.0}},
            outputs=[Port("posterior", "posterior")],
        )
    )
    save(p, folder / "cal.twin")
    window.open_path(folder / "cal.twin")
    for center in (1.0, 2.0):  # a recalibration: new data moves the parameters
        window.doc.change_node(
            "calib", "params", lambda n, c=center: n.params.update(kwargs={"center": c})
        )
        run_to_end(qt_loop, window.run_all())
        window.runs.flush()
        assert window.runs.last_summary["status"] == "succeeded"
    window.canvas.select(["calib"])
    panel = window.calibration
    assert len(panel.runs) == 2
    assert "2 calibration(s)" in panel.info.text()
    assert len(panel.trace.figure.axes) == 2  # one trace per parameter
    assert len(panel.pair.figure.axes) == 4
    assert [panel.param.itemText(i) for i in range(panel.param.count())] == ["k", "ambient"]
    (ax,) = panel.history.figure.axes
    medians = ax.lines[0].get_ydata()
    assert len(medians) == 2 and medians[0] < 1.5 < medians[1]
    panel.param.setCurrentText("ambient")
    assert panel.history.figure.axes[0].get_ylabel() == "ambient"


def test_sensitivity_node_shows_its_sobol_bar_chart(window, qt_loop, tmp_path):
    folder = tmp_path / "sens"
    folder.mkdir()
    p = Project(name="sensitivity")
    p.add_node(
        Node(
            "sobol",
            "sensitivity",
            params={
                "callable": "twinflow_studio.twinstat.models:ishigami",
                "priors": [
                    {"name": f"x{i}", "dist": "uniform", "low": -3.14159, "high": 3.14159}
                    for i in (1, 2, 3)
                ],
                "n_base": 256,
                "select_top_k": 2,
            },
        )
    )
    save(p, folder / "sens.twin")
    window.open_path(folder / "sens.twin")
    window.canvas.select(["sobol"])
    assert "No Sobol indices recorded for sobol" in window.calibration.info.text()
    run_to_end(qt_loop, window.run_all())
    window.runs.flush()
    assert window.runs.last_summary["status"] == "succeeded"
    window.canvas.select([])
    window.canvas.select(["sobol"])
    panel = window.calibration
    assert "sobol: Sobol indices of run" in panel.info.text()
    assert panel.tabs.currentWidget() is panel.sensitivity
    (ax,) = panel.sensitivity.figure.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x1", "x2", "x3"]
    assert len(ax.patches) == 6  # S1 and ST bars for three parameters
    assert "x1" in ax.get_title() and "x2" in ax.get_title() and "x3" not in ax.get_title()
