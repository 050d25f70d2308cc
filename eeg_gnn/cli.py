"""What every command-line entry point shares: user errors become one line on stderr and exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, OSError)
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def run_cli(job: Callable[[], str | None], prog: str) -> int:
    """Run ``job``; print what it returns, or a one-line error (exit 2), or note an interruption (exit 130)."""
    try:
        output = job()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except USER_ERRORS as exc:
        message = " ".join(str(exc).split()) if "\n" not in str(exc) else str(exc)
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    if output:
        print(output)
    return 0
