"""The review report: one self-contained HTML file that clinicians open offline.

:func:`render_report` turns a ``review`` dictionary (cohort, protocol, performance, group differences, what the
model relied on, files, caveats) and a list of PNG figures into a single HTML page:

* every image is embedded as a ``data:image/png;base64,...`` URI and the CSS is inline, so the page references no
  other file and no server (no CDN, no web fonts); only the links of the *Files* section point to the
  interactive connectome pages and tables written beside the report (relative paths);
* a Content-Security-Policy in the page forbids loading anything from anywhere except ``data:`` images and the
  page's own style sheet and script (allowed by their SHA-256 hashes);
* every text that comes from ``review`` or a caption is HTML-escaped;
* a small script counts, once the page has loaded, the images that decoded
  (``img.complete && img.naturalWidth > 0``) and writes ``"<ok>/<total>"`` to ``document.body.dataset.imagesOk``
  (the ``data-images-ok`` attribute of ``<body>``), which ``scripts/check_report_in_browser.py`` reads.

The file is written atomically and an existing report is only replaced with ``overwrite=True``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eeg_gnn.utils.files import atomic_write

__all__ = ["FIGURE_SECTIONS", "REQUIRED_KEYS", "format_ci", "format_p", "render_report"]

PathLike = str | os.PathLike

#: Sections a figure can be placed in.
FIGURE_SECTIONS = ("performance", "connectivity", "band_power", "importance")
#: Top-level keys of ``review`` that must be present (``importance`` may be absent or None).
REQUIRED_KEYS = ("title", "created", "run_dir", "cohort", "protocol", "performance", "connectivity", "exports",
                 "caveats")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NA = "n/a"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif; font-size: 16px;
       line-height: 1.5; color: #1f2328; background: #ffffff; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; }
header.report { border-bottom: 3px solid #2b5797; margin-bottom: 1.5rem; padding-bottom: 0.75rem; }
h1 { font-size: 1.8rem; margin: 0 0 0.4rem; }
h2 { font-size: 1.35rem; margin: 2.2rem 0 0.6rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.25rem;
     color: #2b5797; }
h3 { font-size: 1.1rem; margin: 1.4rem 0 0.4rem; }
.meta { color: #57606a; margin: 0.1rem 0; }
.meta code, td code { font-size: 0.9em; background: #f6f8fa; padding: 0 0.2em; border-radius: 3px;
                      overflow-wrap: anywhere; }
nav.toc { font-size: 0.95rem; margin: 0.8rem 0 0; }
nav.toc a { margin-right: 1rem; color: #2b5797; text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: 0.6rem 0 0.2rem; font-size: 0.95rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.65rem; text-align: left; vertical-align: top; }
th { background: #f0f3f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 600; background: #fafbfc; }
.explain { color: #57606a; font-size: 0.88rem; margin: 0.2rem 0 1.2rem; max-width: 60rem; }
.strong { font-weight: 700; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1.2rem; margin: 0.6rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
figure { margin: 1rem 0 1.6rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #3d444d; font-size: 0.92rem; margin-top: 0.3rem; max-width: 60rem; }
.none { color: #57606a; font-style: italic; }
ul.caveats li { margin-bottom: 0.35rem; }
@media print { main { max-width: none; } h2 { page-break-after: avoid; } figure, table { page-break-inside: avoid; } }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.images;
  var ok = 0;
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth > 0) { ok += 1; }
  }
  document.body.dataset.imagesOk = ok + "/" + images.length;
});
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


_CSP = (
    "default-src 'none'; img-src data:; "
    f"style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_SCRIPT)}; base-uri 'none'; form-action 'none'"
)


# --------------------------------------------------------------------------------------------- formatting


def _e(value: Any) -> str:
    """HTML-escape any value (None becomes ``n/a``)."""
    return NA if value is None else html.escape(str(value), quote=True)


def _number(value: Any) -> float | None:
    """A finite float, or None for None, NaN, infinities and anything that is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt(value: Any, digits: int = 2) -> str:
    """``0.62``-style fixed decimals; ``n/a`` for missing values."""
    number = _number(value)
    return NA if number is None else f"{number:.{digits}f}"


