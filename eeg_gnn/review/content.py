"""The words of the review: the verdict, each section's explanations, tables and caveats, as the blocks that
:func:`eeg_gnn.review.report.render_report` lays out.

Nothing here computes a statistic; it says in plain words what :mod:`eeg_gnn.review.build` computed, naming each
test, effect size and correction, and never showing a local path or an internal setting name.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from eeg_gnn.data.confounds import confound_caveat
from eeg_gnn.pipeline.experiment import describe_protocol
from eeg_gnn.review import cohort, wording
from eeg_gnn.review.performance import graph_description
from eeg_gnn.review.report import format_ci, format_p, format_signed_ci
from eeg_gnn.review.statistics import significant_edges
from eeg_gnn.signal import montage

__all__ = ["caveats", "compose"]


def _number_cell(text: str, value: float | None) -> dict:
    return {"text": text, "value": value, "numeric": True}


def _metric_cell(metrics: dict, name: str) -> dict:
    value = metrics.get(name)
    return _number_cell(format_ci(value, metrics.get("ci95", {}).get(name)), value)


def sentence_case(text: str) -> str:
    """``text`` with its first letter in upper case and the rest untouched (``Fp1`` stays ``Fp1``)."""
    return text[:1].upper() + text[1:]


def plain_name(entry: dict, config: Any, primary: bool) -> str:
    """A model's name in plain words, from the run's own description (``results.json`` ``models``).

    The primary graph model is named from the run's settings (``ChebNet (K = 3) on alpha PLV graphs``) when its
    description is the pipeline's terse one (``CHEB on the plv graph``); any other model keeps its description
    without the parenthesised details (``logistic regression on the node features``), so that models added later
    are named by what the run says they are.
    """
    description = str(entry.get("description") or entry.get("name"))
    if primary and entry.get("kind") == "graph" and description.upper().startswith(str(config.model).upper() + " "):
        return graph_description(config)
    plain = re.sub(r"\s*\([^()]*\)", "", description).strip()
    return plain or description


def _listed(names: list[str], names_of: dict[str, str], kinds: dict[str, str]) -> str:
    """Models in plain words for one sentence: several graph controls as one phrase, the others by name."""
    controls = [name for name in names if kinds.get(name) == "control"]
    parts = ([f"its {len(controls)} graph controls (the same model on other graphs)"] if len(controls) > 1
             else [names_of.get(name, name) for name in controls])
    parts += [names_of.get(name, name) for name in names if kinds.get(name) != "control"]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _verdict_phrase(verdict: str) -> str:
    return {"better": "better than", "worse": "worse than"}.get(verdict, "not distinguishable from")


_SCORES_EXPLAINED = ("Scores {level}, with 95 % bootstrap intervals over subjects. Balanced accuracy: the mean "
                     "of the shares of each class recognised (0.50 is chance). ROC AUC: the chance that a random "
                     "case of the second class scores above a random one of the first (0.50 is chance). Minus graph "
                     "model: this model's balanced accuracy minus the graph model's, subject by subject; p is "
                     "Holm-adjusted over the models compared. Smallest detectable difference (when the run gives "
                     "it): the smallest difference a paired test over these subjects finds 80 % of the time.")


def _flagged_text(quality) -> str:
    """The electrodes flagged after preprocessing (far from the recording's median electrode, still used)."""
    flagged = {}
    for r in quality:
        for name in r.flagged:
            flagged.setdefault(r.subject, set()).add(name)
    if not flagged:
        return ""
    return (" Flagged after preprocessing and still used (amplitude more than 3 times above or below the "
            "recording's median electrode): " + "; ".join(f"{subject} {', '.join(sorted(names))}"
                                                          for subject, names in sorted(flagged.items())) + ".")


def _connectivity_sentence(ctx, tests, counts: dict, detect) -> str:
    """How many pairs differ per band, or why none could: never "no difference" when nothing was testable."""
    classes = ctx.classes
    found = [f"{band} ({counts[band]} pairs)" for band in counts if counts[band]]
    power = (f"the smallest achievable p is {detect.smallest_p:.2g} ({detect.n_labellings} distinct labellings of "
             f"the subjects), so a lone pair's q is at least {detect.smallest_q:.2g}")
    if detect.lone_difference_testable:
        power += (f"; a lone pair needs an effect of about {detect.detectable_effect:.1f} (standardised) to be "
                  "found 80 % of the time" if np.isfinite(detect.detectable_effect) else "")
    elif detect.pairs_needed is None:
        power += f": no pair can reach q < {tests.alpha:g}, however large the difference"
    else:
        power += (f": only a difference shared by at least {detect.pairs_needed} pairs at that p could reach "
                  f"q < {tests.alpha:g}")
    if found:
        return (f"{ctx.short} differs between {classes[1]} and {classes[0]} in " + ", ".join(found)
                + f" ({tests.correction_text()}, q < {tests.alpha:g}). With {detect.sizes_text()}, {power}.")
    if not detect.lone_difference_testable:
        return (f"Cannot be tested pair by pair with {detect.sizes_text()}: {power}. No pair reached q < "
                f"{tests.alpha:g}, which is not evidence of no difference.")
    return (f"No electrode pair reached q < {tests.alpha:g} in any band ({tests.correction_text()}). With "
            f"{detect.sizes_text()}, {power}: smaller differences may exist.")


_MEASURE_EXPLAINED = {
    "plv": "PLV (phase-locking value): how steadily two electrodes' rhythms keep the same timing relative to each "
           "other within a band, from 0 (no fixed relation) to 1 (always the same lag). Neighbouring electrodes "
           "share signal, which raises PLV between them.",
    "wpli": "wPLI (weighted phase-lag index): like PLV, but counting only consistent non-zero lags, so that signal "
            "shared instantly by neighbouring electrodes does not count; 0 to 1.",
    "dwpli": "Debiased wPLI: wPLI corrected for its upward bias with few windows; about 0 to 1.",
    "coherence": "Coherence: how consistently two electrodes' rhythms go together in amplitude and timing in a band; "
                 "0 to 1.",
    "correlation": "Correlation: how two electrodes' signals rise and fall together; -1 to 1.",
}


def _band_power_table(ctx, power_test, power_intervals: tuple, paired: bool) -> list[dict]:
    """Every electrode and band: class means, difference and effect size with BCa intervals, p and q."""
    names, bands, classes = ctx.names, list(ctx.bands), ctx.classes
    effect_ci, difference_ci = power_intervals
    effect = "d_z" if paired else "g"
    rows = []
    for index in np.argsort(power_test.p_fdr, kind="stable"):
        node, band = divmod(int(index), len(bands))
        rows.append([
            names[node], bands[band],
            _number_cell(f"{100 * power_test.mean_b[index]:.1f}", float(power_test.mean_b[index])),
            _number_cell(f"{100 * power_test.mean_a[index]:.1f}", float(power_test.mean_a[index])),
            _number_cell(format_signed_ci(100 * power_test.difference[index], 100 * difference_ci[index], 1),
                         float(power_test.difference[index])),
            _number_cell(format_signed_ci(power_test.effect_size[index], effect_ci[index]),
                         float(power_test.effect_size[index])),
            _number_cell(format_p(power_test.p_value[index]), float(power_test.p_value[index])),
            _number_cell(format_p(power_test.p_fdr[index]), float(power_test.p_fdr[index]))])
    return [
        {"kind": "heading", "text": f"Every electrode and band ({power_test.n_significant} significant)"},
        {"kind": "table", "sortable": True, "rows": rows, "columns": [
            {"label": "Electrode"}, {"label": "Band"}, {"label": f"{classes[0]}, %", "numeric": True},
            {"label": f"{classes[1]}, %", "numeric": True}, {"label": "Difference [95 % CI]", "numeric": True},
            {"label": f"{effect} [95 % CI]", "numeric": True}, {"label": "p", "numeric": True},
            {"label": "q (FDR)", "numeric": True}]},
        {"kind": "paragraph", "css": "explain", "text":
         f"Relative power in % of the total, the mean over subjects; difference: {classes[1]} minus {classes[0]} in "
         f"percentage points. {effect}: the difference in units of its spread across subjects ("
         + ("Cohen's d_z, of the within-subject differences" if paired else "Hedges' g, the pooled standard deviation")
         + "); about 0.2 is small, 0.5 medium, 0.8 large. Intervals: 95 % BCa bootstrap over subjects (bias-corrected "
         f"and accelerated). p: permutation test; q: false discovery rate over every electrode and band "
         f"({len(names) * len(bands)} tests). Sorted by q."}]


def _commit() -> str:
    """The commit of the code making the review, when it runs from a git checkout."""
    try:
        result = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "not a git checkout"


def _no_folder(text: str) -> str:
    """``text`` with every absolute path cut to its last part (the report shows no local folder)."""
    return re.sub(r"(?<![\w.])(?:[A-Za-z]:)?[\\/](?:[^\s\\/=\"']+[\\/])+([^\s\\/=\"']*)", r"\1", text)


def footer(run) -> list[list[str]]:
    """Provenance: versions, commit, the command that trained the run and its settings."""
    from eeg_gnn import __version__

    versions = run.saved.get("versions", {})
    command = [_no_folder(str(part)) for part in run.saved.get("command") or []]
    settings = {key: _no_folder(value) if isinstance(value, str) else value
                for key, value in run.saved.get("config", {}).items()}
    return [
        ["Trained with", ", ".join(f"{name} {version}" for name, version in versions.items()) or "not recorded"],
        ["Review made with", f"eeg-gnn {__version__}, commit {_commit()}"],
        ["Command", f"`{' '.join(command)}`" if command else "not recorded"],
        ["Settings", "`" + json.dumps(settings, sort_keys=True, default=str) + "`"],
    ]


def caveats(ctx, *, tests, comparisons: list[dict], node_importance: np.ndarray, level: str) -> list[str]:
    """The caveats, the most important first (the first three are on the first screen)."""
    config, names = ctx.run.config, ctx.names
    found = []
    main = [row for row in comparisons if row["metric"] == "balanced_accuracy"]
    if main and not any(row["verdict"] == "better" for row in main):
        width = np.mean([row["ci95"][1] - row["ci95"][0] for row in main]) / 2
        found.append(f"With {ctx.run.results['n_subjects']} subjects the intervals are wide (about ±{width:.2f} for "
                     "the difference of balanced accuracy): the graph model has not been shown to do better than "
                     "the simpler models.")
    regions = dict(zip(names, (region for _, region in montage.regions(names)), strict=True))
    top = [names[i] for i in np.argsort(-node_importance)[:2]]
    exposed = [f"{name} ({regions[name]}: {ARTEFACTS[regions[name]]})" for name in top if regions[name] in ARTEFACTS]
    if exposed:
        found.append(f"The model relied most on {' and '.join(top)}. " + sentence_case("; ".join(exposed))
                     + " pick up artefacts: part of what the model uses may not be brain activity.")
    high = [band for band, (_, fmax) in ctx.bands.items() if fmax > 30]
    if high:
        found.append(f"Above 30 Hz ({', '.join(high)}), scalp EEG is dominated by muscle activity: treat "
                     f"{', '.join(high)} findings as artefact until shown otherwise.")
    found.append(f"Connectivity is {wording.GRAPH_TEXT.get(ctx.method, ctx.method)} between scalp electrodes: "
                 "inflated between neighbours by volume conduction and shaped by the reference "
                 f"({'average' if config.reference == 'average' else 'as recorded'}); it is not connectivity "
                 "between brain regions.")
    if tests is not None and tests.paired:
        found.append("The classes are two conditions of the same subjects (a within-subject contrast): the "
                     "differences describe a change between conditions, not a difference between people.")
    found.append("Differences are associations in this cohort, tested pair by pair with false-discovery-rate "
                 "control; they are not diagnostic markers and were not validated on an independent cohort.")
    found.append("Model importance (gradient × input) shows what the trained models used, not what causes the "
                 "difference between the classes.")
    if level != "window":
        found.append(f"Scores {wording.LEVEL_TEXT[level]} average the window probabilities of each {level}; the "
                     "per-window scores are listed beside them.")
    confounded = confound_caveat(ctx.run.saved.get("confounds", {}))
    if confounded:
        found.insert(0, confounded)
    _, protocol_caveat = describe_protocol(config.cv, ctx.run.results["n_folds"])
    if protocol_caveat:
        found.insert(0, protocol_caveat[0].upper() + protocol_caveat[1:] + ".")
    if ctx.dataset.descriptor.get("access") == "local":
        found.append("This dataset may not be redistributed: keep the review internal.")
    return found


ARTEFACTS = {"prefrontal": "eye movements and blinks", "temporal": "jaw and temporal muscle"}


def _public(text: str, dataset) -> str:
    """``text`` without the dataset's local folder (a folder cohort's title names it): only its name is kept."""
    return str(text).replace(str(dataset.root), dataset.root.name)


def compose(ctx, *, tests, power_test, class_maps: dict, differences: dict | None, power_figure, importance: dict,
            importance_values: tuple, entries: list[dict], comparisons: list[dict], level: str,
            performance_figures: list[dict], psd, subject_predictions: dict | None = None,
            power_intervals: tuple | None = None, learned: dict | None = None) -> dict[str, Any]:
    """The ``review`` dictionary of :func:`~eeg_gnn.review.report.render_report`."""
    run, dataset, config = ctx.run, ctx.dataset, ctx.run.config
    classes, names, bands = ctx.classes, ctx.names, list(ctx.bands)
    units = ctx.summaries.units
    paired = bool(tests and tests.paired)
    edge_importance, node_importance, n_explained = importance_values
    primary = entries[0]
    subject_predictions = subject_predictions or {}
    windows = {k: sum(u.n_windows for u in units if u.label == k) for k in range(len(classes))}
    counts = {band.band: band.n_significant for band in tests.bands} if tests else {}
    all_caveats = caveats(ctx, tests=tests, comparisons=comparisons, node_importance=node_importance, level=level)
    cv_name, protocol_caveat = describe_protocol(config.cv, run.results["n_folds"])
    validation = wording.cv_text(config.cv, run.results["n_folds"], cv_name) + (
        ": every score comes from subjects the model never saw in training" if protocol_caveat is None
        else f": {protocol_caveat}")

    # summary (the first screen) -------------------------------------------------------------------------------------
    names_of = {entry["name"]: plain_name(entry, config, entry is primary) for entry in entries}
    at_level = [row for row in comparisons if row["metric"] == "balanced_accuracy" and row["level"] == level]
    if not at_level:
        at_level = [row for row in comparisons if row["metric"] == "balanced_accuracy" and row["level"] == "window"]
    shown_level = at_level[0]["level"] if at_level else (level if primary["levels"].get(level) else "window")
    ours = primary["levels"].get(shown_level, {})
    score = (f"a balanced accuracy of {format_ci(ours.get('balanced_accuracy'), ours.get('ci95', {}).get('balanced_accuracy'))}"
             " (0.50 is chance)") if ours else "no score"
    phrases = {}
    for row in at_level:
        phrases.setdefault(_verdict_phrase(row["verdict"]), []).append(row["against"])
    kinds = {entry["name"]: entry["kind"] for entry in entries}
    against = "; ".join(f"{phrase} {_listed(others, names_of, kinds)}" for phrase, others in phrases.items())
    headline = (f"{sentence_case(wording.LEVEL_TEXT[shown_level])}, the graph model ({names_of[primary['name']]}) "
                f"reached {score}" + (f": {against}." if against else "; it was not compared with another model."))
    by_against = {row["against"]: row for row in at_level}
    detectable = any("detectable_difference" in row for row in at_level)
    model_rows = []
    for entry in entries:
        metrics = entry["levels"].get(shown_level, {})
        row = by_against.get(entry["name"])
        model_rows.append([
            names_of[entry["name"]], wording.KIND_TEXT.get(entry["kind"], entry["kind"]),
            _metric_cell(metrics, "balanced_accuracy") if metrics else "n/a",
            _metric_cell(metrics, "roc_auc") if metrics else "n/a",
            _number_cell(format_signed_ci(-row["mean_difference"], [-row["ci95"][1], -row["ci95"][0]]),
                         -row["mean_difference"]) if row else "(the graph model)",
            _number_cell(format_p(row.get("p_holm", row["p_value"])), row.get("p_holm", row["p_value"])) if row else "",
            {"verdict": row["verdict"]} if row else ""])
        if detectable:
            value = row.get("detectable_difference") if row else None
            model_rows[-1].append(
                _number_cell(f"{value:.3f}", value) if isinstance(value, (int, float))
                else f"cannot be tested with n = {row.get('n_subjects')}" if row and "detectable_difference" in row
                else "")
    model_table = {"kind": "table", "rows": model_rows, "columns": [
        {"label": "Model"}, {"label": "Kind"},
        {"label": "Balanced accuracy", "numeric": True}, {"label": "ROC AUC", "numeric": True},
        {"label": "Minus graph model", "numeric": True}, {"label": "p (Holm)", "numeric": True},
        {"label": "Graph model is"}] + ([{"label": "Smallest detectable difference", "numeric": True}]
                                        if detectable else [])}
    subjects_of = {k: sorted({u.subject for u in units if u.label == k}) for k in range(len(classes))}
    recordings_of = {k: sum(1 for r in ctx.summaries.quality if k in r.windows) for k in range(len(classes))}
    rates_of = {k: [r.sfreq for r in ctx.summaries.quality if k in r.windows] for k in range(len(classes))}
    traits = cohort.participant_traits(dataset.descriptor)
    cohort_block = cohort.cohort_table(classes, subjects_of, recordings_of, windows, rates_of, traits)
    differ = cohort.group_warnings(classes, subjects_of, rates_of, traits)
    quality = run.saved.get("data_quality", {})
    dropped = sum(entry["action"] == "dropped" for entry in quality.get("bad_channels", {}).values())
    n_read = (len(run.saved.get("dataset", {}).get("recordings", [])) or len(ctx.summaries.quality)) + dropped
    bad_line = cohort.bad_channel_summary(quality, n_read, config.bad_channels)
    flagged_line = _flagged_text(ctx.summaries.quality)
    detect = tests.detectability() if tests else None
    if tests:
        pair_rows = [[ctx.band_text(band), _number_cell(str(counts[band]), counts[band])] for band in bands]
        connectivity_line = _connectivity_sentence(ctx, tests, counts, detect)
    else:
        pair_rows, connectivity_line = [], "Not tested: it needs two classes with at least two subjects each."
    summary_blocks = [model_table,
                      {"kind": "paragraph", "css": "explain",
                       "text": _SCORES_EXPLAINED.format(level=wording.LEVEL_TEXT[shown_level])}, cohort_block]
    summary_blocks += [{"kind": "paragraph", "css": "note", "text": text} for text in differ]
    summary_blocks.append({"kind": "paragraph", "lead": "Electrodes:", "text": bad_line + flagged_line})
    summary_blocks.append({"kind": "paragraph", "lead": f"{ctx.short} differences:", "text": connectivity_line})
    if pair_rows:
        summary_blocks.append({"kind": "table", "rows": pair_rows, "columns": [
            {"label": "Band"}, {"label": f"Electrode pairs that differ (of {tests.n_pairs})", "numeric": True}]})
    verdict = {"headline": headline, "blocks": summary_blocks,
               "facts": [["Protocol", validation + "."]], "caveats": all_caveats[:3]}

    # performance ---------------------------------------------------------------------------------------------------
    rows = []
    for entry in entries:
        for lvl in dict.fromkeys(("window", level)):
            metrics = entry["levels"].get(lvl)
            if metrics:
                rows.append([names_of[entry["name"]], wording.KIND_TEXT.get(entry["kind"], entry["kind"]),
                             wording.LEVEL_TEXT[lvl], _metric_cell(metrics, "balanced_accuracy"),
                             _metric_cell(metrics, "roc_auc"), _metric_cell(metrics, "sensitivity"),
                             _metric_cell(metrics, "specificity"), _number_cell(str(metrics.get("n")), metrics.get("n"))])
    comparison_rows = [[names_of.get(row["against"], row["against_description"]), wording.METRIC_TEXT[row["metric"]],
                        wording.LEVEL_TEXT[row["level"]],
                        _number_cell(format_signed_ci(row["mean_difference"], row["ci95"], 3), row["mean_difference"]),
                        _number_cell(format_p(row["p_value"]), row["p_value"]),
                        _number_cell(format_p(row.get("p_holm")), row.get("p_holm")),
                        {"verdict": row["verdict"]}] for row in comparisons]
    computed = any(row.get("source") == "computed by the review" for row in comparisons)
    performance_blocks = [
        {"kind": "paragraph", "text": f"Scores on held-out subjects with 95 % bootstrap intervals over subjects. The "
         f"primary level is {wording.LEVEL_TEXT[level]}: the mean probability of the windows of each {level}."},
        {"kind": "table", "sortable": True, "columns": [
            {"label": "Model"}, {"label": "Kind"}, {"label": "Level"}, {"label": "Balanced accuracy", "numeric": True},
            {"label": "ROC AUC", "numeric": True}, {"label": "Sensitivity", "numeric": True},
            {"label": "Specificity", "numeric": True}, {"label": "n", "numeric": True}], "rows": rows},
        {"kind": "paragraph", "css": "explain", "text":
         "Balanced accuracy: the mean of the shares of each class recognised (0.50 is chance for two classes). "
         f"ROC AUC: the chance that a random {classes[-1]} {level} scores higher than a random {classes[0]} one (0.50 "
         f"is chance). Sensitivity: share of {classes[-1]} recognised; specificity: share of {classes[0]} "
         "recognised."},
        {"kind": "heading", "text": "Paired comparison of the graph model with each other model"},
        {"kind": "table", "sortable": True, "columns": [
            {"label": "Against"}, {"label": "Metric"}, {"label": "Level"},
            {"label": "Difference [95 % CI]", "numeric": True}, {"label": "p", "numeric": True},
            {"label": "p (Holm)", "numeric": True}, {"label": "Verdict"}], "rows": comparison_rows,
         "empty": "No comparison was recorded."},
        {"kind": "paragraph", "css": "explain", "text":
         "Difference: graph model minus the other model, subject by subject (each subject scored under both models "
         "on the same windows), averaged over subjects; the interval resamples subjects; p comes from swapping the "
         "two models' scores subject by subject at random (sign-flip permutation), Holm-adjusted over the models "
         "compared. Better or worse only when the adjusted p is below 0.05 and the interval excludes 0; otherwise "
         "not distinguishable."
         + (" This run predates paired comparisons in results.json: the review computed them from predictions.csv."
            if computed else "")},
        {"kind": "figures", "items": performance_figures},
    ]

    # differences ---------------------------------------------------------------------------------------------------
    difference_blocks: list[dict] = []
    if tests:
        design = "the same subjects in both conditions" if paired else "two independent groups of subjects"
        difference_blocks += [
            {"kind": "paragraph", "text":
             f"For every pair of electrodes and every band: {ctx.short} of {classes[1]} minus {classes[0]}, the mean "
             f"over each subject's windows, compared across subjects ({design}). Test: {tests.describe()}."},
            {"kind": "paragraph", "css": "note", "text":
             "Maps and matrices show only the pairs that survive the correction, on one colour scale shared by all "
             f"bands: red = higher in {classes[1]}, blue = higher in {classes[0]}. Choose the band in the "
             "contents; the number beside each band is its count of significant pairs."}]
        difference_blocks.insert(0, {"kind": "paragraph", "css": "explain", "text": _MEASURE_EXPLAINED.get(
            ctx.method, f"{ctx.short}: a measure of how strongly two electrodes' signals go together.")})
        difference_blocks.append({"kind": "paragraph", "css": "note", "text": connectivity_line})
        panels = {}
        for band in bands:
            entry = differences[band]
            note = (f"{entry['n_significant']} of {tests.n_pairs} electrode pairs differ." if entry["n_significant"]
                    else f"No electrode pair survives the correction in {band}: the map is empty on purpose."
                    if detect.lone_difference_testable else
                    f"No electrode pair survives the correction in {band}; with {detect.sizes_text()} a lone pair "
                    "could not have (see above): the empty map is not evidence of no difference.")
            panel = [{"kind": "heading", "text": f"{ctx.band_text(band)}"}, {"kind": "paragraph", "css": "note",
                                                                             "text": note}]
            if entry["view"]:
                panel.append({"kind": "links", "items": [{"file": entry["view"], "description":
                                                          "the same pairs in 3-D (opens in the browser, offline)"}]})
            panel.append({"kind": "figures", "items": [
                {"path": entry["map"], "caption": f"{band}: the significant pairs on the head seen from above (nose "
                                                  "up, left on the left)"},
                {"path": entry["matrix"], "caption": f"{band}: the same pairs as a matrix; grey: not significant"}]})
            panels[band] = panel
        difference_blocks.append({"kind": "bands", "panels": panels})
        edges = significant_edges(tests, names)
        effect = "d_z" if paired else "g"
        edge_rows = [[edge["band"], {"text": f"{edge['node_a']}–{edge['node_b']}", "nowrap": True},
                      _number_cell(f"{edge['mean_0']:.3f}", edge["mean_0"]),
                      _number_cell(f"{edge['mean_1']:.3f}", edge["mean_1"]),
                      _number_cell(format_signed_ci(edge["difference"], edge["difference_ci"], 3), edge["difference"]),
                      _number_cell(format_signed_ci(edge["effect_size"], edge["effect_ci"]), edge["effect_size"]),
                      _number_cell(format_p(edge["p_value"]), edge["p_value"]),
                      _number_cell(format_p(edge["p_fdr"]), edge["p_fdr"])] for edge in edges]
        difference_blocks += [
            {"kind": "heading", "text": f"Every significant pair ({len(edges)}, all bands)"},
            {"kind": "table", "sortable": True, "rows": edge_rows, "empty": "No pair survives in any band.",
             "columns": [{"label": "Band"}, {"label": "Pair"}, {"label": f"Mean, {classes[0]}", "numeric": True},
                         {"label": f"Mean, {classes[1]}", "numeric": True},
                         {"label": "Difference [95 % CI]", "numeric": True},
                         {"label": f"Effect size {effect} [95 % CI]", "numeric": True},
                         {"label": "p", "numeric": True}, {"label": "q (FDR)", "numeric": True}]},
            {"kind": "paragraph", "css": "explain", "text":
             f"Click a column title to sort. Means: {ctx.short} averaged over subjects ({ctx.unit}). Difference: "
             f"{classes[1]} minus {classes[0]}. Effect size: {tests.effect_name}, the difference in units of its "
             "spread across subjects " + ("(of the within-subject differences)" if paired else
                                          "(the pooled standard deviation)")
             + "; about 0.2 is small, 0.5 medium, 0.8 large. Intervals: 95 % BCa bootstrap over subjects (the "
             "subjects are resampled many times and the interval corrected for bias and skew: bias-corrected and "
             "accelerated). p: the "
             f"pair's permutation p-value; q: p adjusted for the false discovery rate ({tests.correction_text()}); "
             f"a pair is listed when q < {tests.alpha:g}."}]
    else:
        difference_blocks.append({"kind": "paragraph", "css": "note",
                                  "text": "Not tested: it needs two classes with at least two subjects each."})

    # classes -------------------------------------------------------------------------------------------------------
    class_panels = {}
    for band in bands:
        items = []
        for entry in class_maps["panels"][band]:
            items.append({"path": entry["map"], "caption": f"{entry['class']}, {band}: {entry['n_shown']} pairs at or "
                          f"above {class_maps['threshold'][band]:.2f}"})
        for entry in class_maps["panels"][band]:
            items.append({"path": entry["matrix"], "caption": f"{entry['class']}, {band}: every pair"})
        class_panels[band] = [{"kind": "heading", "text": ctx.band_text(band)}, {"kind": "figures", "items": items}]
    class_blocks = [
        {"kind": "paragraph", "text": f"Mean {ctx.short} over the subjects of each class. Within a band both classes "
         f"share one colour scale and one threshold (the top {100 - 90:g} % of the pairs of both classes together), "
         "so the class with stronger connectivity shows more pairs. Matrices show every pair."},
        {"kind": "bands", "panels": class_panels}]

    # band power ----------------------------------------------------------------------------------------------------
    power_blocks = [
        {"kind": "paragraph", "text": "Relative power per electrode (the share of the power between the lowest and "
         "highest band edges), the mean over subjects; both classes share one scale per band."
         + (" Last row: the difference, with the electrodes circled whose difference survives a permutation test "
            "across subjects (false discovery rate over every electrode and band)." if power_test is not None
            else "")},
        {"kind": "figures", "items": [{"path": power_figure, "caption": "relative band power per class", "wide": True}]}]
    if power_test is not None and power_intervals is not None:
        power_blocks += _band_power_table(ctx, power_test, power_intervals, paired)

    # importance ----------------------------------------------------------------------------------------------------
    order = np.argsort(-node_importance)
    importance_blocks = [
        {"kind": "paragraph", "text":
         f"Gradient × input: how much each pair's edge and each electrode's features changed the model's output, "
         f"averaged over the {n_explained} test windows of all folds (each window explained by the fold model that "
         f"had not seen its subject). It shows what the model used, not what causes the difference. The electrodes "
         f"it relied on most: {', '.join(names[i] for i in order[:4])}."},
        {"kind": "links", "items": [{"file": importance["view"], "description": "the top pairs in 3-D"}]},
        {"kind": "figures", "items": [
            {"path": importance["map"], "caption": "the top 10 % of pairs and every electrode, head seen from above"},
            {"path": importance["bars"], "caption": "electrode importance, largest first"},
            {"path": importance["matrix"], "caption": "edge importance of every pair"}]}]

    if learned:
        moved = ""
        if np.isfinite(learned["correlation"]):
            moved = (f" Over its electrode pairs the mean learned graph correlates r = {learned['correlation']:.2f} "
                     f"with the graph it started from ({wording.GRAPH_TEXT.get(config.graph, config.graph)}"
                     + (f", {config.graph_band} band" if config.graph in wording.MEASURE_SHORT else "")
                     + f"; per fold: {', '.join(f'{r:.2f}' for r in learned['per_fold'].values())}); its weights "
                     f"moved by {100 * learned['change']:.0f} % of the starting graph's mean weight"
                     + (": training kept the starting graph's shape, so the model's graph says little beyond it."
                        if learned["correlation"] >= 0.9 else "."))
        importance_blocks += [
            {"kind": "heading", "text": "The graph the model learned"},
            {"kind": "paragraph", "text": f"The graph model learns its own adjacency in each fold, starting from "
             f"the training data's graph; shown: the mean over the {learned['n_folds']} folds.{moved}"},
            {"kind": "figures", "items": [
                {"path": learned["map"], "caption": "learned adjacency: the strongest pairs, head seen from above"},
                {"path": learned["matrix"], "caption": "learned adjacency, every pair"}]}]

    # quality -------------------------------------------------------------------------------------------------------
    records = ctx.summaries.quality
    ratio = max(windows.values()) / max(1, min(windows.values()))
    rejected = sum(r.n_rejected for r in records)
    subjects = sorted({u.subject for u in units})
    rebuilt: dict[str, list[str]] = {}
    for recording, entry in quality.get("bad_channels", {}).items():
        if entry["action"] == "interpolated":
            subject = next((r.subject for r in records if r.recording == recording), None)
            if subject is not None:
                rebuilt.setdefault(subject, [])
                rebuilt[subject] += [f"{node} ({recording})" for node in entry["channels"]]
    flagged = {subject: sorted({name for r in records if r.subject == subject for name in r.flagged})
               for subject in subjects}
    labels_of = {subject: sorted({u.label for u in units if u.subject == subject}) for subject in subjects}
    subject_table_rows = cohort.subject_rows(
        subjects, labels_of, classes, subject_predictions,
        {subject: sum(u.n_windows for u in units if u.subject == subject) for subject in subjects},
        {subject: sum(r.n_rejected for r in records if r.subject == subject) for subject in subjects},
        rebuilt, flagged)
    left_out: dict[str, int] = {}
    for r in records:
        for channel, reason in r.left_out.items():
            left_out[f"{channel} ({reason})"] = left_out.get(f"{channel} ({reason})", 0) + 1
    rule = wording.preprocessing_steps([config.preprocessing().steps()[-1]])[0]
    quality_blocks = [
        *cohort.data_quality_blocks(quality, n_read, config.bad_channels),
        {"kind": "paragraph", "text": "Windows per class: " + ", ".join(f"{windows[k]} {c}" for k, c in enumerate(classes))
         + (f" (ratio {ratio:.1f} : 1; balanced accuracy weighs the classes equally, plain accuracy would not)."
            if ratio >= 1.5 else ".") + f" Windows rejected by the amplitude rules: {rejected} ({rule.rstrip('.')})."
         + (flagged_line or " No electrode was flagged after preprocessing (amplitude more than 3 times above or "
            "below the recording's median electrode).")},
    ]
    if left_out:
        quality_blocks.append({"kind": "paragraph", "text": "Channels of the files that are not electrodes of the "
                               "montage, left out: " + "; ".join(f"{k}, in {v} recordings"
                                                                 for k, v in sorted(left_out.items())) + "."})
    if dataset.descriptor.get("notes"):
        quality_blocks.append({"kind": "paragraph", "lead": "Dataset notes:",
                               "text": _public(dataset.descriptor["notes"], dataset)})
    quality_blocks += [
        {"kind": "heading", "text": "Power spectra"},
        {"kind": "figures", "items": [{"path": psd, "wide": True, "caption": "power spectrum per class and region; "
                                       "shaded: the frequency bands. Look for line noise (a peak at 50 or 60 Hz), "
                                       "muscle (a rise above 30 Hz, mostly temporal) and eye artefacts (a rise "
                                       "below 4 Hz at the frontal pole)."}]},
    ]
    subject_blocks = [
        {"kind": "paragraph", "text": f"Each subject as the held-out test subject of its fold: the graph model's mean "
         f"probability of {classes[-1]} over the subject's windows and whether its decision was right, the windows "
         "used and rejected, the electrodes rebuilt (with the recording) and those flagged."},
        {"kind": "table", "sortable": True, "rows": subject_table_rows, "columns": cohort.subject_columns(classes[-1])}]

    # cohort, protocol, files, caveats ------------------------------------------------------------------------------
    per_class = dataset.class_counts()
    cohort_rows = [[c, _number_cell(str(per_class.get(c, {}).get("subjects", 0)), None),
                    _number_cell(str(per_class.get(c, {}).get("recordings", 0)), None),
                    _number_cell(str(windows[k]), windows[k])] for k, c in enumerate(classes)]
    cohort_blocks = [
        {"kind": "facts", "items": [
            ["Dataset", _public(dataset.descriptor.get("title", dataset.name), dataset)],
            ["Compared", f"{' vs '.join(classes)} ("
             + ("the same subjects in both conditions: a within-subject contrast" if paired
                else "different subjects in each class") + ")"],
            ["Licence", dataset.descriptor.get("license", "not stated")],
            ["Cite", dataset.descriptor.get("citation", "not stated")]]},
        {"kind": "table", "rows": cohort_rows, "columns": [
            {"label": "Class"}, {"label": "Subjects", "numeric": True}, {"label": "Recordings", "numeric": True},
            {"label": "Windows", "numeric": True}]}]
    bands_text = ", ".join(f"{band} {low:g}–{high:g} Hz" for band, (low, high) in ctx.bands.items())
    graph = wording.GRAPH_TEXT.get(config.graph, config.graph)
    if config.graph in wording.MEASURE_SHORT:
        graph += (f" in the {config.graph_band} band, "
                  + ("per window" if config.graph_scope == "window" else "averaged over each recording"))
    protocol_blocks = [
        {"kind": "facts", "items": [
            ["Validation", validation + "."],
            ["Graph model", f"{wording.MODEL_TEXT.get(config.model, config.model)}; {config.layers} layers of "
             f"{config.hidden} channels" + (f", order K = {config.cheb_k}" if config.model == "cheb" else "")
             + f"; readout: {wording.READOUT_TEXT[getattr(config, 'readout', 'pool')]}"
             + (f"; a learned vector of {config.node_embedding} per electrode"
                if getattr(config, "node_embedding", 0) else "")],
            ["Brain graph", graph],
            ["Electrode features", f"{wording.FEATURE_TEXT.get(config.features, config.features)}, per band"],
            ["Compared with", "; ".join(entry["description"] for entry in entries[1:]) or "no other model"],
            ["Bad electrodes", wording.preprocessing_steps([{"step": "bad_channels",
                                                             "policy": config.bad_channels}])[0]],
            ["Frequency bands", bands_text],
            ["Maps of this review", f"{wording.GRAPH_TEXT.get(ctx.method, ctx.method)}, every band"]]},
        {"kind": "heading", "text": "Preprocessing, in order"},
        {"kind": "list", "ordered": True, "items": wording.preprocessing_steps(config.preprocessing().steps())}]
    groups = {"interactive": "3-D views (open in any browser, offline, with the viewer-*.js and brain-*.js files "
                              "beside them: one copy of the plotting library and brain for all views)",
              "brainnet": "BrainNet Viewer files"}
    files_blocks = [
        {"kind": "paragraph", "text":
         "Written beside this report; open them from the same folder. BrainNet Viewer: a .node file (MNI "
         "positions on the cortex: the published projections of the 10-20 sites, Okamoto et al. 2004, NeuroImage "
         "21:99-111; our projection elsewhere; colour = region, size = the value named in its header) and an .edge "
         "matrix whose header lists its node order. The _significant files hold only the pairs that survive, 0 "
         "elsewhere: open them with the settings of brainnet_options.m, or BrainNet draws every pair in one "
         "colour."}]
    for group, title in groups.items():
        files_blocks += [{"kind": "heading", "text": title},
                         {"kind": "links", "items": [e for e in ctx.exports if e["group"] == group]}]

    sections = [
        {"id": "performance", "title": "Performance", "blocks": performance_blocks},
        {"id": "differences", "title": f"Connectivity: {classes[-1]} vs {classes[0]}", "blocks": difference_blocks},
        {"id": "classes", "title": "Connectivity per class", "blocks": class_blocks},
        {"id": "band-power", "title": "Band power", "blocks": power_blocks},
        {"id": "importance", "title": "What the model relied on", "blocks": importance_blocks},
        {"id": "subjects", "title": "Subjects", "blocks": subject_blocks},
        {"id": "quality", "title": "Data quality", "blocks": quality_blocks},
        {"id": "cohort", "title": "Cohort", "blocks": cohort_blocks},
        {"id": "protocol", "title": "Protocol", "blocks": protocol_blocks},
        {"id": "files", "title": "Files", "blocks": files_blocks},
        {"id": "caveats", "title": "Caveats", "blocks": [{"kind": "list", "items": all_caveats}]},
    ]
    default = max(bands, key=lambda band: (counts.get(band, 0), -bands.index(band)))
    return {
        "title": _public(f"{dataset.descriptor.get('title', dataset.name)}: {' vs '.join(classes)}", dataset),
        "subtitle": f"Review of run {run.path.name}, made {time.strftime('%Y-%m-%d %H:%M')}",
        "verdict": verdict,
        "bands": [{"name": band, "count": counts.get(band) if tests else None} for band in bands],
        "band_title": "Band (significant pairs)" if tests else "Band",
        "default_band": default,
        "sections": sections,
        "footer": footer(run),
    }
