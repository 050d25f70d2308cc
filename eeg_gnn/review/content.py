"""The words of the review: the verdict, each section's explanations, tables and caveats, as the blocks that
:func:`eeg_gnn.review.report.render_report` lays out.

Nothing here computes a statistic; it says in plain words what :mod:`eeg_gnn.review.build` computed, naming each
test, effect size and correction, and never showing a local path or an internal setting name.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from eeg_gnn.data.confounds import confound_caveat
from eeg_gnn.pipeline.experiment import describe_protocol
from eeg_gnn.review import wording
from eeg_gnn.review.report import format_ci, format_p, format_signed_ci
from eeg_gnn.review.statistics import significant_edges
from eeg_gnn.signal import montage

__all__ = ["caveats", "compose"]


def _number_cell(text: str, value: float | None) -> dict:
    return {"text": text, "value": value, "numeric": True}


def _metric_cell(metrics: dict, name: str) -> dict:
    value = metrics.get(name)
    return _number_cell(format_ci(value, metrics.get("ci95", {}).get(name)), value)


def _comparison_text(row: dict, ours: dict, theirs: dict, level: str) -> str:
    metric = wording.METRIC_TEXT[row["metric"]]
    adjusted = f", Holm-adjusted p = {format_p(row['p_holm'])}" if "p_holm" in row else ""
    return (f"{metric} {wording.LEVEL_TEXT[level]} {format_ci(ours.get(row['metric']), ours['ci95'].get(row['metric']))}"
            f" vs {format_ci(theirs.get(row['metric']), theirs['ci95'].get(row['metric']))}; paired difference "
            f"{format_signed_ci(row['mean_difference'], row['ci95'])}, p = {format_p(row['p_value'])}{adjusted}, "
            f"{row['n_subjects']} subjects.")


def _verdict_phrase(verdict: str) -> str:
    return {"better": "better than", "worse": "worse than"}.get(verdict, "not distinguishable from")


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
        found.append(f"The model relied most on {' and '.join(top)}. " + "; ".join(exposed).capitalize()
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
            performance_figures: list[dict], psd) -> dict[str, Any]:
    """The ``review`` dictionary of :func:`~eeg_gnn.review.report.render_report`."""
    run, dataset, config = ctx.run, ctx.dataset, ctx.run.config
    classes, names, bands = ctx.classes, ctx.names, list(ctx.bands)
    units = ctx.summaries.units
    paired = bool(tests and tests.paired)
    edge_importance, node_importance, n_explained = importance_values
    primary = entries[0]
    windows = {k: sum(u.n_windows for u in units if u.label == k) for k in range(len(classes))}
    counts = {band.band: band.n_significant for band in tests.bands} if tests else {}
    all_caveats = caveats(ctx, tests=tests, comparisons=comparisons, node_importance=node_importance, level=level)
    cv_name, protocol_caveat = describe_protocol(config.cv, run.results["n_folds"])
    validation = wording.cv_text(config.cv, run.results["n_folds"], cv_name) + (
        ": every score comes from subjects the model never saw in training" if protocol_caveat is None
        else f": {protocol_caveat}")

    # verdict ------------------------------------------------------------------------------------------------------
    by_name = {entry["name"]: entry for entry in entries}
    main = [row for row in comparisons if row["metric"] == "balanced_accuracy"]
    items = []
    for row in comparisons:
        other = by_name.get(row["against"])
        ours = primary["levels"].get(row["level"], {})
        theirs = other["levels"].get(row["level"], {}) if other else {}
        if row["metric"] == "balanced_accuracy" and ours and theirs:
            items.append({"title": f"against {row['against_description']}", "verdict": row["verdict"],
                          "text": _comparison_text(row, ours, theirs, row["level"])})
    if main:
        phrases = {}
        for row in main:
            phrases.setdefault(_verdict_phrase(row["verdict"]), []).append(row["against_description"])
        headline = (f"The graph model ({primary['description']}) is "
                    + "; ".join(f"{phrase} {' and '.join(others)}" for phrase, others in phrases.items()) + ".")
    else:
        headline = f"The graph model ({primary['description']}) was not compared with another model."
    cohort_line = (f"{run.results['n_subjects']} subjects" + (", each recorded in both conditions" if paired else "")
                   + f"; {run.results['n_recordings']} recordings; {run.results['n_windows']} windows of "
                   f"{config.window:g} s (" + ", ".join(f"{windows[k]} {c}" for k, c in enumerate(classes)) + ").")
    if tests:
        found = [f"{band} ({counts[band]} pairs)" for band in bands if counts[band]]
        empty = [band for band in bands if not counts[band]]
        connectivity_line = (f"{ctx.short} differs between {classes[1]} and {classes[0]} in "
                             + (", ".join(found) if found else "no band")
                             + (f"; no pair survives in {', '.join(empty)}" if empty and found else "")
                             + f" ({tests.correction_text()}, q < {tests.alpha:g}).")
    else:
        connectivity_line = "Not tested: it needs two classes with at least two subjects each."
    verdict = {"headline": headline, "items": items,
               "facts": [["Cohort", cohort_line], ["Protocol", validation + "."], ["Connectivity", connectivity_line]],
               "caveats": all_caveats[:3]}

    # performance ---------------------------------------------------------------------------------------------------
    rows = []
    for entry in entries:
        for lvl in dict.fromkeys(("window", level)):
            metrics = entry["levels"].get(lvl)
            if metrics:
                rows.append([entry["description"], wording.KIND_TEXT.get(entry["kind"], entry["kind"]),
                             wording.LEVEL_TEXT[lvl], _metric_cell(metrics, "balanced_accuracy"),
                             _metric_cell(metrics, "roc_auc"), _metric_cell(metrics, "sensitivity"),
                             _metric_cell(metrics, "specificity"), _number_cell(str(metrics.get("n")), metrics.get("n"))])
    comparison_rows = [[row["against_description"], wording.METRIC_TEXT[row["metric"]],
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
        if tests.smallest_q() >= tests.alpha:
            difference_blocks.append({"kind": "paragraph", "css": "note", "text":
                                      f"With {tests.n_permutations} permutations a pair reaches q < {tests.alpha:g} "
                                      "only together with many others: a lone difference cannot be found. Rerun "
                                      "without --permutations (the default is enough)."})
        panels = {}
        for band in bands:
            entry = differences[band]
            note = (f"{entry['n_significant']} of {tests.n_pairs} electrode pairs differ." if entry["n_significant"]
                    else f"No electrode pair survives the correction in {band}: the map is empty on purpose.")
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
             + "; about 0.2 is small, 0.5 medium, 0.8 large. Intervals: 95 % BCa bootstrap over subjects. p: the "
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

    # quality -------------------------------------------------------------------------------------------------------
    quality = ctx.summaries.quality
    ratio = max(windows.values()) / max(1, min(windows.values()))
    rejected = sum(r.n_rejected for r in quality)
    subjects = sorted({u.subject for u in units})
    quality_rows = []
    for subject in subjects:
        row = [subject]
        for k in range(len(classes)):
            n = sum(u.n_windows for u in units if u.subject == subject and u.label == k)
            row.append(_number_cell(str(n), n))
        n_rejected = sum(r.n_rejected for r in quality if r.subject == subject)
        flagged = sorted({name for r in quality if r.subject == subject for name in r.flagged})
        row += [_number_cell(str(n_rejected), n_rejected), ", ".join(flagged) or "none"]
        quality_rows.append(row)
    left_out: dict[str, int] = {}
    for r in quality:
        for channel, reason in r.left_out.items():
            left_out[f"{channel} ({reason})"] = left_out.get(f"{channel} ({reason})", 0) + 1
    rule = wording.preprocessing_steps([config.preprocessing().steps()[-1]])[0]
    quality_blocks = [
        {"kind": "paragraph", "text": "Windows per class: " + ", ".join(f"{windows[k]} {c}" for k, c in enumerate(classes))
         + (f" (ratio {ratio:.1f} : 1; balanced accuracy weighs the classes equally, plain accuracy would not)."
            if ratio >= 1.5 else ".") + f" Windows rejected by the amplitude rules: {rejected} ({rule.rstrip('.')})."},
        {"kind": "paragraph", "text": "No electrode was interpolated or removed: the pipeline does neither (a recording "
         "with a flat electrode is refused). Electrodes are flagged when their amplitude (median standard deviation "
         f"over windows) is more than {3:g} times above or below the recording's median electrode; flagged electrodes "
         "are still used."},
    ]
    if left_out:
        quality_blocks.append({"kind": "paragraph", "text": "Channels of the files that are not electrodes of the "
                               "montage, left out: " + "; ".join(f"{k}, in {v} recordings"
                                                                 for k, v in sorted(left_out.items())) + "."})
    if dataset.descriptor.get("notes"):
        quality_blocks.append({"kind": "paragraph", "lead": "Dataset notes:",
                               "text": _public(dataset.descriptor["notes"], dataset)})
    quality_blocks += [
        {"kind": "heading", "text": "Windows per subject and class"},
        {"kind": "table", "sortable": True, "rows": quality_rows, "columns": [
            {"label": "Subject"}, *[{"label": f"Windows, {c}", "numeric": True} for c in classes],
            {"label": "Rejected windows", "numeric": True}, {"label": "Flagged electrodes"}]},
        {"kind": "heading", "text": "Power spectra"},
        {"kind": "figures", "items": [{"path": psd, "wide": True, "caption": "power spectrum per class and region; "
                                       "shaded: the frequency bands. Look for line noise (a peak at 50 or 60 Hz), "
                                       "muscle (a rise above 30 Hz, mostly temporal) and eye artefacts (a rise "
                                       "below 4 Hz at the frontal pole)."}]},
    ]

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
            ["Frequency bands", bands_text],
            ["Maps of this review", f"{wording.GRAPH_TEXT.get(ctx.method, ctx.method)}, every band"]]},
        {"kind": "heading", "text": "Preprocessing, in order"},
        {"kind": "list", "ordered": True, "items": wording.preprocessing_steps(config.preprocessing().steps())}]
    groups = {"interactive": "3-D views (open in any browser, offline)", "brainnet": "BrainNet Viewer files"}
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
    }