def _fmt_general(value: Any) -> str:
    """Three significant digits (``0.0123``, ``12.3``, ``1.23e+04``); ``n/a`` for missing values."""
    number = _number(value)
    return NA if number is None else f"{number:.3g}"


def _fmt_signed(value: Any, digits: int = 2) -> str:
    number = _number(value)
    return NA if number is None else f"{number:+.{digits}f}"


def format_ci(value: Any, ci: Any, digits: int = 2) -> str:
    """A value with its confidence interval: ``0.62 [0.55, 0.69]``.

    Parameters
    ----------
    value : float or None
    ci : [low, high] or None
    digits : int
        Decimals.

    Returns
    -------
    str
        ``n/a`` when the value is missing; ``0.62 [CI n/a]`` when only the interval is.
    """
    text = _fmt(value, digits)
    if text == NA:
        return NA
    if isinstance(ci, Sequence) and not isinstance(ci, str) and len(ci) == 2:
        low, high = (_number(bound) for bound in ci)
        if low is not None and high is not None:
            return f"{text} [{low:.{digits}f}, {high:.{digits}f}]"
    return f"{text} [CI {NA}]"


def format_p(value: Any) -> str:
    """A p-value as clinicians read it: ``< 0.001``, ``0.004``, ``0.03``, ``0.41``; ``n/a`` when missing."""
    number = _number(value)
    if number is None:
        return NA
    if number < 0.001:
        return "< 0.001"
    if number < 0.01:
        return f"{number:.3f}"
    return f"{number:.2f}"


def _table(
    header: Sequence[tuple[str, bool]],
    rows: Sequence[Sequence[tuple[str, str]]],
    explain: str,
    *,
    total_last: bool = False,
) -> str:
    """An HTML table. ``header``: (escaped label, numeric); rows of (escaped html, css class)."""
    head = "".join(f'<th class="num">{label}</th>' if numeric else f"<th>{label}</th>" for label, numeric in header)
    body = []
    for number, row in enumerate(rows):
        cells = "".join(f'<td class="{css}">{cell}</td>' if css else f"<td>{cell}</td>" for cell, css in row)
        opening = '<tr class="total">' if total_last and number == len(rows) - 1 else "<tr>"
        body.append(f"{opening}{cells}</tr>")
    return (
        f'<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(body) + "\n</tbody>\n</table>\n"
        f'<p class="explain">{explain}</p>\n'
    )


def _get(mapping: Any, key: str, default: Any = None) -> Any:
    return mapping.get(key, default) if isinstance(mapping, Mapping) else default


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


# --------------------------------------------------------------------------------------------- checks


def _check_review(review: Any) -> None:
    if not isinstance(review, Mapping):
        raise TypeError(f"review must be a dict, got {type(review).__name__}.")
    missing = [key for key in REQUIRED_KEYS if key not in review]
    if missing:
        raise ValueError(f"review lacks the key(s) {', '.join(map(repr, missing))}; it has {sorted(review)}.")
    for key in ("cohort", "protocol", "performance", "connectivity"):
        if not isinstance(review[key], Mapping):
            raise ValueError(f"review[{key!r}] must be a dict, got {type(review[key]).__name__}: {review[key]!r}.")
    importance = review.get("importance")
    if importance is not None and not isinstance(importance, Mapping):
        raise ValueError(f"review['importance'] must be a dict or None, got {type(importance).__name__}.")
    for key in ("exports", "caveats"):
        if not isinstance(review[key], Sequence) or isinstance(review[key], str):
            raise ValueError(f"review[{key!r}] must be a list, got {type(review[key]).__name__}: {review[key]!r}.")
    for number, item in enumerate(review["exports"]):
        target = _get(item, "file")
        if not isinstance(target, str) or not target.strip():
            raise ValueError(f"review['exports'][{number}] needs a 'file' (relative path), got {item!r}.")
        if _SCHEME.match(target) or target.startswith(("/", "\\", "//")):
            raise ValueError(
                f"review['exports'][{number}]['file'] must be a path relative to the report, got {target!r} "
                "(the report links no URL and no absolute path, so that it works when moved with its folder)."
            )


