"""Child process of the kill -9 test: records runs through the embedded backend forever.

Prints ``appended <run_id>`` once a run's events are in the outbox and ``committed <run_id>``
once ``flush`` says they are in the graph; the parent kills it with SIGKILL at some point.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lineage_helpers import RunScript

from twinflow_studio.lineage import open_lineage


def main() -> None:
    project_dir, project = Path(sys.argv[1]), sys.argv[2]
    store = open_lineage(project_dir, {"backend": "embedded"}).start()
    script = RunScript(project)
    while True:
        run = script.run(store.subscriber)
        print(f"appended {run['run_id']}", flush=True)
        if store.flush(30):
            print(f"committed {run['run_id']}", flush=True)


if __name__ == "__main__":
    main()
