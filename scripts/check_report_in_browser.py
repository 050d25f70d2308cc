"""Open a review report in headless Chromium: images decode, nothing overflows, every section exists, no network.

Usage::

    python scripts/check_report_in_browser.py REPORT.html [--screenshots FOLDER] [--widths 1400,480]

For each width the page is loaded in a fresh tab of headless Chromium (driven over the DevTools protocol on a
pipe, so no port is opened and nothing but the standard library is needed) and checked:

* every ``<img>`` decoded (``complete`` and ``naturalWidth > 0``);
* no element sticks out of the viewport horizontally, unless it sits inside a scrolling or clipping box (a wide
  table in its own scroll area is fine, a page that scrolls sideways is not); the check is repeated with every
  band of the band selector chosen;
* every ``#anchor`` of the contents list (``nav.toc``) names an element of the page;
* the page made no request other than ``file:`` and ``data:`` URLs.

With ``--screenshots FOLDER``, a full-page PNG per width is written there (``report-1400px.png`` ...).

With ``--print FOLDER`` the page is also printed as Chromium prints it (print style sheet, every section opened so
that every table is checked) on A4 and on Letter paper, to ``report-A4.pdf`` and ``report-Letter.pdf`` there, and
checked like a width: laid out at the paper's printable width (12 mm margins), no element may stick out of it
(a table cut at the right margin would); the number of pages is reported.

Exit status: 0 when every check passes; 1 when one fails; 2 on a usage error or a missing report; 3 when no
Chromium is installed (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 90.0
WIDTHS = (1400, 480)
VIEWPORT_HEIGHT = 900
#: Paper sizes in inches, and the print style sheet's margin (12 mm).
PAPERS = {"A4": (8.27, 11.69), "Letter": (8.5, 11.0)}
MARGIN_IN = 12 / 25.4
INSTALL_HINT = "No Chromium found on PATH (tried: {}); install it with `apt-get install chromium`."

#: Runs in the page; returns what the checks need. Elements inside a box that scrolls or clips horizontally
#: are allowed to be wider than the viewport; hidden elements (zero-sized boxes) are skipped.
_INSPECT = r"""
(() => {
  const width = document.documentElement.clientWidth;
  const clipped = (element) => {
    for (let node = element.parentElement; node && node !== document.body; node = node.parentElement) {
      const overflow = getComputedStyle(node).overflowX;
      if (overflow === "auto" || overflow === "scroll" || overflow === "hidden" || overflow === "clip") {
        return true;
      }
    }
    return false;
  };
  const describe = (element) => {
    let text = element.tagName.toLowerCase();
    if (element.id) { text += "#" + element.id; }
    if (element.className && typeof element.className === "string") {
      text += "." + element.className.trim().split(/\s+/).join(".");
    }
    return text;
  };
  const overflowing = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) { continue; }
    if ((box.right > width + 1 || box.left < -1) && !clipped(element)) {
      overflowing.push(describe(element) + " [" + Math.round(box.left) + ", " + Math.round(box.right) + "]");
    }
  }
  const images = Array.from(document.images);
  const anchors = Array.from(document.querySelectorAll("nav.toc a[href^='#']")).map(a => a.getAttribute("href"));
  const missing = anchors.filter(href => !document.getElementById(decodeURIComponent(href.slice(1))));
  return {
    width: width,
    scroll_width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    images: images.length,
    images_ok: images.filter(img => img.complete && img.naturalWidth > 0).length,
    overflowing: overflowing.slice(0, 20),
    n_overflowing: overflowing.length,
    sections: anchors,
    missing_sections: missing,
    band_inputs: Array.from(document.querySelectorAll("input.band-choice")).map(i => i.id),
  };
})()
"""


class BrowserNotFoundError(RuntimeError):
    """No Chromium/Chrome executable on PATH."""


@dataclass
class WidthResult:
    """What one width showed.

    Attributes
    ----------
    width : int
        Viewport width in CSS pixels.
    images, images_ok : int
        Images on the page, and those that decoded.
    overflowing : list of str
        Elements sticking out of the viewport (first 20), as ``tag#id.class [left, right]``, prefixed by the band
        chosen when the overflow appeared with another band than the default.
    sections, missing_sections : list of str
        The contents' anchors, and those that name no element.
    requests : list of str
        URLs requested other than ``file:`` and ``data:`` ones.
    screenshot : pathlib.Path or None
    """

    width: int
    images: int = 0
    images_ok: int = 0
    overflowing: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    missing_sections: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def problems(self) -> list[str]:
        """Every failed check, in words (empty when the page passed)."""
        found = []
        if self.images == 0:
            found.append("the report holds no images")
        elif self.images_ok != self.images:
            found.append(f"{self.images - self.images_ok} of {self.images} image(s) failed to load")
        if self.overflowing:
            found.append(f"{len(self.overflowing)} element(s) overflow the {self.width} px viewport: "
                         + "; ".join(self.overflowing[:5]))
        if not self.sections:
            found.append("the contents list (nav.toc) has no #anchor")
        if self.missing_sections:
            found.append(f"sections named in the contents but missing: {', '.join(self.missing_sections)}")
        if self.requests:
            found.append(f"the page requested {len(self.requests)} URL(s): {', '.join(self.requests[:3])}")
        return found


@dataclass
class PrintResult:
    """What printing showed on one paper size.

    Attributes
    ----------
    paper : str
    width : int
        The printable width in CSS pixels.
    pages : int
    overflowing : list of str
        Elements wider than the printable width (cut in print).
    pdf : pathlib.Path
    """

    paper: str
    width: int
    pages: int
    overflowing: list[str]
    pdf: Path

    @property
    def problems(self) -> list[str]:
        found = []
        if self.overflowing:
            found.append(f"{len(self.overflowing)} element(s) are wider than the printable width of {self.paper} "
                         f"({self.width} px) and would be cut: " + "; ".join(self.overflowing[:5]))
        if self.pages < 1:
            found.append(f"the {self.paper} PDF has no page")
        return found


def find_browser() -> str | None:
    """Path of the first Chromium/Chrome executable on PATH, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