def _load_figures(figures: Any) -> dict[str, list[tuple[str, str]]]:
    """Read and check the PNG files; return per section a list of (data URI, escaped caption)."""
    if not isinstance(figures, Sequence) or isinstance(figures, str):
        raise TypeError(f"figures must be a list of dicts, got {type(figures).__name__}.")
    by_section: dict[str, list[tuple[str, str]]] = {section: [] for section in FIGURE_SECTIONS}
    for number, item in enumerate(figures):
        if not isinstance(item, Mapping):
            raise TypeError(f"figures[{number}] must be a dict with 'section', 'path' and 'caption', got {item!r}.")
        section = item.get("section")
        if section not in FIGURE_SECTIONS:
            listed = ", ".join(repr(s) for s in FIGURE_SECTIONS)
            raise ValueError(
                f"Invalid value for figures[{number}]['section']. Allowed values are {listed}, but got {section!r} "
                "instead."
            )
        if "path" not in item:
            raise ValueError(f"figures[{number}] has no 'path'.")
        path = Path(item["path"])
        if not path.is_file():
            raise FileNotFoundError(f"figures[{number}]: PNG file {path} does not exist.")
        data = path.read_bytes()
        if not data.startswith(PNG_SIGNATURE):
            raise ValueError(f"figures[{number}]: {path} is not a PNG file (its first bytes are {data[:8]!r}).")
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        by_section[section].append((uri, _e(item.get("caption", ""))))
    return by_section


# --------------------------------------------------------------------------------------------- sections


def _figures_html(items: list[tuple[str, str]], empty: str) -> str:
    if not items:
        return f'<p class="none">{empty}</p>\n'
    parts = []
    for uri, caption in items:
        alt = caption or "figure"
        parts.append(f'<figure>\n<img src="{uri}" alt="{alt}">\n<figcaption>{caption}</figcaption>\n</figure>\n')
    return "".join(parts)


def _header(review: Mapping[str, Any]) -> str:
    links = [("cohort", "Cohort"), ("protocol", "Protocol"), ("performance", "Performance"),
             ("connectivity-maps", "Connectivity maps"), ("group-differences", "Group differences"),
             ("band-power", "Band power"), ("importance", "What the model relied on"), ("files", "Files"),
             ("caveats", "Caveats")]
    toc = "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in links)
    return (
        '<header class="report">\n'
        f"<h1>{_e(review['title'])}</h1>\n"
        f'<p class="meta">Created: {_e(review["created"])}</p>\n'
        f'<p class="meta">Run folder: <code>{_e(review["run_dir"])}</code></p>\n'
        f'<nav class="toc">{toc}</nav>\n'
        "</header>\n"
    )


