"""What a clinician reviews after a run, built into ``RUN_DIR/review/``: the verdict, connectivity differences that
survive the correction, connectivity per class, band power, what the model relied on and the data quality, as one
report, BrainNet Viewer files and interactive 3-D views.

Connectivity, band power and spectra are averaged over each subject's windows of a class first, so the tests run
across subjects, never across windows. When every subject has every class (rest and task recordings of the same
people) the comparison is within subjects (sign flips, d_z); otherwise the classes are independent groups
(label permutation, Hedges' g). Which pairs survive is decided once (:mod:`eeg_gnn.review.statistics`) and every
view draws the same pairs: the head maps, the matrices, the 3-D views and the ``_significant`` BrainNet files.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import welch
from tqdm.auto import tqdm

from eeg_gnn.data.datasets import Dataset, load_dataset
from eeg_gnn.data.extraction import cached_arrays, extract_dataset, recording_payload
from eeg_gnn.evaluation.scoring import aggregation_level
from eeg_gnn.models.attribution import gradient_x_input
from eeg_gnn.models.graph_tangent import graph_tangent_input, linear_importance
from eeg_gnn.pipeline.experiment import build_samples, window_labels
from eeg_gnn.pipeline.folds import PRIMARY, manifest_path
from eeg_gnn.pipeline.runs import Run, recompute_results
from eeg_gnn.pipeline.selection import samples_key
from eeg_gnn.review import export, figures, maps, performance, wording
from eeg_gnn.review.imagery import imagery_section
from eeg_gnn.review.maps import Scale
from eeg_gnn.review.report import render_report
from eeg_gnn.review.settings import ReviewSettings
from eeg_gnn.review.statistics import (
    band_power_intervals,
    compare_band_power,
    compare_bands,
)
from eeg_gnn.signal.features import band_power
from eeg_gnn.signal.graph import CONNECTIVITY_METHODS, connectivity
from eeg_gnn.signal.preprocessing import preprocess

__all__ = ["build_review", "by_class", "check_same_recordings", "model_importance",
           "summarise_recordings"]

DEFAULT_CONNECTIVITY = "plv"
#: Class maps draw the pairs at or above this percentile of both classes' pairs in the band (one threshold per band).
CLASS_MAP_PERCENTILE = 90.0
#: The importance map draws the pairs at or above this percentile of the edge importances.
IMPORTANCE_PERCENTILE = 90.0
PSD_SEGMENT_S = 2.0
#: An electrode is flagged when its amplitude (median standard deviation over windows) is this many times above,
#: or below 1/this, the recording's median electrode.
AMPLITUDE_FLAG_RATIO = 3.0
#: Regions whose electrodes pick up artefacts: eye movements and blinks (frontal pole), jaw and scalp muscle.
ARTEFACT_REGIONS = {"prefrontal": "eye movements and blinks", "temporal": "jaw and temporal muscle"}


# --------------------------------------------------------------------------------------------- summaries


@dataclass
class Unit:
    """One subject in one class: means over that subject's windows of the class.

    Attributes
    ----------
    subject : str
    label : int
    n_windows : int
    connectivity : ndarray, shape (n_bands, n_nodes, n_nodes)
    relative_power : ndarray, shape (n_nodes, n_bands)
    psd : ndarray, shape (n_nodes, n_freqs)
        Power spectral density, V²/Hz.
    """

    subject: str
    label: int
    n_windows: int
    connectivity: np.ndarray
    relative_power: np.ndarray
    psd: np.ndarray


@dataclass
class RecordingQuality:
    """What preprocessing found in one recording.

    Attributes
    ----------
    recording, subject : str
    windows : dict of int to int
        Windows kept per class index.
    n_rejected : int
        Windows dropped by the amplitude rules.
    flagged : list of str
        Electrodes whose amplitude is far from the recording's other electrodes (:data:`AMPLITUDE_FLAG_RATIO`).
    left_out : dict of str to str
        Channels of the file that are not electrodes of the montage, with the reason.
    sfreq : float
        The sampling rate of the file, in Hz (before any resampling).
    """

    recording: str
    subject: str
    windows: dict[int, int]
    n_rejected: int
    flagged: list[str]
    left_out: dict[str, str] = field(default_factory=dict)
    sfreq: float = float("nan")


@dataclass
class Summaries:
    """Every subject-and-class mean, every recording's quality, and the frequencies of the spectra."""

    units: list[Unit]
    quality: list[RecordingQuality]
    freqs: np.ndarray


