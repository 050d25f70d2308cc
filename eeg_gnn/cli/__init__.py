"""What every command-line entry point shares: user errors become one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable

from eeg_gnn.utils.parallel import ParallelError
from eeg_gnn.utils.validation import MissingExtraError

#: What a user can fix (a setting, a file, the cluster given): one line, exit 2.
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, OSError, ParallelError, MissingExtraError)
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def argument_type(parse: Callable[[str], object]) -> Callable[[str], object]:
    """Wrap a parser so that argparse shows its ValueError message, not just 'invalid value'."""

    def parse_argument(text: str) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parse_argument.__name__ = getattr(parse, "__name__", "value")
    return parse_argument


def positive_int(text: str) -> int:
    """A whole number >= 1, for argparse."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def leave_now() -> None:
    """After an interruption, end the process at once when worker threads are still running tasks: Python would
    otherwise wait for each to finish before exiting (tens of seconds for a model being trained). What they were
    writing is left incomplete and marked so (see :func:`eeg_gnn.pipeline.experiment.run_cv`)."""
    import os
    import threading

    workers = [t for t in threading.enumerate() if t.name.startswith("eeg-gnn") and t.is_alive()]
    if workers:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)


def run_cli(job: Callable[[], str | None], prog: str) -> int:
    """Run ``job``; print what it returns, or a one-line error (exit 2), or note an interruption (exit 130).

    Warnings of eeg-gnn (e.g. ``--on-missing warn`` leaving subjects out) are printed as one line each.
    """
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{prog}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("always", category=RuntimeWarning, module=r"eeg_gnn(\.|$)")
            warnings.showwarning = show
            output = job()
    except KeyboardInterrupt as exc:
        print(f"{prog}: {exc or 'interrupted.'}", file=sys.stderr)
        leave_now()
        return EXIT_INTERRUPTED
    except USER_ERRORS as exc:
        message = " ".join(str(exc).split()) if "\n" not in str(exc) else str(exc)
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    if output:
        print(output)
    return 0
