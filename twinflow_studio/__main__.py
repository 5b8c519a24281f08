import sys

from twinflow_studio.cli import main

sys.exit(main())