def _cohort(cohort: Mapping[str, Any]) -> str:
    classes = [str(c) for c in _list(_get(cohort, "classes"))]
    per_class = _get(cohort, "per_class", {}) or {}
    level = _get(cohort, "label_level")
    facts = [
        ("Dataset", _e(_get(cohort, "dataset"))),
        ("Task", _e(_get(cohort, "task"))),
        ("Groups compared", ", ".join(_e(c) for c in classes) or NA),
        ("Labels given per", _e(level)),
        ("License", _e(_get(cohort, "license"))),
        ("Citation", _e(_get(cohort, "citation"))),
    ]
    out = ['<h2 id="cohort">Cohort</h2>\n<dl class="facts">\n']
    out += [f"<dt>{label}</dt><dd>{value}</dd>\n" for label, value in facts]
    out.append("</dl>\n")
    names = classes or [str(k) for k in per_class]
    rows = []
    for name in names:
        counts = _get(per_class, name, {})
        rows.append([(_e(name), ""), (_e(_get(counts, "subjects")), "num"), (_e(_get(counts, "recordings")), "num"),
                     ("&ndash;", "num")])
    rows.append([("All", ""), (_e(_get(cohort, "n_subjects")), "num"), (_e(_get(cohort, "n_recordings")), "num"),
                 (_e(_get(cohort, "n_windows")), "num")])
    out.append(_table(
        [("Group", False), ("Subjects", True), ("Recordings", True), ("Analysis windows", True)],
        rows,
        "One row per group (class). Subjects: people; recordings: EEG files; analysis windows: the short EEG "
        "segments the model scores (only counted in total). A subject can contribute several recordings.",
        total_last=True,
    ))
    return "".join(out)


def _step_text(step: Any) -> str:
    if not isinstance(step, Mapping):
        return _e(step)
    label_key = next((k for k in ("name", "step", "kind", "type") if k in step), None)
    label = _e(step[label_key]) if label_key else ""
    details = ", ".join(f"{_e(key)} = {_e(value)}" for key, value in step.items() if key != label_key)
    if label and details:
        return f'<span class="strong">{label}</span>: {details}'
    return label or details or NA


def _protocol(protocol: Mapping[str, Any]) -> str:
    bands = _get(protocol, "bands", {}) or {}
    band_text = []
    for name, limits in (bands.items() if isinstance(bands, Mapping) else []):
        bounds = _list(limits)
        if len(bounds) == 2:
            band_text.append(f"{_e(name)} {_fmt_general(bounds[0])}&ndash;{_fmt_general(bounds[1])} Hz")
        else:
            band_text.append(_e(name))
    window = _number(_get(protocol, "window_s"))
    facts = [
        ("Validation", _e(_get(protocol, "cv"))),
        ("Number of folds", _e(_get(protocol, "n_folds"))),
        ("Model", _e(_get(protocol, "model"))),
        ("Brain graph", _e(_get(protocol, "graph"))),
        ("Features", _e(_get(protocol, "features"))),
        ("Frequency bands", ", ".join(band_text) or NA),
        ("Window length", NA if window is None else f"{window:g} s"),
    ]
    out = ['<h2 id="protocol">Protocol</h2>\n']
    out.append(
        "<p><strong>Folds are split by subject:</strong> in every fold, all recordings of a person are either "
        "used for training or held out for testing, never both. Every score below is therefore measured on "
        "people the model had not seen.</p>\n"
    )
    out.append('<dl class="facts">\n')
    out += [f"<dt>{label}</dt><dd>{value}</dd>\n" for label, value in facts]
    out.append("</dl>\n<h3>Preprocessing steps (in order)</h3>\n")
    steps = _list(_get(protocol, "preprocessing_steps"))
    if steps:
        out.append("<ol>\n" + "".join(f"<li>{_step_text(step)}</li>\n" for step in steps) + "</ol>\n")
    else:
        out.append('<p class="none">No preprocessing steps were recorded.</p>\n')
    return "".join(out)


