"""What a clinician reviews after a run: connectivity per class and band, their difference tested across subjects,
band power maps, what the model relied on, and the run's performance — as BrainNet files, figures and a report.

Connectivity is averaged over each analysis unit's windows first (a subject, or a subject in one condition), so the
permutation tests run across subjects, never across windows. When every subject has every class (e.g. rest and
task recordings of the same people) the test is paired (sign flips within subjects); otherwise subjects of the two
classes are compared as independent groups.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from eeg_gnn.data.datasets import Dataset, load_dataset
from eeg_gnn.data.extraction import cached_arrays, extract_dataset, recording_payload
from eeg_gnn.evaluation.scoring import MODEL_NAMES, aggregation_level
from eeg_gnn.evaluation.stats import edge_permutation_test
from eeg_gnn.models.attribution import gradient_x_input
from eeg_gnn.pipeline.experiment import build_samples, describe_protocol, window_labels
from eeg_gnn.pipeline.runs import Run, recompute_results
from eeg_gnn.review import export, figures
from eeg_gnn.review.report import render_report
from eeg_gnn.signal.features import band_power
from eeg_gnn.signal.graph import CONNECTIVITY_METHODS, connectivity
from eeg_gnn.signal.preprocessing import preprocess

DEFAULT_CONNECTIVITY = "plv"
TOP_EDGES = 10


@dataclass
class UnitConnectivity:
    """Mean connectivity and band power of one analysis unit (a subject in one class).

    Attributes
    ----------
    subject : str
    label : int
    n_windows : int
    connectivity : ndarray, shape (n_bands, n_nodes, n_nodes)
    relative_power : ndarray, shape (n_nodes, n_bands)
    """

    subject: str
    label: int
    n_windows: int
    connectivity: np.ndarray
    relative_power: np.ndarray


def _review_code_hash() -> str:
    """What the cached review summaries depend on beyond the features: this module and window labelling."""
    import hashlib

    package = Path(__file__).parents[1]
    sources = ("review/build.py", "pipeline/experiment.py")
    return hashlib.sha256(b"".join((package / name).read_bytes() for name in sources)).hexdigest()


def recording_summaries(run: Run, dataset: Dataset, method: str, *, progress: bool = True) -> list[UnitConnectivity]:
    """Per recording and class: mean connectivity in every band and mean relative band power (cached)."""
    config = run.config
    preprocessing = config.preprocessing()
    bands = config.bands
    summaries = []
    for index, recording in enumerate(tqdm(dataset.recordings, desc="connectivity", unit="rec", disable=not progress)):
        def compute(index=index, recording=recording) -> dict[str, np.ndarray]:
            windows = preprocess(recording.read(), preprocessing, dataset.nodes)
            if windows.node_names != run.node_names:
                raise ValueError(f"{recording.path} gives nodes {windows.node_names}, the run was trained on "
                                 f"{run.node_names}.")
            labels = window_labels(dataset, index, windows.onsets, config.window)
            classes = np.unique(labels[labels >= 0])
            n_nodes = len(windows.node_names)
            conn = np.zeros((len(classes), len(bands), n_nodes, n_nodes))
            power = np.zeros((len(classes), n_nodes, len(bands)))
            counts = np.zeros(len(classes), dtype=int)
            relative = band_power(windows.data, windows.sfreq, bands, "relative_power")
            for c, label in enumerate(classes):
                mask = labels == label
                counts[c] = mask.sum()
                power[c] = relative[mask].mean(axis=0)
                for b, (fmin, fmax) in enumerate(bands.values()):
                    conn[c, b] = connectivity(windows.data[mask], windows.sfreq, method, fmin=fmin, fmax=fmax).mean(0)
            return {"labels": classes, "counts": counts, "connectivity": conn, "relative_power": power}

        payload = {**recording_payload(recording, preprocessing, dataset.nodes), "method": method,
                   "bands": {k: list(v) for k, v in bands.items()}, "window": config.window,
                   "intervals": dataset.descriptor.get("intervals"), "label": recording.label,
                   "recording_intervals": [list(i) for i in recording.intervals], "review_code": _review_code_hash()}
        stored, _ = cached_arrays("review", payload, compute, use_cache=config.use_cache)
        for c, label in enumerate(stored["labels"]):
            summaries.append(UnitConnectivity(recording.subject, int(label), int(stored["counts"][c]),
                                              stored["connectivity"][c], stored["relative_power"][c]))
    return summaries


def units_by_subject_and_class(summaries: list[UnitConnectivity]) -> list[UnitConnectivity]:
    """Merge recordings of the same subject and class, weighting by their windows."""
    merged: dict[tuple[str, int], list[UnitConnectivity]] = {}
    for summary in summaries:
        merged.setdefault((summary.subject, summary.label), []).append(summary)
    units = []
    for (subject, label), parts in sorted(merged.items()):
        weights = np.array([p.n_windows for p in parts], dtype=float)
        units.append(UnitConnectivity(
            subject, label, int(weights.sum()),
            np.average([p.connectivity for p in parts], axis=0, weights=weights),
            np.average([p.relative_power for p in parts], axis=0, weights=weights),
        ))
    return units


def group_difference(units: list[UnitConnectivity], band_index: int, *, n_permutations: int, seed: int):
    """Permutation test of class 1 minus class 0 connectivity in one band, paired when subjects have both."""
    by_label = {label: {u.subject: u for u in units if u.label == label} for label in (0, 1)}
    shared = sorted(set(by_label[0]) & set(by_label[1]))
    paired = len(shared) >= 2 and len(shared) == len(by_label[0]) == len(by_label[1])
    if paired:
        group_a = np.array([by_label[1][s].connectivity[band_index] for s in shared])
        group_b = np.array([by_label[0][s].connectivity[band_index] for s in shared])
    else:
        group_a = np.array([u.connectivity[band_index] for u in by_label[1].values()])
        group_b = np.array([u.connectivity[band_index] for u in by_label[0].values()])
    if len(group_a) < 2 or len(group_b) < 2:
        return None
    symmetric = lambda m: (m + np.swapaxes(m, 1, 2)) / 2  # noqa: E731
    return edge_permutation_test(symmetric(group_a), symmetric(group_b), n_permutations=n_permutations,
                                 seed=seed, paired=paired)


def model_importance(run: Run, dataset: Dataset, *, progress: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """Gradient x input of each fold's model on its own test windows, averaged over all test windows.

    Returns
    -------
    edge_importance : ndarray, shape (n_nodes, n_nodes)
    node_importance : ndarray, shape (n_nodes,)
    n_windows : int
    """
    config = run.config
    extracted, _ = extract_dataset(dataset, config.preprocessing(), config.feature_spec(), use_cache=config.use_cache,
                                   progress=progress)
    samples = build_samples(config, dataset, extracted)
    n_nodes = len(samples.node_names)
    edge_total, node_total, total = np.zeros((n_nodes, n_nodes)), np.zeros(n_nodes), 0
    for fold, roles in sorted(run.roles.items()):
        test_groups = [g for g, role in roles.items() if role == "test"]
        mask = np.isin(samples.groups, test_groups)
        if not mask.any():
            continue
        models = run.load_fold(fold)
        features = models.standardise(samples.features[mask])
        adjacency = samples.adjacency if samples.adjacency.ndim == 2 else samples.adjacency[mask]
        edges, nodes = gradient_x_input(models.model, features, adjacency, samples.labels[mask])
        count = int(mask.sum())
        edge_total += edges * count
        node_total += nodes * count
        total += count
    return edge_total / total, node_total / total, total


def _performance_rows(run: Run, recomputed: dict) -> list[dict]:
    level = aggregation_level(run.results["label_level"])
    names = {"model": f"{run.config.model.upper()} ({run.config.graph} graph)", "baseline": "Logistic regression"}
    rows = []
    for name in MODEL_NAMES:
        for lvl in ("window", level):
            summary = recomputed[name].get(lvl)
            if summary is None:
                continue
            row = {"model": names[name], "level": lvl, "n": summary["n"]}
            for metric in ("balanced_accuracy", "roc_auc", "sensitivity", "specificity"):
                row[metric] = summary.get(metric)
                row[f"{metric}_ci"] = summary.get("ci95", {}).get(metric)
            rows.append(row)
    return rows


def _edge_rows(result, node_names: list[str]) -> list[dict]:
    rows = []
    for edge in result.top_edges(node_names, k=TOP_EDGES):
        # the test's group A is class 1; the report's mean_a column is the first class (class 0)
        rows.append({"node_a": edge["node_i"], "node_b": edge["node_j"], "mean_a": edge["mean_b"],
                     "mean_b": edge["mean_a"], "difference": edge["difference"],
                     "effect_size": edge["effect_size"], "p_value": edge["p_value"], "p_fdr": edge["p_fdr"]})
    return rows


def check_same_recordings(run: Run, dataset: Dataset) -> None:
    """Refuse to review a run against recordings other than those it was trained on."""
    def key(recording_id, subject, label, intervals) -> tuple:
        return recording_id, subject, label, tuple(tuple(i) for i in intervals)

    trained = {key(r["id"], r["subject"], r["label"], r.get("intervals", [])) for r in run.saved["dataset"]["recordings"]}
    found = {key(r.recording_id, r.subject, r.label, r.intervals) for r in dataset.recordings}
    if trained != found:
        missing, extra = sorted(trained - found), sorted(found - trained)
        raise ValueError(
            f"The recordings in {dataset.root} are not those the run in {run.path} was trained on "
            f"({len(missing)} missing, e.g. {[m[0] for m in missing[:3]]}; {len(extra)} new, e.g. "
            f"{[e[0] for e in extra[:3]]}). Point EEG_GNN_DATA or the run's data_dir at the training data; to "
            "predict new recordings use --data-dir."
        )


def build_review(run: Run, *, connectivity_method: str | None = None, n_permutations: int = 5000,
                 overwrite: bool = False, progress: bool = True) -> Path:
    """Write ``RUN_DIR/review/``: BrainNet files, figures, interactive connectomes and ``report.html``.

    The review is built in a temporary sibling folder and moved into place at the end; an existing review is
    replaced only with ``overwrite=True``.
    """
    target = run.path / "review"
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists already; pass --overwrite to replace it, or move it away.")
    recomputed = recompute_results(run)
    config = run.config
    method = connectivity_method or (config.graph if config.graph in CONNECTIVITY_METHODS else DEFAULT_CONNECTIVITY)
    dataset = load_dataset(config.dataset, config.data_dir, read_kwargs=config.read_kwargs())
    check_same_recordings(run, dataset)
    classes, node_names, band_names = run.classes, run.node_names, list(config.bands)
    work = run.path / f"review.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "figures").mkdir(parents=True)
    try:
        units = units_by_subject_and_class(recording_summaries(run, dataset, method, progress=progress))
        figure_list, exports, band_sections = [], [], []
        class_power = {}
        for label, name in enumerate(classes):
            members = [u for u in units if u.label == label]
            if members:
                class_power[name] = np.mean([u.relative_power for u in members], axis=0)
        for b, band in enumerate(band_names):
            means = {}
            for label, name in enumerate(classes):
                members = [u for u in units if u.label == label]
                if not members:
                    continue
                means[name] = np.mean([u.connectivity[b] for u in members], axis=0)
                np.fill_diagonal(means[name], 0.0)
                header = (f"{method} in {band} ({config.bands[band][0]:g}-{config.bands[band][1]:g} Hz), mean of "
                          f"{len(members)} subjects of class {name}; node size = relative {band} power")
                for path in export.write_pair(work / "brainnet", f"{band}_{name}", means[name], node_names,
                                              node_values=class_power[name][:, b], header=header):
                    exports.append({"file": str(path.relative_to(work)), "description": header})
                figure_list.append({"section": "connectivity", "caption": f"{method}, {band}, {name}",
                                    "path": figures.connectome_png(
                                        means[name], node_names, work / "figures" / f"{band}_{name}.png",
                                        title=f"{method} {band}: {name}", node_values=class_power[name][:, b])})
            result = (group_difference(units, b, n_permutations=n_permutations, seed=config.seed)
                      if len(classes) == 2 else None)
            if result is None:
                band_sections.append({"band": band, "describe": "not tested: needs two classes with at least two "
                                      "subjects each", "top_edges": []})
                continue
            difference = result.difference.copy()
            np.fill_diagonal(difference, 0.0)
            significant = np.where(result.significant, difference, 0.0)
            power_difference = np.abs(class_power[classes[1]][:, b] - class_power[classes[0]][:, b])
            header = (f"{method} in {band}: {classes[1]} minus {classes[0]}. {result.describe()}")
            for stem, matrix, note in ((f"{band}_difference", difference, "all edges"),
                                       (f"{band}_difference_fdr", significant, "edges with FDR-corrected p < "
                                        f"{result.alpha:g} only")):
                for path in export.write_pair(work / "brainnet", stem, matrix, node_names,
                                              node_values=power_difference, header=f"{header} ({note}); node size "
                                              f"= |difference of relative {band} power|"):
                    exports.append({"file": str(path.relative_to(work)), "description": f"{header} ({note})"})
            figure_list.append({"section": "connectivity", "caption": f"{band}: {classes[1]} minus {classes[0]} "
                                f"({result.describe()})",
                                "path": figures.connectome_png(difference, node_names,
                                                               work / "figures" / f"{band}_difference.png",
                                                               title=f"{band}: {classes[1]} - {classes[0]}",
                                                               signed=True)})
            html = figures.connectome_html(difference, node_names, work / "interactive" / f"{band}_difference.html",
                                           title=f"{method} {band}: {classes[1]} - {classes[0]}", signed=True)
            exports.append({"file": str(html.relative_to(work)), "description": f"interactive 3-D view, {band}"})
            band_sections.append({"band": band, "describe": result.describe(), "top_edges": _edge_rows(result, node_names)})

        if len(class_power) == 2:
            difference_power = class_power[classes[1]] - class_power[classes[0]]
        else:
            difference_power = None
        figure_list.append({"section": "band_power", "caption": "relative band power per class" +
                            (f" and {classes[1]} minus {classes[0]}" if difference_power is not None else ""),
                            "path": figures.topomap_grid_png(class_power, band_names, node_names,
                                                             work / "figures" / "band_power.png",
                                                             title="relative band power", difference=difference_power)})
        for name in MODEL_NAMES:
            figure_list.append({"section": "performance", "caption": f"confusion matrix, {name}, windows",
                                "path": figures.confusion_png(recomputed[name]["window"]["confusion_matrix"], classes,
                                                              work / "figures" / f"confusion_{name}.png",
                                                              title=f"{name} (windows)")})
        figure_list.append({"section": "performance", "caption": "ROC curves, windows",
                            "path": figures.roc_png(run.predictions.labels, run.predictions.proba, classes,
                                                    work / "figures" / "roc.png", title="ROC (windows)")})

        edge_importance, node_importance, n_explained = model_importance(run, dataset, progress=progress)
        figure_list.append({"section": "importance", "caption": "gradient x input on edges and nodes, averaged over "
                            f"{n_explained} test windows of all folds",
                            "path": figures.connectome_png(edge_importance, node_names,
                                                           work / "figures" / "model_importance.png",
                                                           title="model importance", node_values=node_importance)})
        for path in export.write_pair(work / "brainnet", "model_importance", edge_importance, node_names,
                                      node_values=node_importance,
                                      header="model importance: mean |gradient x input| over test windows"):
            exports.append({"file": str(path.relative_to(work)), "description": "model importance (edges, nodes)"})
        order = np.dstack(np.unravel_index(np.argsort(-np.triu(edge_importance, 1), axis=None), edge_importance.shape))[0]
        importance = {
            "method": "gradient x input on edge weights and node features (|d logit / d input x input|), mean over "
                      "each fold's test windows, true class",
            "top_edges": [{"node_a": node_names[i], "node_b": node_names[j], "importance": float(edge_importance[i, j])}
                          for i, j in order[:TOP_EDGES]],
            "top_nodes": [{"node": node_names[i], "importance": float(node_importance[i])}
                          for i in np.argsort(-node_importance)[:TOP_EDGES]],
        }
        review = _review_dict(run, dataset, recomputed, method, band_sections, importance, exports, units)
        render_report(review, figure_list, work / "report.html")
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def _review_dict(run, dataset, recomputed, method, band_sections, importance, exports, units) -> dict:
    results, config = run.results, run.config
    per_class = {name: dataset.class_counts().get(name, {"subjects": 0, "recordings": 0}) for name in run.classes}
    cv, protocol_caveat = describe_protocol(config.cv, results["n_folds"])
    if protocol_caveat is None:
        cv += (": every subject's windows are tested by a model that never saw that subject"
               + ("; early stopping used validation subjects from the training side only" if config.val_fraction else ""))
    n_subjects = results["n_subjects"]
    caveats = [
        f"{n_subjects} subjects: the 95 % intervals are wide, and a difference between models smaller than them is "
        "not evidence that one is better.",
        "Group differences are associations in this cohort, tested across subjects with FDR control; they are not "
        "diagnostic markers and were not validated on an independent cohort.",
        f"Connectivity is {method} of scalp signals, affected by volume conduction and the reference "
        f"({config.reference}); it is not connectivity between brain regions.",
        "Model importance shows what the trained models used on the test windows, not what causes the condition.",
    ]
    if dataset.label_level == "recording":
        caveats.append("Labels belong to recordings of the same subjects (e.g. rest vs task), so the model contrasts "
                       "conditions, not people.")
    if protocol_caveat:
        caveats.insert(0, protocol_caveat[0].upper() + protocol_caveat[1:] + ".")
    if dataset.descriptor.get("access") == "local":
        caveats.append("This dataset may not be redistributed: keep the review internal.")
    return {
        "title": f"{dataset.descriptor.get('title', dataset.name)}: {' vs '.join(run.classes)}",
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "run_dir": str(run.path),
        "cohort": {"dataset": dataset.name, "task": config.task, "classes": run.classes,
                   "label_level": dataset.label_level, "n_subjects": n_subjects,
                   "n_recordings": results["n_recordings"], "n_windows": results["n_windows"], "per_class": per_class,
                   "license": dataset.descriptor.get("license", ""), "citation": dataset.descriptor.get("citation", "")},
        "protocol": {"cv": cv, "n_folds": results["n_folds"], "model": config.model, "graph": config.graph,
                     "features": config.features, "bands": {k: list(v) for k, v in config.bands.items()},
                     "window_s": config.window, "preprocessing_steps": config.preprocessing().steps()},
        "performance": {"level": aggregation_level(results["label_level"]),
                        "rows": _performance_rows(run, recomputed)},
        "connectivity": {"method": method, "test_description": band_sections[0]["describe"].split(":")[0] + ", per band"
                         if band_sections else "",
                         "bands": band_sections},
        "importance": importance,
        "exports": exports,
        "caveats": caveats,
    }