def _review_code_hash() -> str:
    """What the cached summaries depend on beyond the features: the code that computes them and labels windows
    (their source, so that editing the rest of the review keeps the cache)."""
    sources = [inspect.getsource(function) for function in (summarise_recordings, window_labels)]
    sources.append(repr(PSD_SEGMENT_S))
    return hashlib.sha256("".join(sources).encode()).hexdigest()


def summarise_recordings(run: Run, dataset: Dataset, method: str, *, progress: bool = True) -> Summaries:
    """Per recording and class: mean connectivity per band, relative band power and spectrum; per recording:
    windows, rejections, flagged electrodes (cached like the features). Recordings of one subject and class are
    merged, weighted by their windows."""
    config = run.config
    preprocessing = config.preprocessing()
    bands = config.bands
    parts, quality, freqs = [], [], np.zeros(0)
    for index, recording in enumerate(tqdm(dataset.recordings, desc="review", unit="rec", disable=not progress)):
        def compute(index=index, recording=recording) -> dict[str, np.ndarray]:
            raw = recording.read()
            windows = preprocess(raw, preprocessing, dataset.nodes)
            if windows.node_names != run.node_names:
                raise ValueError(f"{recording.path} gives nodes {windows.node_names}, the run was trained on "
                                 f"{run.node_names}.")
            labels = window_labels(dataset, index, windows.onsets, config.window, config.epoch)
            classes = np.unique(labels[labels >= 0])
            n_nodes = len(windows.node_names)
            relative = band_power(windows.data, windows.sfreq, bands, "relative_power")
            f, spectra = welch(windows.data, fs=windows.sfreq, nperseg=int(PSD_SEGMENT_S * windows.sfreq), axis=-1)
            conn = np.zeros((len(classes), len(bands), n_nodes, n_nodes))
            power = np.zeros((len(classes), n_nodes, len(bands)))
            psd = np.zeros((len(classes), n_nodes, len(f)))
            counts = np.zeros(len(classes), dtype=int)
            for c, label in enumerate(classes):
                mask = labels == label
                counts[c] = mask.sum()
                power[c] = relative[mask].mean(axis=0)
                psd[c] = spectra[mask].mean(axis=0)
                for b, (fmin, fmax) in enumerate(bands.values()):
                    conn[c, b] = connectivity(windows.data[mask], windows.sfreq, method, fmin=fmin, fmax=fmax).mean(0)
            amplitude = np.median(windows.data.std(axis=2), axis=0) if windows.n_windows else np.zeros(n_nodes)
            left_out = np.array([f"{name}\t{reason}" for name, reason in windows.match.dropped.items()], dtype=str)
            return {"labels": classes, "counts": counts, "connectivity": conn, "relative_power": power, "psd": psd,
                    "freqs": f, "n_rejected": np.array(windows.n_rejected), "amplitude": amplitude,
                    "left_out": left_out, "sfreq": np.array(raw.info["sfreq"])}

        payload = {**recording_payload(recording, preprocessing, dataset.nodes), "method": method,
                   "bands": {k: list(v) for k, v in bands.items()}, "window": config.window,
                   "intervals": dataset.descriptor.get("intervals"), "label": recording.label,
                   "recording_intervals": [list(i) for i in recording.intervals], "review_code": _review_code_hash()}
        stored, _ = cached_arrays("review", payload, compute, use_cache=config.use_cache)
        freqs = stored["freqs"]
        for c, label in enumerate(stored["labels"]):
            parts.append((recording.subject, int(label), int(stored["counts"][c]), stored["connectivity"][c],
                          stored["relative_power"][c], stored["psd"][c]))
        amplitude = stored["amplitude"]
        median = float(np.median(amplitude))
        far = (amplitude > AMPLITUDE_FLAG_RATIO * median) | (amplitude < median / AMPLITUDE_FLAG_RATIO)
        quality.append(RecordingQuality(
            recording.recording_id, recording.subject,
            {int(label): int(count) for label, count in zip(stored["labels"], stored["counts"], strict=True)},
            int(stored["n_rejected"]), [run.node_names[i] for i in np.flatnonzero(far)],
            dict(line.split("\t", 1) for line in stored["left_out"].tolist()), float(stored["sfreq"])))
    merged: dict[tuple[str, int], list] = {}
    for part in parts:
        merged.setdefault(part[:2], []).append(part)
    units = []
    for (subject, label), group in sorted(merged.items()):
        weights = np.array([g[2] for g in group], dtype=float)
        units.append(Unit(subject, label, int(weights.sum()),
                          *(np.average([g[k] for g in group], axis=0, weights=weights) for k in (3, 4, 5))))
    return Summaries(units, quality, freqs)