class _DevTools:
    """The DevTools protocol over ``--remote-debugging-pipe``: JSON messages ended by NUL on fds 3 (in) and 4."""

    def __init__(self, executable: str, profile: str, timeout: float):
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def plumb() -> None:  # in the child: the browser reads fd 3 and writes fd 4
            reading, writing = os.dup(to_browser_read), os.dup(from_browser_write)  # above 4: no clash
            while min(reading, writing) <= 4:
                reading, writing = os.dup(reading), os.dup(writing)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        command = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--hide-scrollbars", "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, preexec_fn=plumb, start_new_session=True,
                                        close_fds=False)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._deadline = time.monotonic() + timeout
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > self._deadline:
                raise subprocess.TimeoutExpired("chromium", TIMEOUT_S)
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (it exited).")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        for number, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events.pop(number)
        while True:
            event = self._read_message()
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self.events.append(event)

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def _evaluate(tools: _DevTools, session: str, expression: str):
    reply = tools.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
    if "exceptionDetails" in reply:
        raise RuntimeError(f"the page's inspection script failed: {reply['exceptionDetails']}")
    return reply["result"].get("value")


def _check_width(tools: _DevTools, url: str, width: int, screenshot: Path | None) -> WidthResult:
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    tools.send("Page.enable", session=session)
    tools.send("Network.enable", session=session)
    tools.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": VIEWPORT_HEIGHT,
                                                      "deviceScaleFactor": 1, "mobile": width < 800}, session)
    tools.send("Page.navigate", {"url": url}, session)
    tools.wait_for("Page.loadEventFired", session)
    found = _evaluate(tools, session, _INSPECT)
    result = WidthResult(width, found["images"], found["images_ok"], list(found["overflowing"]),
                         list(found["sections"]), list(found["missing_sections"]))
    if screenshot is not None:
        height = max(int(found["height"]), VIEWPORT_HEIGHT)
        data = tools.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                     "clip": {"x": 0, "y": 0, "width": width, "height": height,
                                                              "scale": 1}}, session)["data"]
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(data))
        result.screenshot = screenshot
    for band in found["band_inputs"]:
        _evaluate(tools, session, f"document.getElementById({json.dumps(band)}).click()")
        again = _evaluate(tools, session, _INSPECT)
        result.overflowing += [f"{band}: {item}" for item in again["overflowing"] if item not in found["overflowing"]]
    for event in tools.events:
        if event.get("method") == "Network.requestWillBeSent" and event.get("sessionId") == session:
            requested = event["params"]["request"]["url"]
            if not requested.startswith(("file:", "data:")):
                result.requests.append(requested)
    tools.events = [e for e in tools.events if e.get("sessionId") != session]
    tools.send("Target.closeTarget", {"targetId": target})
    return result


def _check_print(tools: _DevTools, url: str, paper: str, pdf: Path) -> PrintResult:
    paper_width, paper_height = PAPERS[paper]
    width = int(round((paper_width - 2 * MARGIN_IN) * 96))
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    tools.send("Page.enable", session=session)
    tools.send("Emulation.setEmulatedMedia", {"media": "print"}, session)
    tools.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": VIEWPORT_HEIGHT,
                                                      "deviceScaleFactor": 1, "mobile": False}, session)
    tools.send("Page.navigate", {"url": url}, session)
    tools.wait_for("Page.loadEventFired", session)
    _evaluate(tools, session, "document.querySelectorAll('details').forEach(d => { d.open = true; })")
    found = _evaluate(tools, session, _INSPECT)
    data = tools.send("Page.printToPDF", {"paperWidth": paper_width, "paperHeight": paper_height,
                                          "marginTop": MARGIN_IN, "marginBottom": MARGIN_IN, "marginLeft": MARGIN_IN,
                                          "marginRight": MARGIN_IN, "printBackground": True}, session)["data"]
    content = base64.b64decode(data)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(content)
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", content))
    tools.events = [e for e in tools.events if e.get("sessionId") != session]
    tools.send("Target.closeTarget", {"targetId": target})
    return PrintResult(paper, width, pages, list(found["overflowing"]), pdf)