def _performance(performance: Mapping[str, Any], classes: list[str], figures: list[tuple[str, str]]) -> str:
    level = _get(performance, "level")
    out = ['<h2 id="performance">Performance</h2>\n']
    out.append(f"<p>Scores at the <strong>{_e(level)}</strong> level, on held-out subjects, with 95 % confidence "
               "intervals in brackets.</p>\n")
    rows = []
    for row in _list(_get(performance, "rows")):
        rows.append([
            (_e(_get(row, "model")), ""),
            (_e(_get(row, "level")), ""),
            (format_ci(_get(row, "balanced_accuracy"), _get(row, "balanced_accuracy_ci")), "num"),
            (format_ci(_get(row, "roc_auc"), _get(row, "roc_auc_ci")), "num"),
            (format_ci(_get(row, "sensitivity"), _get(row, "sensitivity_ci")), "num"),
            (format_ci(_get(row, "specificity"), _get(row, "specificity_ci")), "num"),
            (_e(_get(row, "n")), "num"),
        ])
    if len(classes) == 2:
        auc = (f"chance that the model rates a random <em>{_e(classes[1])}</em> case higher than a random "
               f"<em>{_e(classes[0])}</em> case")
        roles = (f"Sensitivity: share of <em>{_e(classes[1])}</em> cases correctly recognised; specificity: share "
                 f"of <em>{_e(classes[0])}</em> cases correctly recognised. ")
    else:
        auc = "for each group against all others, the chance that the model rates a case of that group higher, averaged"
        roles = "Sensitivity and specificity are defined for two groups only (n/a here). "
    explain = (
        "Each row is one model; the non-graph baseline is the reference the graph model has to beat. "
        "Balanced accuracy: average of the correct-recognition rates of the groups (chance: 1 / number of "
        f"groups). ROC AUC: {auc} (0.50 = chance, 1.00 = perfect). {roles}"
        "Brackets: 95 % confidence interval from resampling whole subjects; n: number of units scored; "
        "n/a: not defined or not computed."
    )
    if rows:
        out.append(_table(
            [("Model", False), ("Level", False), ("Balanced accuracy", True), ("ROC AUC", True),
             ("Sensitivity", True), ("Specificity", True), ("n", True)],
            rows, explain))
    else:
        out.append('<p class="none">No performance results were recorded.</p>\n')
    out.append(_figures_html(figures, "No performance figures."))
    return "".join(out)


def _group_differences(connectivity: Mapping[str, Any], classes: list[str]) -> str:
    out = ['<h2 id="group-differences">Group differences</h2>\n']
    out.append('<dl class="facts">\n'
               f"<dt>Connectivity measure</dt><dd>{_e(_get(connectivity, 'method'))}</dd>\n"
               f"<dt>Statistical test</dt><dd>{_e(_get(connectivity, 'test_description'))}</dd>\n"
               "</dl>\n")
    name_a = _e(classes[0]) if len(classes) >= 1 else "group A"
    name_b = _e(classes[1]) if len(classes) >= 2 else "group B"
    bands = _list(_get(connectivity, "bands"))
    direction = _difference_direction(
        [edge for band in bands for edge in _list(_get(band, "top_edges"))], name_a, name_b
    )
    if not bands:
        out.append('<p class="none">No group comparison was recorded.</p>\n')
    for band in bands:
        out.append(f"<h3>{_e(_get(band, 'band'))} band</h3>\n")
        describe = _get(band, "describe")
        if describe:
            out.append(f"<p>{_e(describe)}</p>\n")
        rows = []
        for edge in _list(_get(band, "top_edges")):
            p_fdr = _number(_get(edge, "p_fdr"))
            significant = p_fdr is not None and p_fdr < 0.05
            rows.append([
                (f"{_e(_get(edge, 'node_a'))} &ndash; {_e(_get(edge, 'node_b'))}", ""),
                (_fmt_general(_get(edge, "mean_a")), "num"),
                (_fmt_general(_get(edge, "mean_b")), "num"),
                (_fmt_general(_get(edge, "difference")), "num"),
                (_fmt_signed(_get(edge, "effect_size")), "num"),
                (_e(format_p(_get(edge, "p_value"))), "num"),
                (_e(format_p(_get(edge, "p_fdr"))), "num strong" if significant else "num"),
            ])
        if not rows:
            out.append('<p class="none">No electrode pairs listed for this band.</p>\n')
            continue
        out.append(_table(
            [("Electrode pair", False), (f"Mean in {name_a}", True), (f"Mean in {name_b}", True),
             ("Difference", True), ("Effect size", True), ("p", True), ("p (FDR-corrected)", True)],
            rows,
            "Each row is a pair of electrodes whose connectivity differs most between the groups. "
            f"Means: average connectivity of the pair in each group. Difference: {direction}. "
            "Effect size: the difference relative to the spread between subjects (its exact definition is in the "
            "statistical test above); the further from 0, the clearer the separation of the groups. "
            "p: uncorrected p-value; p (FDR-corrected): corrected for testing many electrode pairs at once "
            "(false discovery rate); values below 0.05 are in bold.",
        ))
    return "".join(out)


