"""``python evaluate.py ...`` is ``eeg-gnn evaluate ...``: see ``python evaluate.py --help``."""

import sys

from eeg_gnn.cli import evaluate


def main(argv: list[str] | None = None) -> int:
    return evaluate.main(argv, prog="evaluate.py")


if __name__ == "__main__":
    sys.exit(main())
