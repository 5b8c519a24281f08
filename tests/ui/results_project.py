"""A small project whose nodes make one output of every kind the viewers show, run through
the real engine headless (the CLI) so the studio reads real run outputs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from twinflow_studio.project import Node, Port, Project, save

BIG_ROWS = 1_000_000

MODULE = textwrap.dedent(
    """
    import os
    import pickle


    class _Trap:
        # Unpickling this runs os.makedirs(marker): the viewer must never do it.
        def __init__(self, marker):
            self.marker = marker

        def __reduce__(self):
            return (os.makedirs, (self.marker,))


    def outputs(rows=200, ctx=None):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd

        out = ctx.output_dir
        out.mkdir(parents=True, exist_ok=True)
        t = np.arange(rows)
        frame = pd.DataFrame(
            {"t": t, "temp": 20 + 5 * np.sin(t / 10), "sensor": [f"s{i % 3}" for i in t]}
        )
        frame.to_csv(out / "table.csv", index=False)
        frame.to_parquet(out / "table.parquet", index=False)
        fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
        ax.plot(frame["t"], frame["temp"])
        ax.set_title("tank temperature")
        fig.savefig(out / "fig.png")
        plt.close(fig)
        (out / "notes.txt").write_text("first note\\nsecond note\\n", encoding="utf-8")
        with open(out / "model.pkl", "wb") as f:
            pickle.dump(_Trap(str(ctx.project_dir / "UNPICKLED")), f)
        print("made the outputs")
        ctx.log(f"made {rows} rows")
        return {
            "table": out / "table.csv",
            "parquet": out / "table.parquet",
            "fig": out / "fig.png",
            "notes": out / "notes.txt",
            "model": out / "model.pkl",
            "info": {"rows": rows, "columns": ["t", "temp", "sensor"], "nested": {"a": [1, 2]}},
        }


    def big(rows=1000, ctx=None):
        import numpy as np
        import pandas as pd

        out = ctx.output_dir
        out.mkdir(parents=True, exist_ok=True)
        i = np.arange(rows)
        pd.DataFrame({"i": i, "x": i * 0.5, "y": i % 7}).to_csv(out / "big.csv", index=False)
        return {"big": out / "big.csv"}
    """
)


def results_project(folder: Path, big_rows: int = BIG_ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result_nodes.py").write_text(MODULE, encoding="utf-8")
    p = Project(name="results")
    p.add_node(
        Node(
            "outputs",
            "python",
            name="Make outputs",
            params={"callable": "result_nodes:outputs", "kwargs": {"rows": 200}},
            outputs=[
                Port("table", "dataframe"),
                Port("parquet", "dataframe"),
                Port("fig", "file"),
                Port("notes", "file"),
                Port("model", "model"),
                Port("info", "json"),
            ],
        )
    )
    p.add_node(
        Node(
            "big",
            "python",
            name="Big table",
            params={"callable": "result_nodes:big", "kwargs": {"rows": big_rows}},
            outputs=[Port("big", "dataframe")],
        )
    )
    p.layout["nodes"] = {"outputs": {"x": 0, "y": 0}, "big": {"x": 0, "y": 400}}
    path = folder / "results.twin"
    save(p, path)
    return path


def run_headless(twin: Path, config: Path) -> None:
    """``--run`` the project; ``config`` is a private user config folder (trust list)."""
    env = dict(os.environ, MPLBACKEND="Agg", XDG_CONFIG_HOME=str(config))
    done = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--run", str(twin), "--trust"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