def _difference_direction(edges: list[Any], name_a: str, name_b: str) -> str:
    """Say which mean is subtracted from which, as the numbers show it (names already escaped)."""
    signs = set()
    for edge in edges:
        mean_a, mean_b, difference = (_number(_get(edge, key)) for key in ("mean_a", "mean_b", "difference"))
        if None in (mean_a, mean_b, difference) or mean_a == mean_b:
            continue
        tolerance = 1e-6 * max(abs(mean_a), abs(mean_b), abs(difference), 1e-12)
        if abs(difference - (mean_b - mean_a)) <= tolerance:
            signs.add("b-a")
        elif abs(difference - (mean_a - mean_b)) <= tolerance:
            signs.add("a-b")
        else:
            signs.add("other")
    if signs == {"b-a"}:
        return f"mean in {name_b} minus mean in {name_a}"
    if signs == {"a-b"}:
        return f"mean in {name_a} minus mean in {name_b}"
    return "as defined by the statistical test above"


def _importance(importance: Mapping[str, Any] | None, figures: list[tuple[str, str]]) -> str:
    out = ['<h2 id="importance">What the model relied on</h2>\n']
    if importance is None:
        out.append('<p class="none">No importance analysis was run for this model, so this report cannot say '
                   "which connections or electrodes drove its decisions.</p>\n")
        if figures:
            out.append(_figures_html(figures, ""))
        return "".join(out)
    out.append(f"<p>Method: {_e(_get(importance, 'method'))}</p>\n")
    out.append(_figures_html(figures, "No importance figures."))
    edges = [[(f"{_e(_get(e, 'node_a'))} &ndash; {_e(_get(e, 'node_b'))}", ""),
              (_fmt_general(_get(e, "importance")), "num")] for e in _list(_get(importance, "top_edges"))]
    nodes = [[(_e(_get(n, "node")), ""), (_fmt_general(_get(n, "importance")), "num")]
             for n in _list(_get(importance, "top_nodes"))]
    if edges:
        out.append("<h3>Connections</h3>\n")
        out.append(_table([("Electrode pair", False), ("Importance", True)], edges,
                          "Connections whose values changed the model's output most, most important first; the "
                          "scale is relative (compare rows with each other, not with other reports)."))
    if nodes:
        out.append("<h3>Electrodes</h3>\n")
        out.append(_table([("Electrode", False), ("Importance", True)], nodes,
                          "Electrodes whose signals changed the model's output most, most important first "
                          "(relative scale). Importance shows what the model used, not what causes the "
                          "condition."))
    if not edges and not nodes:
        out.append('<p class="none">No importance values were recorded.</p>\n')
    return "".join(out)


def _files(exports: list[Any]) -> str:
    out = ['<h2 id="files">Files</h2>\n']
    if not exports:
        out.append('<p class="none">No other files were exported.</p>\n')
        return "".join(out)
    out.append("<p>Written beside this report (open them from the same folder; the interactive 3-D "
               "connectomes open in any web browser, without a network).</p>\n<ul>\n")
    for item in exports:
        target = str(item["file"])
        href = html.escape(quote(target.replace("\\", "/"), safe="/._-~"), quote=True)
        out.append(f'<li><a href="{href}"><code>{_e(target)}</code></a> &mdash; {_e(_get(item, "description"))}</li>\n')
    out.append("</ul>\n")
    return "".join(out)


