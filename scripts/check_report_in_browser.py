"""Open a review report in headless Chromium and check that every image in it decoded.

Usage::

    python scripts/check_report_in_browser.py REPORT.html

The report's own script writes ``data-images-ok="<ok>/<total>"`` on ``<body>`` once the page has loaded (see
:mod:`eeg_gnn.review.report`). This script loads the file with Chromium (``chromium``, ``chromium-browser``,
``google-chrome`` or ``google-chrome-stable``, the first found on PATH), a fresh profile and background
networking disabled, dumps the DOM and reads that attribute.

Exit status: 0 when ok == total > 0; 1 when an image failed or the attribute is missing; 2 on a usage error or a
missing report; 3 when no Chromium is installed (``apt-get install chromium``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 60.0
VIRTUAL_TIME_BUDGET_MS = 5000
_IMAGES_OK = re.compile(r'data-images-ok="(\d+)/(\d+)"')
INSTALL_HINT = "No Chromium found on PATH (tried: {}); install it with `apt-get install chromium`."


class BrowserNotFoundError(RuntimeError):
    """No Chromium/Chrome executable on PATH."""


def find_browser() -> str | None:
    """Path of the first Chromium/Chrome executable on PATH, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in its own process group; on timeout, kill that group (Chromium's helpers too)."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def check_report(path: str | os.PathLike, *, browser: str | None = None, timeout: float = TIMEOUT_S) -> tuple[int, int]:
    """Load a report in headless Chromium and count the images that decoded.

    Parameters
    ----------
    path : str or path-like
        The report's HTML file.
    browser : str, optional
        Chromium executable; the first of :data:`BROWSERS` on PATH by default.
    timeout : float
        Seconds before the browser is killed.

    Returns
    -------
    (int, int)
        Images that decoded, and images on the page (``data-images-ok`` of the rendered ``<body>``).

    Raises
    ------
    FileNotFoundError
        If the report does not exist.
    BrowserNotFoundError
        If no browser is given and none is on PATH.
    subprocess.TimeoutExpired
        If the browser did not finish within ``timeout`` seconds.
    RuntimeError
        If the dumped page has no ``data-images-ok`` attribute (the page's script did not run).
    """
    report = Path(path).resolve()
    if not report.is_file():
        raise FileNotFoundError(f"Report {report} does not exist.")
    executable = browser or find_browser()
    if executable is None:
        raise BrowserNotFoundError(INSTALL_HINT.format(", ".join(BROWSERS)))
    with tempfile.TemporaryDirectory(prefix="report-check-", ignore_cleanup_errors=True) as profile:
        command = [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
            "--dump-dom",
            report.as_uri(),
        ]
        result = _run(command, timeout)
    match = _IMAGES_OK.search(result.stdout)
    if match is None:
        tail = "\n".join(result.stderr.strip().splitlines()[-10:])
        raise RuntimeError(
            f"{executable} exited with status {result.returncode} and the dumped page of {report} has no "
            f"data-images-ok attribute (its script did not run). Last lines of the browser's messages:\n{tail}"
        )
    return int(match.group(1)), int(match.group(2))


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1 or arguments[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0], f"\n\nusage: {Path(sys.argv[0]).name} REPORT.html", file=sys.stderr)
        return 2
    try:
        ok, total = check_report(arguments[0])
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    except BrowserNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 3
    except subprocess.TimeoutExpired:
        print(f"The browser did not finish within {TIMEOUT_S:g} s; killed.", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"data-images-ok={ok}/{total}: ", end="")
    if total == 0:
        print("the report holds no images.")
        return 1
    if ok != total:
        print(f"{total - ok} of {total} image(s) failed to load.")
        return 1
    print(f"all {total} image(s) loaded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
