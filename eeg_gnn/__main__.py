"""``python -m eeg_gnn``: the same commands as the ``eeg-gnn`` console script."""

import sys

from eeg_gnn.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