def _caveats(caveats: list[Any]) -> str:
    out = ['<h2 id="caveats">Caveats</h2>\n']
    if not caveats:
        out.append('<p class="none">None recorded.</p>\n')
        return "".join(out)
    out.append('<ul class="caveats">\n' + "".join(f"<li>{_e(c)}</li>\n" for c in caveats) + "</ul>\n")
    return "".join(out)


# --------------------------------------------------------------------------------------------- page


def render_report(
    review: Mapping[str, Any], figures: Sequence[Mapping[str, Any]], path: PathLike, *, overwrite: bool = False
) -> Path:
    """Write the review report: one self-contained HTML file.

    Parameters
    ----------
    review : dict
        What to report. Keys ``title``, ``created`` (ISO time), ``run_dir``, ``cohort``, ``protocol``,
        ``performance``, ``connectivity``, ``exports`` and ``caveats`` are required, ``importance`` may be
        absent or None. Inside them a missing or None value is shown as ``n/a``. The schema (see the project's
        report documentation)::

            cohort: dataset, task, classes [str], label_level, n_subjects, n_recordings, n_windows,
                    per_class {class: {subjects, recordings}}, license, citation
            protocol: cv (a sentence), n_folds, model, graph, features, bands {name: [fmin, fmax]},
                      window_s, preprocessing_steps [dict]
            performance: level, rows [{model, level, balanced_accuracy, balanced_accuracy_ci [lo, hi],
                         roc_auc, roc_auc_ci, sensitivity, sensitivity_ci, specificity, specificity_ci, n}]
            connectivity: method, test_description, bands [{band, describe, top_edges [{node_a, node_b,
                          mean_a, mean_b, difference, effect_size, p_value, p_fdr}]}]
            importance: method, top_edges [{node_a, node_b, importance}], top_nodes [{node, importance}]
            exports: [{file (path relative to the report), description}]
            caveats: [str]

        ``mean_a``/``mean_b`` refer to ``cohort.classes[0]``/``[1]``; with two classes, class 1 is the
        positive class of sensitivity.
    figures : list of dict
        ``{"section": "performance" | "connectivity" | "band_power" | "importance", "path": PNG file,
        "caption": str}``; each image is embedded in its section, in list order, with its caption.
    path : str or path-like
        Destination HTML file.
    overwrite : bool
        Replace an existing report.

    Returns
    -------
    pathlib.Path
        The report written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    FileNotFoundError
        If a figure's PNG file does not exist.
    ValueError
        If a required key is missing, a figure's section is unknown or its file is not a PNG, or an export's
        ``file`` is a URL or an absolute path.
    """
    _check_review(review)
    sections = _load_figures(figures)
    cohort = review["cohort"]
    classes = [str(c) for c in _list(_get(cohort, "classes"))]
    body = [
        _header(review),
        _cohort(cohort),
        _protocol(review["protocol"]),
        _performance(review["performance"], classes, sections["performance"]),
        '<h2 id="connectivity-maps">Connectivity maps</h2>\n',
        _figures_html(sections["connectivity"], "No connectivity maps."),
        _group_differences(review["connectivity"], classes),
        '<h2 id="band-power">Band power</h2>\n',
        _figures_html(sections["band_power"], "No band-power maps."),
        _importance(review.get("importance"), sections["importance"]),
        _files(_list(review["exports"])),
        _caveats(_list(review["caveats"])),
    ]
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_e(review['title'])}</title>\n"
        f"<style>{_CSS}</style>\n"
        f"<script>{_SCRIPT}</script>\n"
        "</head>\n<body>\n<main>\n" + "".join(body) + "</main>\n</body>\n</html>\n"
    )

    def write(temp: Path) -> None:
        with open(temp, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(page)

    return atomic_write(Path(path), write, overwrite=overwrite)
