"""``python train.py ...`` is ``eeg-gnn train ...``: see ``python train.py --help``."""

import sys

from eeg_gnn.cli import train


def main(argv: list[str] | None = None) -> int:
    return train.main(argv, prog="train.py")


if __name__ == "__main__":
    sys.exit(main())