def by_class(units: list[Unit], attribute: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """``attribute`` of class-1 and class-0 subjects, paired (the same subjects in the same order) when every
    subject has both classes.

    Returns
    -------
    class_1, class_0 : ndarray, shape (n_subjects, ...)
    paired : bool
    """
    members = {label: {u.subject: u for u in units if u.label == label} for label in (0, 1)}
    shared = sorted(set(members[0]) & set(members[1]))
    paired = len(shared) >= 2 and len(shared) == len(members[0]) == len(members[1])
    if paired:
        return (np.array([getattr(members[1][s], attribute) for s in shared]),
                np.array([getattr(members[0][s], attribute) for s in shared]), True)
    return (np.array([getattr(u, attribute) for u in members[1].values()]),
            np.array([getattr(u, attribute) for u in members[0].values()]), False)


def model_importance(run: Run, dataset: Dataset, *, progress: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """Gradient x input of each fold's model on its own test windows, averaged over all test windows (for a linear
    ``tangent_graph`` model, |coefficient x standardised input|: :func:`eeg_gnn.models.graph_tangent.linear_importance`).

    Returns
    -------
    edge_importance : ndarray, shape (n_nodes, n_nodes)
    node_importance : ndarray, shape (n_nodes,)
    n_windows : int
    """
    by_settings: dict[str, object] = {}

    def samples_of(config):
        key = samples_key(config)
        if key not in by_settings:
            extracted, _ = extract_dataset(dataset, config.preprocessing(), config.feature_spec(),
                                           use_cache=config.use_cache, progress=progress)
            by_settings[key] = build_samples(config, dataset, extracted)
        return by_settings[key]

    n_nodes = len(samples_of(run.config).node_names)
    edge_total, node_total, total = np.zeros((n_nodes, n_nodes)), np.zeros(n_nodes), 0
    for fold, roles in sorted(run.roles.items()):
        samples = samples_of(run.fold_config(fold))
        test_groups = [g for g, role in roles.items() if role == "test"]
        mask = np.isin(samples.groups, test_groups)
        if not mask.any():
            continue
        models = run.load_fold(fold)
        covariance = None if samples.covariance is None else samples.covariance[mask]
        adjacency = samples.adjacency if samples.adjacency.ndim == 2 else samples.adjacency[mask]
        if models.estimator is not None:
            edges, nodes = linear_importance(models.estimator, graph_tangent_input(covariance, adjacency),
                                             samples.labels[mask])
        else:
            features = models.standardise(samples.features[mask], covariance)
            edges, nodes = gradient_x_input(models.model, features, adjacency, samples.labels[mask])
        count = int(mask.sum())
        edge_total += edges * count
        node_total += nodes * count
        total += count
    return edge_total / total, node_total / total, total


def cached_importance(run: Run, dataset: Dataset, *, progress: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`model_importance`, kept in the cache beside the features: keyed by the run's checkpoints (their
    bytes), its recordings (paths, sizes, times) and the code that computes it, so a review built again (e.g. with
    ``--overwrite``) does not run every fold's model over every test window again."""
    checkpoints = sorted((run.path / "checkpoints").glob("*"))
    payload = {
        "checkpoints": [[p.name, hashlib.sha256(p.read_bytes()).hexdigest()] for p in checkpoints if p.is_file()],
        "recordings": [recording_payload(r, run.config.preprocessing(), dataset.nodes) for r in dataset.recordings],
        "code": hashlib.sha256((inspect.getsource(model_importance)
                                + inspect.getsource(gradient_x_input)).encode()).hexdigest(),
    }

    def compute() -> dict[str, np.ndarray]:
        edges, nodes, count = model_importance(run, dataset, progress=progress)
        return {"edges": edges, "nodes": nodes, "count": np.array(count)}

    stored, _ = cached_arrays("review_importance", payload, compute, use_cache=run.config.use_cache)
    return stored["edges"], stored["nodes"], int(stored["count"])


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


# --------------------------------------------------------------------------------------------- building


@dataclass
class _Context:
    """What every part of the review needs."""

    run: Run
    dataset: Dataset
    settings: ReviewSettings
    method: str
    work: Path
    summaries: Summaries
    exports: list[dict] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return self.run.node_names

    @property
    def classes(self) -> list[str]:
        return self.run.classes

    @property
    def bands(self) -> dict[str, tuple[float, float]]:
        return self.run.config.bands

    @property
    def short(self) -> str:
        return wording.MEASURE_SHORT.get(self.method, self.method)

    @property
    def unit(self) -> str:
        return wording.MEASURE_UNIT.get(self.method, "unitless")

    def band_text(self, band: str) -> str:
        low, high = self.bands[band]
        return f"{band} ({low:g}–{high:g} Hz)"

    def figure(self, name: str) -> Path:
        return self.work / "figures" / f"{name}.png"

    def record(self, path: Path, description: str, group: str) -> None:
        self.exports.append({"file": path.relative_to(self.work).as_posix(), "description": description,
                             "group": group})

    def brainnet(self, stem: str, matrix: np.ndarray, node_values: np.ndarray, header: str, description: str) -> None:
        for path in export.write_pair(self.work / "brainnet", stem, matrix, self.names, node_values=node_values,
                                      header=header, plain=self.settings.brainnet_plain):
            self.record(path, description, "brainnet")

    def interactive(self, name: str, matrix: np.ndarray, title: str, description: str, **scale: Any) -> str:
        path = figures.connectome_html(matrix, self.names, self.work / "interactive" / f"{name}.html", title=title,
                                       edge_threshold=0.0, share_scripts=True, **scale)
        self.record(path, description, "interactive")
        return path.relative_to(self.work).as_posix()


def _class_maps(ctx: _Context) -> dict:
    """Per band and class: the head map (pairs above one threshold per band), the matrix and the BrainNet pair; the
    3-D view of each class in the run's graph band only."""
    units = ctx.summaries.units
    out: dict = {"threshold": {}, "panels": {}}
    upper = np.triu_indices(len(ctx.names), 1)
    members = {k: [u for u in units if u.label == k] for k in range(len(ctx.classes))}
    power = {k: np.mean([u.relative_power for u in group], axis=0) for k, group in members.items() if group}
    # one band's classes in 3-D (each view costs about a second): the band of the run's graph, else the first
    viewed_band = ctx.run.config.graph_band if ctx.run.config.graph_band in ctx.bands else next(iter(ctx.bands))
    for b, band in enumerate(ctx.bands):
        means = {k: np.mean([u.connectivity[b] for u in group], axis=0) for k, group in members.items() if group}
        for matrix in means.values():
            np.fill_diagonal(matrix, 0.0)
        pooled = np.concatenate([matrix[upper] for matrix in means.values()])
        threshold = float(np.percentile(pooled, CLASS_MAP_PERCENTILE))
        out["threshold"][band] = threshold
        label = f"{ctx.short} ({ctx.unit})"
        map_scale = Scale(threshold, float(pooled.max()) if pooled.max() > threshold else threshold + 1e-6,
                          maps.SEQUENTIAL_CMAP, label)
        matrix_scale = Scale.spanning(pooled, label)
        panel = []
        for k, matrix in means.items():
            name = ctx.classes[k]
            mask = matrix >= threshold
            np.fill_diagonal(mask, False)
            n_shown = int(np.triu(mask, 1).sum())
            head = maps.head_connectome_png(
                matrix, ctx.names, ctx.figure(f"{band}_{name}_map"), title=f"{name}: {ctx.band_text(band)}",
                scale=map_scale, mask=mask,
                note=f"pairs with {ctx.short} ≥ {threshold:.2f} (top {100 - CLASS_MAP_PERCENTILE:g} % of both classes)")
            grid = maps.matrix_png(matrix, ctx.names, ctx.figure(f"{band}_{name}_matrix"),
                                   title=f"{name}: {ctx.band_text(band)}", scale=matrix_scale)
            if band == viewed_band:
                ctx.interactive(f"{band}_{name}", np.where(mask, matrix, 0.0), f"{ctx.short}, {band}: {name}",
                                f"3-D view, {name}, {band}: the pairs of the map", vmin=threshold,
                                vmax=map_scale.vmax)
            header = (f"{ctx.short} in {ctx.band_text(band)}, mean of {len(members[k])} subjects of class {name}\n"
                      "node colour = region (1 prefrontal ... 6 occipital); node size = relative "
                      f"{band} power")
            ctx.brainnet(f"{band}_{name}", matrix, power[k][:, b], header, f"{name}, {band}: every pair")
            panel.append({"class": name, "map": head, "matrix": grid, "n_shown": n_shown})
        out["panels"][band] = panel
    out["power"] = power
    return out


def _difference_maps(ctx: _Context, tests, power: dict) -> dict:
    """Per band: the significant pairs on the head and in the matrix, one signed scale for all bands."""
    names, classes = ctx.names, ctx.classes
    contrast = f"{classes[1]} − {classes[0]}"
    significant = np.concatenate([band.difference[np.triu(band.significant, 1)] for band in tests.bands])
    every = np.concatenate([band.difference[np.triu_indices(len(names), 1)] for band in tests.bands])
    scale = Scale.symmetric(significant if significant.size else every,
                            f"{ctx.short} difference, {contrast} ({ctx.unit})")
    scope = "all bands" if tests.correction == "all-bands" else "this band"
    out = {}
    for b, band in enumerate(tests.bands):
        difference = band.difference
        note = f"{band.n_significant} of {tests.n_pairs} pairs, FDR q < {tests.alpha:g} over {scope}"
        head = maps.head_connectome_png(difference, names, ctx.figure(f"{band.band}_difference_map"),
                                        title=f"{contrast}: {ctx.band_text(band.band)}", scale=scale,
                                        mask=band.significant, note=note,
                                        empty_text="no pair survives the correction")
        grid = maps.matrix_png(difference, names, ctx.figure(f"{band.band}_difference_matrix"),
                               title=f"{contrast}: {ctx.band_text(band.band)}", scale=scale, mask=band.significant,
                               mask_label="not significant")
        kept = np.where(band.significant, difference, 0.0)
        view = None
        if band.n_significant:
            view = ctx.interactive(f"{band.band}_difference", kept, f"{ctx.short}, {band.band}: {contrast}",
                                   f"3-D view, {band.band}: the significant differences", signed=True,
                                   vmax=scale.vmax)
        power_difference = np.abs(power[1][:, b] - power[0][:, b])
        base = (f"{ctx.short} in {ctx.band_text(band.band)}: {classes[1]} minus {classes[0]}; {tests.describe()}\n"
                f"node size = |difference of relative {band.band} power|")
        ctx.brainnet(f"{band.band}_difference", difference, power_difference,
                     f"{base}\nevery pair, not thresholded", f"{contrast}, {band.band}: every pair")
        ctx.brainnet(f"{band.band}_difference_significant", kept, power_difference,
                     f"{base}\nonly the {band.n_significant} significant pairs, 0 elsewhere (open with "
                     "brainnet_options.m)", f"{contrast}, {band.band}: the {band.n_significant} significant pairs")
        out[band.band] = {"map": head, "matrix": grid, "view": view, "n_significant": band.n_significant}
    return out


def _importance_maps(ctx: _Context, edge_importance: np.ndarray, node_importance: np.ndarray) -> dict:
    upper = np.triu_indices(len(ctx.names), 1)
    threshold = float(np.percentile(edge_importance[upper], IMPORTANCE_PERCENTILE))
    mask = edge_importance >= threshold
    np.fill_diagonal(mask, False)
    label = "edge importance, mean |gradient × input| (relative)"
    edge_scale = Scale(threshold, max(float(edge_importance.max()), threshold + 1e-12), "magma_r", label)
    node_scale = Scale(0.0, max(float(node_importance.max()), 1e-12), "Greens", "electrode importance (relative)")
    top = f"top {100 - IMPORTANCE_PERCENTILE:g} %"
    result = {
        "map": maps.head_connectome_png(edge_importance, ctx.names, ctx.figure("importance_map"),
                                        title="what the model relied on", scale=edge_scale, mask=mask,
                                        node_values=node_importance, node_scale=node_scale,
                                        note=f"pairs: {top} by importance; electrodes: colour"),
        "matrix": maps.matrix_png(edge_importance, ctx.names, ctx.figure("importance_matrix"),
                                  title="edge importance, every pair",
                                  scale=Scale.spanning(edge_importance[upper], label, "magma_r")),
        "bars": maps.node_bars_png(node_importance, ctx.names, ctx.figure("importance_electrodes"),
                                   title="electrode importance", xlabel="mean |gradient × input| (relative)"),
    }
    result["view"] = ctx.interactive("model_importance", np.where(mask, edge_importance, 0.0),
                                     f"model importance ({top} of pairs)", "3-D view, model importance",
                                     vmin=threshold, vmax=edge_scale.vmax)
    ctx.brainnet("model_importance", edge_importance, node_importance,
                 "model importance: mean |gradient x input| over the test windows of all folds\nnode size = "
                 "electrode importance", "model importance: every pair, electrode importance as size")
    return result


def learned_adjacencies(run: Run) -> dict[int, np.ndarray]:
    """The adjacency each fold's graph model learned (``dgcnn``), by fold; empty for models with a fixed graph."""
    learned = {}
    for fold in sorted(run.roles):
        manifest = manifest_path(run.path / "checkpoints", fold)
        entry = json.loads(manifest.read_text())["models"].get(PRIMARY, {}) if manifest.is_file() else {}
        if "learned_adjacency" in entry:
            learned[fold] = np.load(run.path / "checkpoints" / entry["learned_adjacency"], allow_pickle=False)
    return learned


def initial_adjacencies(run: Run, folds) -> dict[int, np.ndarray]:
    """The graph each fold's learning model started from (its ``initial_adjacency``), by fold, where it has one."""
    initial = {}
    for fold in folds:
        start = getattr(run.load_fold(fold).model, "initial_adjacency", None)
        if start is not None:
            initial[fold] = start.detach().cpu().numpy().astype(np.float64)
    return initial


def graph_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two graphs over their electrode pairs (upper triangle); NaN when one is constant."""
    upper = np.triu_indices(len(a), 1)
    x, y = a[upper], b[upper]
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def _learned_adjacency_exports(ctx: _Context) -> dict | None:
    """BrainNet files of the learned adjacency of every fold and of their mean (node size: weighted degree), its
    figures (matrix and head map of the mean), and how far it moved from the graph it started from."""
    learned = learned_adjacencies(ctx.run)
    if not learned:
        return None
    for fold, matrix in learned.items():
        ctx.brainnet(f"learned_adjacency_fold_{fold}", matrix, matrix.sum(axis=1),
                     f"adjacency learned by the graph model of fold {fold}\nnode size = weighted degree",
                     f"learned adjacency of fold {fold}")
    mean = np.mean(list(learned.values()), axis=0)
    ctx.brainnet("learned_adjacency", mean, mean.sum(axis=1),
                 f"adjacency learned by the graph model, mean over {len(learned)} folds\nnode size = weighted degree",
                 "learned adjacency, mean over folds")
    initial = initial_adjacencies(ctx.run, learned)
    per_fold = {fold: graph_correlation(learned[fold], initial[fold]) for fold in learned if fold in initial}
    start = np.mean(list(initial.values()), axis=0) if initial else None
    upper = np.triu_indices(len(mean), 1)
    label = "learned edge weight"
    scale = Scale.spanning(mean[upper], label)
    threshold = float(np.percentile(mean[upper], IMPORTANCE_PERCENTILE))
    mask = mean >= threshold
    np.fill_diagonal(mask, False)
    return {
        "matrix": maps.matrix_png(mean, ctx.names, ctx.figure("learned_adjacency_matrix"),
                                  title=f"learned adjacency, mean over {len(learned)} folds", scale=scale),
        "map": maps.head_connectome_png(mean, ctx.names, ctx.figure("learned_adjacency_map"),
                                        title="learned adjacency: the strongest pairs",
                                        scale=Scale(threshold, max(float(mean.max()), threshold + 1e-12),
                                                    scale.cmap, label),
                                        mask=mask, note=f"pairs: top {100 - IMPORTANCE_PERCENTILE:g} % of the mean"),
        "n_folds": len(learned),
        "correlation": graph_correlation(mean, start) if start is not None else float("nan"),
        "per_fold": per_fold,
        "change": (float(np.abs(mean - start)[upper].mean() / max(np.abs(start[upper]).mean(), 1e-12))
                   if start is not None else float("nan")),
    }


def _performance_figures(ctx: _Context, entries: list[dict], level: str) -> list[dict]:
    predictions = ctx.run.predictions
    items = []
    labels = None
    probas = {}
    for entry in entries:
        labels, proba, _ = performance.unit_predictions(predictions, entry["key"], level)
        probas[entry["name"]] = proba
        metrics = entry["levels"].get(level) or entry["levels"]["window"]
        title = "\n".join(textwrap.wrap(entry["description"], 34) + [f"{wording.LEVEL_TEXT[level]} (n = {len(labels)})"])
        path = figures.confusion_png(metrics["confusion_matrix"], ctx.classes, ctx.figure(f"confusion_{entry['name']}"),
                                     title=title)
        items.append({"path": path, "caption": f"Confusion matrix {wording.LEVEL_TEXT[level]}: "
                                               f"{entry['description']}"})
    if labels is not None and len(np.unique(labels)) == len(ctx.classes):
        path = figures.roc_png(labels, probas, ctx.classes, ctx.figure("roc"),
                               title=f"ROC {wording.LEVEL_TEXT[level]} (n = {len(labels)})")
        items.append({"path": path, "caption": f"ROC curves {wording.LEVEL_TEXT[level]}, every model"})
    return items


def build_review(run: Run, settings: ReviewSettings | None = None, **options: Any) -> Path:
    """Write ``RUN_DIR/review/``: ``report.html``, BrainNet files, figures and interactive 3-D views.

    Parameters
    ----------
    run : Run
        A finished run (:func:`eeg_gnn.pipeline.runs.load_run`); its metrics are first recomputed from
        ``predictions.csv`` and checked against ``results.json``.
    settings : ReviewSettings, optional
    **options
        Fields of :class:`ReviewSettings`, instead of ``settings``.

    Returns
    -------
    pathlib.Path
        The review folder.

    Raises
    ------
    FileExistsError
        If the review exists and ``overwrite`` is False.
    ValueError
        If the run's metrics do not match its predictions, or the recordings are not those it was trained on.

    Notes
    -----
    The review is built in a temporary sibling folder and moved into place at the end.
    """
    settings = settings or ReviewSettings(**options)
    target = run.path / "review"
    if target.exists() and not settings.overwrite:
        raise FileExistsError(f"{target} exists already; pass --overwrite to replace it, or move it away.")
    recompute_results(run)
    config = run.config
    method = settings.connectivity or (config.graph if config.graph in CONNECTIVITY_METHODS else DEFAULT_CONNECTIVITY)
    dataset = load_dataset(config.dataset, config.data_dir, read_kwargs=config.read_kwargs(),
                           event_labels=config.event_labels, **config.dataset_options())
    dropped = {rid for rid, entry in run.saved.get("data_quality", {}).get("bad_channels", {}).items()
               if entry["action"] == "dropped"}
    dataset.recordings = [r for r in dataset.recordings if r.recording_id not in dropped]
    check_same_recordings(run, dataset)
    work = run.path / f"review.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "figures").mkdir(parents=True)
    try:
        summaries = summarise_recordings(run, dataset, method, progress=settings.progress)
        ctx = _Context(run, dataset, settings, method, work, summaries)
        classes = ctx.classes
        class_maps = _class_maps(ctx)
        tests = power_test = differences = power_intervals = None
        if len(classes) == 2 and all(sum(u.label == k for u in summaries.units) >= 2 for k in (0, 1)):
            class_1, class_0, paired = by_class(summaries.units, "connectivity")
            symmetric = lambda m: (m + np.swapaxes(m, -1, -2)) / 2  # noqa: E731
            tests = compare_bands([symmetric(class_1[:, b]) for b in range(len(ctx.bands))],
                                  [symmetric(class_0[:, b]) for b in range(len(ctx.bands))], list(ctx.bands),
                                  paired=paired, correction=settings.correction, alpha=settings.alpha,
                                  n_permutations=settings.permutations, n_boot=settings.bootstrap, seed=config.seed)
            power_1, power_0, _ = by_class(summaries.units, "relative_power")
            power_test = compare_band_power(power_1, power_0, paired=paired, alpha=settings.alpha, seed=config.seed)
            power_intervals = band_power_intervals(power_1, power_0, paired=paired, n_boot=settings.bootstrap,
                                                   seed=config.seed)
            differences = _difference_maps(ctx, tests, class_maps["power"])
        power_figure = _band_power_figure(ctx, class_maps["power"], power_test)
        edge_importance, node_importance, n_explained = cached_importance(run, dataset, progress=settings.progress)
        importance = _importance_maps(ctx, edge_importance, node_importance)
        learned = _learned_adjacency_exports(ctx)
        # window-level labels (seizures, cues) mix classes within a subject: score the windows themselves
        level = "window" if run.results["label_level"] == "window" else aggregation_level(run.results["label_level"])
        entries = performance.model_entries(run.results, config)
        comparisons = performance.comparisons(run.results, entries, run.predictions, level, n_boot=config.n_boot,
                                              seed=config.seed)
        performance_figures = _performance_figures(ctx, entries, level)
        spectra = {classes[k]: np.array([u.psd for u in summaries.units if u.label == k])
                   for k in range(len(classes)) if any(u.label == k for u in summaries.units)}
        psd = maps.psd_png(summaries.freqs, spectra, ctx.names, ctx.bands, ctx.figure("spectra"),
                           title="power spectrum per class (mean over subjects ± standard error)")
        options_file = export.write_brainnet_options(work / "brainnet" / "brainnet_options.m", classes,
                                                     ctx.names)
        ctx.record(options_file, "BrainNet Viewer settings that draw only the significant pairs, red above 0 and "
                   "blue below (read its comments)", "brainnet")
        from eeg_gnn.review.content import compose

        review = compose(ctx, tests=tests, power_test=power_test, class_maps=class_maps, differences=differences,
                         power_figure=power_figure, importance=importance,
                         importance_values=(edge_importance, node_importance, n_explained), entries=entries,
                         comparisons=comparisons, level=level, performance_figures=performance_figures, psd=psd,
                         subject_predictions=performance.subject_predictions(run.predictions, entries[0]["key"]),
                         power_intervals=power_intervals, learned=learned)
        if config.epoch is not None:
            section = imagery_section(run, dataset, node_importance, ctx.figure("imagery_erd"))
            review["sections"].insert(len(review["sections"]) - 5, section)
        render_report(review, work / "report.html")
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def _band_power_figure(ctx: _Context, power: dict, power_test) -> Path:
    classes = ctx.classes
    values = {classes[k]: table * 100 for k, table in power.items()}
    difference = significant = None
    if power_test is not None:
        difference = (power[1] - power[0]) * 100
        significant = power_test.significant.reshape(len(ctx.names), len(ctx.bands))
    return figures.topomap_grid_png(
        values, list(ctx.bands), ctx.names, ctx.figure("band_power"),
        title="relative band power" + ("; circled: difference significant (FDR over electrodes and bands)"
                                       if power_test is not None else ""),
        difference=difference, difference_label=f"{classes[1]} − {classes[0]}" if difference is not None else "",
        colorbar_label="relative power (% of the total)",
        difference_colorbar_label="difference (percentage points)", significant=significant)

