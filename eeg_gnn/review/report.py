"""The review report: one self-contained HTML file that clinicians open offline.

:func:`render_report` turns a ``review`` dictionary into a single page laid out like an ``mne.Report``:

* a first screen with the verdict (``review["verdict"]``), then sections (``review["sections"]``), folded
  (``<details>``) unless marked open, under a contents list that stays on screen (a sidebar on wide screens, a bar on top on
  narrow ones);
* one band selector in the contents (radio buttons styled as tabs, pure CSS: no script needed) that switches every
  band-dependent block of the page at once, instead of stacking one figure per band;
* tables whose columns sort when their title is clicked (a few lines of inline script);
* every image embedded as a ``data:image/png;base64,...`` URI and the CSS inline, so the page references no other
  file and no server; only links (``{"kind": "links"}`` blocks) point to files beside the report, by relative
  path;
* a Content-Security-Policy that forbids loading anything except ``data:`` images and the page's own style sheet
  and script (allowed by their SHA-256 hashes);
* every text HTML-escaped;
* a script that writes ``"<ok>/<total>"`` decoded images to ``document.body.dataset.imagesOk`` once the page has
  loaded, which ``scripts/check_report_in_browser.py`` reads.

The layout reads at 480 px as at 1400 px: figures sit in a grid that becomes one column, tables become one card
per row (each value named by its column), and nothing is wider than the screen. Printed (A4 or Letter), the page
holds the summary and the sections that are open, tables wrap to the page's width and figures are not cut.

The file is written atomically and an existing report is replaced only with ``overwrite=True``.
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

from eeg_gnn.utils.files import write_text_atomic

__all__ = ["BLOCK_KINDS", "VERDICTS", "format_ci", "format_p", "format_signed_ci", "render_report"]

PathLike = str | os.PathLike

#: The kinds of content block a section holds (see :func:`render_report`).
BLOCK_KINDS = ("paragraph", "heading", "facts", "list", "table", "figures", "bands", "links")
#: Verdicts drawn as coloured labels.
VERDICTS = ("better", "not distinguishable", "worse")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NA = "n/a"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_SLUG = re.compile(r"[^a-z0-9]+")

_CSS = """
:root { color-scheme: light; --accent: #1f4e96; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa;
        --good: #1a7f37; --bad: #b42318; --neutral: #7a5a00; }
* { box-sizing: border-box; }
html { scroll-padding-top: 5rem; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif; font-size: 16px;
       line-height: 1.5; color: #1f2328; background: #fff; margin: 0; }
.band-choice { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; pointer-events: none; }
.layout { display: grid; grid-template-columns: 15rem minmax(0, 1fr); gap: 0 2rem; max-width: 90rem;
          margin: 0 auto; padding: 0 1.5rem; }
nav.toc { position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto; padding: 1.2rem 0;
          font-size: 0.92rem; }
nav.toc .toc-title { font-weight: 700; margin: 0 0 0.4rem; color: var(--accent); }
nav.toc ol { list-style: none; margin: 0; padding: 0; }
nav.toc li a { display: block; padding: 0.15rem 0.5rem; border-left: 3px solid transparent; color: #1f2328;
               text-decoration: none; }
nav.toc li a:hover { border-left-color: var(--accent); background: var(--soft); }
.bands { margin: 1rem 0 0; }
.bands p { margin: 0 0 0.3rem; font-weight: 600; }
.bands label { display: inline-block; margin: 0 0.25rem 0.3rem 0; padding: 0.1rem 0.55rem; cursor: pointer;
               border: 1px solid var(--line); border-radius: 1rem; font-size: 0.88rem; background: #fff; }
.bands label .count { color: var(--muted); font-size: 0.8rem; }
main { min-width: 0; padding: 1.2rem 0 4rem; }
header.report h1 { font-size: 1.7rem; margin: 0 0 0.2rem; line-height: 1.25; }
header.report .meta { color: var(--muted); margin: 0; font-size: 0.9rem; }
section.verdict { border: 2px solid var(--accent); border-radius: 8px; padding: 0.9rem 1.2rem; margin: 1rem 0 1.5rem;
                  background: #f5f8fd; }
section.verdict h2 { margin: 0 0 0.4rem; font-size: 1.2rem; color: var(--accent); }
.headline { font-size: 1.15rem; font-weight: 700; margin: 0 0 0.5rem; }
.pill { display: inline-block; padding: 0 0.5rem; border-radius: 1rem; font-size: 0.85rem; font-weight: 600;
        white-space: nowrap; }
.pill.better { background: #dafbe1; color: var(--good); }
.pill.worse { background: #ffebe9; color: var(--bad); }
.pill.not-distinguishable { background: #fff8c5; color: var(--neutral); }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.25rem 1rem; margin: 0.6rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
details.section { border-top: 1px solid var(--line); padding: 0.4rem 0 0.8rem; }
details.section > summary { cursor: pointer; list-style: none; }
details.section > summary::-webkit-details-marker { display: none; }
details.section > summary h2 { display: inline; font-size: 1.35rem; color: var(--accent); margin: 0; }
details.section > summary::before { content: "\\25B8"; display: inline-block; width: 1.2rem; color: var(--accent); }
details.section[open] > summary::before { content: "\\25BE"; }
h3 { font-size: 1.08rem; margin: 1.2rem 0 0.4rem; }
p, li { max-width: 62rem; }
p.explain { color: var(--muted); font-size: 0.9rem; }
p.note { background: var(--soft); border-left: 4px solid var(--accent); padding: 0.4rem 0.8rem; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: 0.5rem 0; }
table { border-collapse: collapse; font-size: 0.92rem; }
th, td { border: 1px solid var(--line); padding: 0.28rem 0.55rem; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
th[data-sort] { cursor: pointer; }
th[data-sort]::after { content: " \\2195"; color: var(--muted); font-size: 0.8em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 24rem), 1fr)); gap: 1rem;
           align-items: start; }
figure { margin: 0.5rem 0; min-width: 0; }
figure img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
figure.wide { grid-column: 1 / -1; }
figcaption { color: #3d444d; font-size: 0.88rem; margin-top: 0.25rem; }
.band-panel { display: none; }
.none { color: var(--muted); font-style: italic; }
a { color: var(--accent); }
code { background: var(--soft); padding: 0 0.2em; border-radius: 3px; overflow-wrap: anywhere; }
@media (max-width: 60rem) {
  html { scroll-padding-top: 6rem; }
  .layout { display: block; padding: 0 0.8rem; }
  nav.toc { z-index: 5; background: #fff; border-bottom: 1px solid var(--line); max-height: none; padding: 0.35rem 0; }
  nav.toc .toc-title { display: none; }
  nav.toc ol { display: flex; gap: 0 0.1rem; overflow-x: auto; white-space: nowrap; }
  nav.toc li a { border-left: 0; padding: 0.1rem 0.4rem; font-size: 0.85rem; }
  .bands { margin: 0.2rem 0 0; display: flex; align-items: center; gap: 0.2rem; overflow-x: auto;
           white-space: nowrap; }
  .bands p { margin: 0 0.3rem 0 0; font-size: 0.85rem; }
  .bands label { margin: 0; font-size: 0.8rem; padding: 0 0.45rem; }
  header.report h1 { font-size: 1.35rem; }
  .headline { font-size: 1.02rem; }
  section.verdict { padding: 0.7rem 0.8rem; }
  dl.facts { grid-template-columns: minmax(0, 1fr); gap: 0; }
  dl.facts dd { margin-bottom: 0.4rem; }
}
footer.run { border-top: 1px solid var(--line); margin-top: 2rem; padding-top: 0.6rem; color: var(--muted);
              font-size: 0.85rem; }
footer.run code { white-space: pre-wrap; }
@media (max-width: 40rem) {
  .table-wrap { overflow-x: visible; }
  .table-wrap table, .table-wrap tbody, .table-wrap tr, .table-wrap td { display: block; width: 100%; }
  .table-wrap thead { display: none; }
  .table-wrap tr { border: 1px solid var(--line); border-radius: 4px; margin: 0 0 0.5rem; padding: 0.2rem 0; }
  .table-wrap td { border: 0; padding: 0.1rem 0.55rem; text-align: left; white-space: normal; }
  .table-wrap td.num { text-align: left; white-space: normal; }
  .table-wrap td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; color: var(--muted); }
}
@media print {
  @page { size: auto; margin: 12mm; }
  body { font-size: 10pt; }
  nav.toc, .bands { display: none; }
  .layout { display: block; padding: 0; max-width: none; }
  main { padding: 0; }
  .band-panel { display: block !important; }
  .table-wrap { overflow: visible; }
  table { width: 100%; table-layout: fixed; font-size: 8pt; }
  th, td, th.num, td.num, td.nowrap, .pill { white-space: normal; overflow-wrap: anywhere; padding: 0.15rem 0.3rem; }
  th[data-sort]::after { content: ""; }
  figure, tr, dl.facts { break-inside: avoid; }
  figure img { max-height: 230mm; object-fit: contain; }
  .figures { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  figure.wide { grid-column: 1 / -1; }
  h2, h3 { break-after: avoid; }
  p.print-note { display: block; }
}
p.print-note { display: none; color: var(--muted); font-size: 0.85rem; }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.images, ok = 0;
  for (var i = 0; i < images.length; i++) { if (images[i].complete && images[i].naturalWidth > 0) { ok += 1; } }
  document.body.dataset.imagesOk = ok + "/" + images.length;
});
document.addEventListener("click", function (event) {
  var th = event.target.closest("th[data-sort]");
  if (!th) { return; }
  var table = th.closest("table"), body = table.tBodies[0], column = th.cellIndex;
  var numeric = th.dataset.sort === "number", ascending = th.dataset.order !== "ascending";
  var key = function (row) {
    var cell = row.cells[column];
    return cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent;
  };
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var order = numeric ? parseFloat(key(a)) - parseFloat(key(b)) : key(a).localeCompare(key(b));
    return ascending ? order : -order;
  });
  rows.forEach(function (row) { body.appendChild(row); });
  Array.prototype.forEach.call(table.querySelectorAll("th[data-sort]"), function (h) { delete h.dataset.order; });
  th.dataset.order = ascending ? "ascending" : "descending";
});
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


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


def _interval(ci: Any) -> tuple[float, float] | None:
    if isinstance(ci, Sequence) and not isinstance(ci, str) and len(ci) == 2:
        low, high = (_number(bound) for bound in ci)
        if low is not None and high is not None:
            return low, high
    return None


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
    number = _number(value)
    if number is None:
        return NA
    bounds = _interval(ci)
    if bounds is None:
        return f"{number:.{digits}f} [CI {NA}]"
    return f"{number:.{digits}f} [{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"


def format_signed_ci(value: Any, ci: Any, digits: int = 2) -> str:
    """A signed value (a difference, an effect size) with its interval: ``+0.04 [-0.08, +0.17]``."""
    number = _number(value)
    if number is None:
        return NA
    bounds = _interval(ci)
    if bounds is None:
        return f"{number:+.{digits}f} [CI {NA}]"
    return f"{number:+.{digits}f} [{bounds[0]:+.{digits}f}, {bounds[1]:+.{digits}f}]"


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


def slug(text: str) -> str:
    """An id made of lowercase letters, digits and dashes (``'Band power'`` -> ``'band-power'``)."""
    return _SLUG.sub("-", str(text).lower()).strip("-") or "x"


def _pill(verdict: Any) -> str:
    return f'<span class="pill {slug(verdict)}">{_e(verdict)}</span>'


# --------------------------------------------------------------------------------------------- checks


def _get(mapping: Any, key: str, default: Any = None) -> Any:
    return mapping.get(key, default) if isinstance(mapping, Mapping) else default


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(f"{where} must be a list, got {type(value).__name__}: {value!r}.")
    return list(value)


def _relative_link(target: Any, where: str) -> str:
    if not isinstance(target, str) or not target.strip():
        raise ValueError(f"{where} needs a 'file' (a path relative to the report), got {target!r}.")
    if _SCHEME.match(target) or target.startswith(("/", "\\", "//")):
        raise ValueError(f"{where}['file'] must be a path relative to the report, got {target!r} (the report links "
                         "no URL and no absolute path, so that it works when moved with its folder).")
    return html.escape(quote(target.replace("\\", "/"), safe="/._-~#"), quote=True)


def _image(path: Any, where: str) -> str:
    file = Path(os.fspath(path))
    if not file.is_file():
        raise FileNotFoundError(f"{where}: PNG file {file} does not exist.")
    data = file.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{where}: {file} is not a PNG file (its first bytes are {data[:8]!r}).")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------------------------- blocks


def _cell(cell: Any, label: str = "") -> str:
    labelled = f' data-label="{_e(label)}"' if label else ""
    if isinstance(cell, Mapping):
        classes = [css for css, on in (("num", cell.get("numeric")), ("nowrap", cell.get("nowrap"))) if on]
        attributes = (f' class="{" ".join(classes)}"' if classes else "") + labelled
        value = _number(cell.get("value"))
        if value is not None:
            attributes += f' data-value="{value!r}"'
        text = _pill(cell["verdict"]) if cell.get("verdict") else _e(cell.get("text"))
        return f"<td{attributes}>{text}</td>"
    return f"<td{labelled}>{_e(cell)}</td>"


def _table(block: Mapping[str, Any], where: str) -> str:
    columns = _list(block.get("columns"), f"{where}['columns']")
    head, labels = [], []
    for column in columns:
        label = column if isinstance(column, str) else _get(column, "label")
        labels.append(str(label))
        numeric = bool(_get(column, "numeric"))
        attributes = ' class="num"' if numeric else ""
        if block.get("sortable"):
            attributes += f' data-sort="{"number" if numeric else "text"}"'
        head.append(f"<th{attributes}>{_e(label)}</th>")
    rows = []
    for number, row in enumerate(_list(block.get("rows"), f"{where}['rows']")):
        cells = _list(row, f"{where}['rows'][{number}]")
        if len(cells) != len(columns):
            raise ValueError(f"{where}['rows'][{number}] has {len(cells)} cells for {len(columns)} columns.")
        rows.append("<tr>" + "".join(_cell(cell, label) for cell, label in zip(cells, labels, strict=True))
                    + "</tr>")
    if not rows:
        return f'<p class="none">{_e(block.get("empty", "Nothing to list."))}</p>\n'
    return (f'<div class="table-wrap"><table><thead><tr>{"".join(head)}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody></table></div>\n")


def _figures(block: Mapping[str, Any], where: str) -> str:
    parts = []
    for number, item in enumerate(_list(block.get("items"), f"{where}['items']")):
        if "path" not in item:
            raise ValueError(f"{where}['items'][{number}] has no 'path'.")
        caption = _e(item.get("caption", ""))
        css = ' class="wide"' if item.get("wide") else ""
        parts.append(f'<figure{css}><img src="{_image(item["path"], f"{where}[items][{number}]")}" '
                     f'alt="{caption or "figure"}"><figcaption>{caption}</figcaption></figure>\n')
    if not parts:
        return f'<p class="none">{_e(block.get("empty", "No figure."))}</p>\n'
    return '<div class="figures">\n' + "".join(parts) + "</div>\n"


def _blocks(blocks: Any, where: str, bands: list[str]) -> str:
    out = []
    for number, block in enumerate(_list(blocks, where)):
        here = f"{where}[{number}]"
        kind = _get(block, "kind")
        if kind not in BLOCK_KINDS:
            listed = ", ".join(repr(k) for k in BLOCK_KINDS)
            raise ValueError(f"Invalid value for {here}['kind']. Allowed values are {listed}, but got {kind!r} "
                             "instead.")
        if kind == "paragraph":
            css = f' class="{_e(block["css"])}"' if block.get("css") else ""
            lead = f"<strong>{_e(block['lead'])}</strong> " if block.get("lead") else ""
            out.append(f"<p{css}>{lead}{_e(block.get('text', ''))}</p>\n")
        elif kind == "heading":
            out.append(f"<h3>{_e(block.get('text', ''))}</h3>\n")
        elif kind == "facts":
            items = "".join(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>"
                            for label, text in _list(block.get("items"), f"{here}['items']"))
            out.append(f'<dl class="facts">{items}</dl>\n')
        elif kind == "list":
            tag = "ol" if block.get("ordered") else "ul"
            items = "".join(f"<li>{_e(item)}</li>" for item in _list(block.get("items"), f"{here}['items']"))
            out.append(f"<{tag}>{items}</{tag}>\n")
        elif kind == "table":
            out.append(_table(block, here))
        elif kind == "figures":
            out.append(_figures(block, here))
        elif kind == "links":
            items = []
            for k, item in enumerate(_list(block.get("items"), f"{here}['items']")):
                href = _relative_link(_get(item, "file"), f"{here}['items'][{k}]")
                items.append(f'<li><a href="{href}"><code>{_e(item["file"])}</code></a> &mdash; '
                             f"{_e(item.get('description', ''))}</li>")
            out.append("<ul>" + "".join(items) + "</ul>\n" if items else '<p class="none">No file.</p>\n')
        else:
            panels = _get(block, "panels")
            if not isinstance(panels, Mapping):
                raise ValueError(f"{here}['panels'] must be a dict of band name -> blocks, got {panels!r}.")
            unknown = [band for band in panels if band not in bands]
            if unknown:
                raise ValueError(f"{here}['panels'] has bands {unknown} that the band selector does not offer "
                                 f"({bands}).")
            for band, content in panels.items():
                out.append(f'<div class="band-panel band-{slug(band)}">\n'
                           + _blocks(content, f"{here}['panels'][{band!r}]", bands) + "</div>\n")
    return "".join(out)


def _verdict(verdict: Any, bands: list[str]) -> str:
    if not isinstance(verdict, Mapping):
        raise ValueError(f"review['verdict'] must be a dict, got {type(verdict).__name__}.")
    items = []
    for item in _list(verdict.get("items", []), "review['verdict']['items']"):
        pill = f" {_pill(item['verdict'])}" if item.get("verdict") else ""
        items.append(f"<li><strong>{_e(item.get('title', ''))}</strong>{pill}: {_e(item.get('text', ''))}</li>")
    facts = "".join(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>"
                    for label, text in _list(verdict.get("facts", []), "review['verdict']['facts']"))
    caveats = "".join(f"<li>{_e(c)}</li>" for c in _list(verdict.get("caveats", []), "review['verdict']['caveats']"))
    return (
        '<section class="verdict" id="verdict" aria-labelledby="verdict-title">\n'
        '<h2 id="verdict-title">Verdict</h2>\n'
        f'<p class="headline">{_e(verdict.get("headline", ""))}</p>\n'
        + (f"<ul>{''.join(items)}</ul>\n" if items else "")
        + _blocks(verdict.get("blocks", []), "review['verdict']['blocks']", bands)
        + (f'<dl class="facts">{facts}</dl>\n' if facts else "")
        + (f'<p><strong>Caveats that matter</strong> (all of them under <a href="#caveats">Caveats</a>):</p>'
           f"<ul>{caveats}</ul>\n" if caveats else "")
        + "</section>\n")


def _footer(items: Any) -> str:
    """The run's provenance under the last section: ``[[label, text]]``; a text in backquotes is shown as code."""
    rows = []
    for label, text in _list(items, "review['footer']"):
        text = str(text)
        shown = f"<code>{_e(text[1:-1])}</code>" if len(text) > 1 and text[0] == text[-1] == "`" else _e(text)
        rows.append(f"<dt>{_e(label)}</dt><dd>{shown}</dd>")
    if not rows:
        return ""
    return ('<p class="print-note">Printed: the summary and the sections that were open.</p>\n'
            f'<footer class="run"><dl class="facts">{"".join(rows)}</dl></footer>\n')


# --------------------------------------------------------------------------------------------- page


def render_report(review: Mapping[str, Any], path: PathLike, *, overwrite: bool = False) -> Path:
    """Write the review report: one self-contained HTML file.

    Parameters
    ----------
    review : dict
        What to show::

            title: str
            subtitle: str                       (e.g. the run's name and the date; no local path)
            verdict: {headline: str, items: [{title, verdict, text}], blocks: [block], facts: [[label, text]],
                      caveats: [str]}
            bands: [{name: str, count: int | None}]   (the band selector; may be empty)
            default_band: str                   (the band shown first)
            sections: [{id: str, title: str, blocks: [block], open: bool}]   (folded unless ``open``)
            footer: [[label, text]]             (provenance: version, commit, command; `text` in backquotes is code)

        A block is a dict with a ``kind`` (:data:`BLOCK_KINDS`)::

            {kind: "paragraph", text, lead (bold start, optional), css ("explain" | "note", optional)}
            {kind: "heading", text}
            {kind: "facts", items: [[label, text]]}
            {kind: "list", items: [str], ordered: bool}
            {kind: "table", columns: [{label, numeric}], rows: [[cell]], sortable: bool, empty: str}
                a cell is a str, or {text, value (sort key), numeric, nowrap, verdict}
            {kind: "figures", items: [{path (PNG file), caption, wide}], empty: str}
            {kind: "bands", panels: {band: [block]}}   (shown when that band is chosen)
            {kind: "links", items: [{file (relative path), description}]}

        The contents list names the verdict and every section; a section ``id`` of ``caveats`` is expected (the
        verdict links to it).
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
        If a required key is missing, a block's kind is unknown, a figure is not a PNG, a link is a URL or an
        absolute path, a band panel names a band the selector lacks, or two sections share an id.
    """
    if not isinstance(review, Mapping):
        raise TypeError(f"review must be a dict, got {type(review).__name__}.")
    missing = [key for key in ("title", "verdict", "sections") if key not in review]
    if missing:
        raise ValueError(f"review lacks the key(s) {', '.join(map(repr, missing))}; it has {sorted(review)}.")
    bands = [str(_get(band, "name")) for band in _list(review.get("bands", []), "review['bands']")]
    default = review.get("default_band") or (bands[0] if bands else None)
    if bands and default not in bands:
        raise ValueError(f"review['default_band'] is {default!r}, not one of the bands {bands}.")
    sections = _list(review["sections"], "review['sections']")
    ids = [str(_get(section, "id")) for section in sections]
    duplicated = sorted({i for i in ids if ids.count(i) > 1} | ({"verdict"} & set(ids)))
    if duplicated:
        raise ValueError(f"Section ids must be unique and not 'verdict'; repeated: {duplicated}.")
    body = [_verdict(review["verdict"], bands)]
    toc = ['<li><a href="#verdict">Verdict</a></li>']
    for number, section in enumerate(sections):
        anchor = slug(ids[number])
        title = _e(_get(section, "title", anchor))
        toc.append(f'<li><a href="#{anchor}">{title}</a></li>')
        opened = " open" if _get(section, "open") else ""
        body.append(f'<details class="section" id="{anchor}"{opened}><summary><h2>{title}</h2></summary>\n'
                    + _blocks(_get(section, "blocks", []), f"review['sections'][{number}]['blocks']", bands)
                    + "</details>\n")
    band_css, inputs, labels = [], [], []
    for band, entry in zip(bands, review.get("bands", []), strict=True):
        key = slug(band)
        band_css += [
            f"#band-{key}:checked ~ .layout .band-{key} {{ display: block; }}",
            f"#band-{key}:checked ~ .layout label[for=band-{key}] {{ background: var(--accent); color: #fff; "
            "border-color: var(--accent); }",
            f"#band-{key}:checked ~ .layout label[for=band-{key}] .count {{ color: #dfe7f5; }}",
            f"#band-{key}:focus-visible ~ .layout label[for=band-{key}] {{ outline: 2px solid var(--accent); "
            "outline-offset: 2px; }",
        ]
        checked = " checked" if band == default else ""
        inputs.append(f'<input type="radio" class="band-choice" name="band" id="band-{key}" '
                      f'aria-label="{_e(band)} band"{checked}>')
        count = _get(entry, "count")
        count_text = f' <span class="count">{_e(count)}</span>' if count is not None else ""
        labels.append(f'<label for="band-{key}">{_e(band)}{count_text}</label>')
    selector = ""
    if bands:
        selector = (f'<div class="bands"><p>{_e(review.get("band_title", "Band"))}</p>{"".join(labels)}</div>')
    css = _CSS + "\n".join(band_css) + "\n"
    csp = (f"default-src 'none'; img-src data:; style-src {_csp_hash(css)}; script-src {_csp_hash(_SCRIPT)}; "
           "base-uri 'none'; form-action 'none'")
    title = _e(review["title"])
    subtitle = f'<p class="meta">{_e(review["subtitle"])}</p>' if review.get("subtitle") else ""
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{title}</title>\n<style>{css}</style>\n<script>{_SCRIPT}</script>\n</head>\n<body>\n"
        + "".join(inputs)
        + '\n<div class="layout">\n<nav class="toc" aria-label="Contents"><p class="toc-title">Contents</p>'
        + f'<ol>{"".join(toc)}</ol>{selector}</nav>\n<main>\n'
        + f'<header class="report"><h1>{title}</h1>{subtitle}</header>\n'
        + "".join(body) + _footer(review.get("footer", [])) + "</main>\n</div>\n</body>\n</html>\n"
    )
    return write_text_atomic(Path(path), page, overwrite=overwrite)
