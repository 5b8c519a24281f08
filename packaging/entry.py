"""Entry script of the PyInstaller bundle: the same `main` as the wheel's entry points."""

import sys

from twinflow_studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
