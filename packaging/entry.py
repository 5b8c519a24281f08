"""Entry script of the PyInstaller bundle: the same `main` as the wheel's entry points."""

import sys

if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--twinflow-worker":
        # A worker process of the `process` target (see engine/process_pool.py).
        from twinflow_studio.engine.process_worker import boot

        boot(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    from twinflow_studio.cli import main

    sys.exit(main())