def _report_and_browser(path, browser: str | None) -> tuple[Path, str]:
    """The report's absolute path and the browser to open it with; refuses a missing report or browser."""
    report = Path(path).resolve()
    if not report.is_file():
        raise FileNotFoundError(f"Report {report} does not exist.")
    executable = browser or find_browser()
    if executable is None:
        raise BrowserNotFoundError(INSTALL_HINT.format(", ".join(BROWSERS)))
    return report, executable


def check_print(path: str | os.PathLike, folder: str | os.PathLike, *, papers: tuple[str, ...] = tuple(PAPERS),
                browser: str | None = None, timeout: float = TIMEOUT_S) -> list[PrintResult]:
    """Print a report with every section open on each paper size to ``folder/<stem>-<paper>.pdf`` and check that
    nothing is wider than the printable width.

    Raises
    ------
    FileNotFoundError, BrowserNotFoundError, subprocess.TimeoutExpired
        As :func:`check_report`.
    """
    report, executable = _report_and_browser(path, browser)
    results = []
    with tempfile.TemporaryDirectory(prefix="report-print-", ignore_cleanup_errors=True) as profile:
        tools = _DevTools(executable, profile, timeout)
        try:
            for paper in papers:
                results.append(_check_print(tools, report.as_uri(), paper, Path(folder) / f"{report.stem}-{paper}.pdf"))
        finally:
            tools.close()
    return results


def check_report(path: str | os.PathLike, *, widths: tuple[int, ...] = WIDTHS, screenshots: str | os.PathLike | None = None,
                 browser: str | None = None, timeout: float = TIMEOUT_S) -> list[WidthResult]:
    """Load a report in headless Chromium at each width and run the checks.

    Parameters
    ----------
    path : str or path-like
        The report's HTML file.
    widths : tuple of int
        Viewport widths in CSS pixels.
    screenshots : str or path-like, optional
        Folder for full-page screenshots ``<report stem>-<width>px.png``; none are taken when None.
    browser : str, optional
        Chromium executable; the first of :data:`BROWSERS` on PATH by default.
    timeout : float
        Seconds for everything before the browser is killed.

    Returns
    -------
    list of WidthResult
        One per width, in order; ``result.problems`` lists the failed checks.

    Raises
    ------
    FileNotFoundError
        If the report does not exist.
    BrowserNotFoundError
        If no browser is given and none is on PATH.
    subprocess.TimeoutExpired
        If the browser did not finish within ``timeout`` seconds.
    """
    report, executable = _report_and_browser(path, browser)
    folder = None if screenshots is None else Path(screenshots)
    results = []
    with tempfile.TemporaryDirectory(prefix="report-check-", ignore_cleanup_errors=True) as profile:
        tools = _DevTools(executable, profile, timeout)
        try:
            for width in widths:
                shot = None if folder is None else folder / f"{report.stem}-{width}px.png"
                results.append(_check_width(tools, report.as_uri(), width, shot))
        finally:
            tools.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check_report_in_browser.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", help="the report's HTML file")
    parser.add_argument("--screenshots", help="folder for full-page screenshots, one per width")
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)),
                        help="viewport widths in CSS pixels, comma-separated (default: %(default)s)")
    parser.add_argument("--print", dest="print_folder", help="folder for the PDFs printed on A4 and Letter")
    args = parser.parse_args(argv)
    try:
        widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        print(f"--widths must be whole numbers separated by commas, got {args.widths!r}.", file=sys.stderr)
        return 2
    try:
        results = check_report(args.report, widths=widths, screenshots=args.screenshots)
        printed = check_print(args.report, args.print_folder) if args.print_folder else []
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
    failed = False
    for result in results:
        shot = f", screenshot {result.screenshot}" if result.screenshot else ""
        if result.problems:
            failed = True
            print(f"{result.width} px: FAILED: " + "; ".join(result.problems) + shot)
        else:
            print(f"{result.width} px: all {result.images} image(s) loaded, no overflow, "
                  f"{len(result.sections)} sections present, no network request{shot}")
    for result in printed:
        if result.problems:
            failed = True
            print(f"print {result.paper}: FAILED: " + "; ".join(result.problems) + f", {result.pdf}")
        else:
            print(f"print {result.paper}: {result.pages} pages, nothing wider than the printable width "
                  f"({result.width} px), {result.pdf}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
