"""Apply a run's fold models to new recordings: per-window and per-subject predictions with their uncertainty.

A recording of a subject the run was trained on is predicted only by the one fold model that held that subject
out (marked ``in_training_data`` in ``subjects.csv``); every other recording by all fold models.

Each fold's model (and baseline) was trained on different subjects; their spread over the same new subject is a
measure of how much the prediction depends on who was in the training set. Reported per subject: the mean class
probability over folds, its standard deviation over folds, and the share of folds that agree with the majority.
"""

from __future__ import annotations

import csv
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from eeg_gnn.data.datasets import (
    FOLDER,
    Dataset,
    Recording,
    _is_recording,
    available_datasets,
    load_dataset,
    load_folder,
)
from eeg_gnn.data.extraction import data_quality, load_or_compute
from eeg_gnn.evaluation.scoring import (
    PROBA_DECIMALS,
    Predictions,
    aggregation_level,
    compare_models,
    round_proba,
    score,
    write_predictions,
)
from eeg_gnn.models.baselines import baseline_input
from eeg_gnn.pipeline.config import APPLY_SETTINGS
from eeg_gnn.pipeline.experiment import assemble_adjacency, format_metric, missing_from
from eeg_gnn.pipeline.folds import PRIMARY
from eeg_gnn.pipeline.runs import Run
from eeg_gnn.pipeline.selection import samples_key
from eeg_gnn.signal.quality import BadChannelsError
from eeg_gnn.utils.files import write_json_atomic
from eeg_gnn.utils.validation import check_option

ON_ERROR = ("raise", "skip")


def new_recordings(data_dir: str | Path, read_kwargs: dict | None = None, *, layout: str | None = None,
                   subject_pattern: str | None = None, run_dataset: str | None = None,
                   **folder_options) -> Dataset:
    """Recordings to predict, grouped into subjects and labelled where the folder says how.

    In this order: ``layout``, a described dataset (``'eegmat'``), lists the folder as that dataset does (subjects
    and labels from its file names); a folder with ``participants.tsv``/``.csv`` is a folder dataset (labels
    optional); ``subject_pattern``, a regular expression, takes each file's subject from its path (its group
    ``subject`` or its first group, else the whole match); a ``chNN.inp`` folder is one recording, a file one
    recording; a folder whose every recording fits the layout of ``run_dataset`` (the run's own dataset) is listed
    by it; else every recording in the folder is its own subject (the file name without extension), label unknown.
    Metadata tables such as ``subject-info.csv`` are never recordings.

    ``folder_options`` (``label_column``, ``subject_column``, ``file_column``, ``on_missing``) go to
    :func:`eeg_gnn.data.datasets.load_folder`.
    """
    root = Path(data_dir).expanduser().absolute()
    if not root.exists():
        raise FileNotFoundError(f"--data-dir {root} does not exist.")
    read_kwargs = dict(read_kwargs or {})
    if layout is not None:
        check_option("dataset", layout, [name for name in available_datasets() if name != FOLDER])
        return load_dataset(layout, root, read_kwargs=read_kwargs)
    if subject_pattern is not None:
        return _by_pattern(root, subject_pattern, read_kwargs)
    if root.is_dir() and run_dataset not in (None, FOLDER) and not any(
            (root / n).is_file() for n in ("participants.tsv", "participants.csv")):
        try:
            listed = load_dataset(run_dataset, root, read_kwargs=read_kwargs)
        except (OSError, ValueError):
            listed = None
        files = {p for p in root.rglob("*") if _is_recording(p)}
        if listed is not None and {r.path for r in listed.recordings} == files:
            return listed
    if root.is_file():
        if not _is_recording(root):
            raise ValueError(f"--data-dir {root} is a file but not a recording eeg-gnn reads; give the folder of the "
                             "recordings (or one recording).")
        recordings = [Recording(root, root.name.split(".")[0], None, root.name, read_kwargs)]
        root = root.parent
    elif any((root / n).is_file() for n in ("participants.tsv", "participants.csv")):
        return load_folder(root, read_kwargs=read_kwargs, labels_required=False,
                           **{k: v for k, v in folder_options.items() if v is not None})
    elif any(root.glob("ch[0-9][0-9].inp")):
        recordings = [Recording(root, root.name, None, root.name, read_kwargs)]
    else:
        files = sorted(p for p in root.rglob("*") if _is_recording(p))
        if not files:
            raise FileNotFoundError(f"No recordings in {root}.")
        recordings = [Recording(p, p.name.split(".")[0], None, p.relative_to(root).as_posix(), read_kwargs)
                      for p in files]
    descriptor = {"name": "new", "task": "custom", "classes": [], "label_level": "subject", "nodes": "10-20"}
    return Dataset("new", root, descriptor, recordings)


def _by_pattern(root: Path, pattern: str, read_kwargs: dict) -> Dataset:
    """Every recording under ``root``, its subject taken from its relative path by the regular expression."""
    try:
        rule = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"--subject-pattern {pattern!r} is not a regular expression: {exc}.") from exc
    files = sorted(p for p in root.rglob("*") if _is_recording(p)) if root.is_dir() else [root]
    recordings, unmatched = [], []
    for path in files:
        relative = path.relative_to(root).as_posix() if root.is_dir() else path.name
        match = rule.search(relative)
        if match is None:
            unmatched.append(relative)
            continue
        subject = match.groupdict().get("subject") or (match.group(1) if rule.groups else match.group(0))
        recordings.append(Recording(path, subject, None, relative, dict(read_kwargs)))
    if unmatched:
        raise ValueError(f"--subject-pattern {pattern!r} matches no subject in {len(unmatched)} recordings of {root} "
                         f"({', '.join(unmatched[:3])}); give a pattern that matches every file name, e.g. "
                         r"'(Subject\d+)_'.")
    descriptor = {"name": "new", "task": "custom", "classes": [], "label_level": "subject", "nodes": "10-20"}
    return Dataset("new", root if root.is_dir() else root.parent, descriptor, recordings)


def trained_fold_of(run: Run, recording: Recording) -> int | None:
    """The fold whose test side held this recording's subject, if the run trained on that subject at all.

    A recording of a subject the run trained on must be predicted only by the fold model that never saw it;
    otherwise its prediction is in-sample. Subjects match by id, recordings by their resolved path.
    """
    trained_paths = {r.get("path") or str((Path(run.saved["dataset"]["root"]) / r["id"].split("#")[0]).resolve()):
                     r["subject"] for r in run.saved["dataset"]["recordings"]}
    trained_path = str(recording.path.resolve()) in trained_paths
    if run.config.cv not in ("group-kfold", "loso"):
        if trained_path:
            raise ValueError(
                f"{recording.path} was part of this run, whose folds are not by subject ({run.config.cv}): every "
                "fold model trained on some of it, so no prediction of it would be out of sample. Apply the run to "
                "recordings of other subjects."
            )
        return None
    subject = trained_paths.get(str(recording.path.resolve()), recording.subject)
    for fold, roles in run.roles.items():
        if roles.get(subject) == "test":
            return fold
    return None


def apply_run(run: Run, data_dir: str | Path, *, progress: bool = True, layout: str | None = None,
              subject_pattern: str | None = None, on_error: str = "raise", **settings) -> Path:
    """Predict new recordings with every fold's graph model, graph controls and baselines; write
    ``RUN_DIR/applied/<time>/``; score them when they are labelled.

    A subject's prediction uses the decision thresholds chosen on each fold's training subjects: it is the class
    the subject's mean probability falls on when cut at the mean threshold of the folds used (the most probable
    class for models without a threshold); ``fold_agreement`` is the share of folds whose own cut agrees.

    When the recordings carry labels of the run's classes, each window's probability averaged over the folds used
    is scored as training scores its test windows (:func:`eeg_gnn.evaluation.scoring.score`: window and subject or
    recording metrics with 95 % intervals over subjects; :func:`eeg_gnn.evaluation.scoring.compare_models`: the
    graph model against every other model, paired over subjects), into ``results.json`` and ``predictions.csv``.

    Parameters
    ----------
    run : Run
    data_dir : str | Path
        A folder of recordings (see :func:`new_recordings`) or one recording.
    progress : bool
    layout : str, optional
        A described dataset whose layout lists the folder (subjects and labels), e.g. ``'eegmat'``.
    subject_pattern : str, optional
        A regular expression taking each file's subject from its path (see :func:`new_recordings`).
    on_error : 'raise' | 'skip'
        A recording that cannot be read or preprocessed: stop, naming it, or leave it out, name it (in the
        summary and ``data_quality.json``) and go on.
    **settings
        Any of :data:`APPLY_SETTINGS` to use for the new recordings instead of the run's (e.g. ``sfreq`` for CSV
        files, ``bad_channels='interpolate'``).

    Returns
    -------
    Path
        The folder with ``windows.csv`` and ``subjects.csv``; ``results.json`` and ``predictions.csv`` when the
        recordings are labelled; ``data_quality.json`` when recordings were read with a note, had bad nodes
        interpolated, were left out or could not be read.

    Raises
    ------
    ValueError
        A recording lacks electrodes the run was trained on (the message names them).
    """
    unknown = sorted(set(settings) - set(APPLY_SETTINGS))
    if unknown:
        raise ValueError(f"Setting {unknown[0]!r} cannot be changed when applying a run; allowed: "
                         f"{', '.join(APPLY_SETTINGS)}.")
    check_option("on_error", on_error, ON_ERROR)
    if run.config.align != "none":
        raise ValueError(f"{run.path} was trained with --align {run.config.align}: its models expect every subject "
                         "re-centred on its own windows, which applying it to new recordings does not do; apply a "
                         "run trained with --align none.")
    config = replace(run.config, **settings)
    dataset = new_recordings(data_dir, config.read_kwargs(), layout=layout, subject_pattern=subject_pattern,
                             run_dataset=run.config.dataset, **config.dataset_options())
    by_settings: dict[str, tuple] = {}
    quality: dict = {}
    unreadable: dict[str, str] = {}

    def inputs(config):
        """Features, covariances, graphs and window table of the new recordings under ``config``'s settings."""
        config = replace(config, **settings)
        key = samples_key(config)
        if key in by_settings:
            return by_settings[key]
        parts, meta, read, listed = [], [], [], []
        for recording in tqdm(dataset.recordings, desc="features", unit="rec", disable=not progress):
            if recording.recording_id in unreadable:
                continue
            try:
                result, _ = load_or_compute(recording, config.preprocessing(), run.node_names, config.feature_spec(),
                                            use_cache=config.use_cache)
            except BadChannelsError as exc:
                if "missing from the recording" not in exc.bad.values():
                    raise
                raise ValueError(f"{recording.path} does not fit the trained montage ({', '.join(run.node_names)}): "
                                 f"{exc}") from exc
            except (ValueError, OSError) as exc:
                if on_error == "raise":
                    raise
                unreadable[recording.recording_id] = " ".join(str(exc).split())
                continue
            read.append(result)
            listed.append(recording)
            if result.dropped:
                continue
            parts.append(result)
            meta += [(recording.subject, recording.recording_id, i, onset) for i, onset in enumerate(result.onsets)]
        if not quality:
            subset = Dataset(dataset.name, dataset.root, dataset.descriptor, listed)
            quality.update({**data_quality(subset, read), **missing_from(dataset)})
        if not parts:
            raise ValueError(f"No recording in {dataset.root} could be used (left out for bad nodes or unreadable: "
                             "see above); pass --bad-channels interpolate to rebuild bad nodes.")
        features = np.concatenate([p.features for p in parts]).astype(np.float32)
        covariance = np.concatenate([p.covariance for p in parts]) if parts[0].covariance is not None else None
        adjacency = assemble_adjacency(config, run.node_names,
                                       [p.adjacency for p in parts] if parts[0].adjacency is not None else None)
        by_settings[key] = features, covariance, adjacency, meta
        return by_settings[key]

    features, covariance, adjacency, meta = inputs(config)
    if unreadable:
        quality["unreadable"] = dict(unreadable)
    folds = sorted(run.roles)
    recording_fold = {r.recording_id: trained_fold_of(run, r) for r in dataset.recordings
                      if r.recording_id not in unreadable}
    window_fold = np.array([recording_fold[m[1]] if recording_fold[m[1]] is not None else -1 for m in meta])
    proba: dict[str, list[np.ndarray]] = {PRIMARY: []}
    thresholds: dict[str, list[float | None]] = {PRIMARY: []}
    not_applied: dict[str, str] = {}
    for fold in folds:
        models = run.load_fold(fold)
        usable = (window_fold == -1) | (window_fold == fold)
        fold_features, fold_covariance, fold_adjacency, _ = inputs(run.fold_config(fold))
        predicted = {PRIMARY: models.graph_proba(fold_features, fold_covariance, fold_adjacency)}
        for name, control in models.controls.items():
            try:
                graph = control.control_graph(fold_adjacency)
            except ValueError as exc:
                not_applied[name] = str(exc)
                continue
            predicted[name] = control.graph_proba(fold_features, fold_covariance, graph)
        for name, baseline in models.baselines.items():
            predicted[name] = baseline.predict_proba(baseline_input(name, features, covariance))
        for name, values in predicted.items():
            values[~usable] = np.nan
            proba.setdefault(name, []).append(values)
            thresholds.setdefault(name, []).append(models.thresholds.get(name))
    out = run.path / "applied" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=False)
    if quality:
        write_json_atomic(out / "data_quality.json", quality)
    classes = run.classes
    with (out / "windows.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["model", "fold", "subject", "recording", "window", "onset_s",
                         *[f"proba_{c}" for c in classes]])
        for name, per_fold in proba.items():
            for fold, values in zip(folds, per_fold):
                for (subject, recording_id, window, onset), row in zip(meta, values):
                    if not np.isnan(row).any():
                        writer.writerow([name, fold, subject, recording_id, window, f"{onset:.3f}",
                                         *[f"{p:.6f}" for p in row]])
    subjects = np.array([m[0] for m in meta])
    labels: dict[str, set] = {}
    for recording in dataset.recordings:
        if recording.label is not None:
            labels.setdefault(recording.subject, set()).add(recording.label)
    with (out / "subjects.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["subject", "label", "model", "n_windows", "predicted",
                         *[f"mean_proba_{c}" for c in classes], *[f"sd_over_folds_{c}" for c in classes],
                         "threshold", "fold_agreement", "n_folds_used", "in_training_data"])
        for name, per_fold in proba.items():
            stacked = np.stack(per_fold)
            cuts = np.array([np.nan if t is None else t for t in thresholds[name]])
            for subject in dict.fromkeys(subjects.tolist()):
                mask = subjects == subject
                by_fold = stacked[:, mask].mean(axis=1)
                used = ~np.isnan(by_fold).any(axis=1)
                by_fold, fold_cuts = by_fold[used], cuts[used]
                mean = by_fold.mean(axis=0)
                if np.isfinite(fold_cuts).all():
                    cut = float(fold_cuts.mean())
                    predicted = int(mean[1] >= cut)
                    per_fold_decision = (by_fold[:, 1] >= fold_cuts).astype(int)
                else:
                    cut = None
                    predicted = int(mean.argmax())
                    per_fold_decision = by_fold.argmax(axis=1)
                agreement = float(np.mean(per_fold_decision == predicted))
                seen = sorted(set(window_fold[mask].tolist()) - {-1})
                note = f"yes: only fold {seen[0]}, which tested it, is used" if seen else "no"
                writer.writerow([subject, "; ".join(sorted(labels.get(subject, ()))), name, int(mask.sum()),
                                 classes[predicted], *[f"{v:.4f}" for v in mean],
                                 *[f"{v:.4f}" for v in by_fold.std(axis=0)],
                                 "" if cut is None else f"{cut:.4f}", f"{agreement:.2f}", len(by_fold), note])
    recording_labels = {r.recording_id: r.label for r in dataset.recordings}
    window_labels = [recording_labels[m[1]] for m in meta]
    if all(label is not None for label in window_labels):
        unknown = sorted(set(window_labels) - set(classes))
        if unknown:
            quality["not_scored"] = (f"the recordings are labelled {', '.join(unknown)}, not one of the run's classes "
                                     f"({', '.join(classes)}): name the column of the run's labels (--label-column), "
                                     "or the dataset whose labels they are (--dataset)")
        elif len(set(window_labels)) < 2:
            quality["not_scored"] = (f"every recording is labelled {window_labels[0]!r}: scores need both classes, "
                                     "so only predictions were written")
        else:
            scored = labelled_predictions(meta, window_fold, window_labels, proba, thresholds, classes)
            write_predictions(out / "predictions.csv", scored)
            write_json_atomic(out / "results.json", score_applied(run, dataset, scored, quality, not_applied))
        if "not_scored" in quality:
            write_json_atomic(out / "data_quality.json", quality)
    return out


def labelled_predictions(meta: list[tuple], window_fold: np.ndarray, window_labels: list[str],
                         proba: dict[str, list[np.ndarray]], thresholds: dict[str, list[float | None]],
                         classes: list[str]) -> Predictions:
    """The applied windows as :class:`~eeg_gnn.evaluation.scoring.Predictions`: each model's probability and
    decision threshold averaged over the folds that predicted the window (``folds`` is the fold that tested a
    training subject, -1 for a new one)."""
    probabilities, cuts = {}, {}
    for name, per_fold in proba.items():
        stacked = np.stack(per_fold)  # (n_folds, n_windows, n_classes), NaN where a fold is not used
        used = ~np.isnan(stacked).any(axis=2)
        probabilities[name] = round_proba(np.nanmean(stacked, axis=0))
        fold_cuts = np.array([np.nan if t is None else t for t in thresholds[name]])
        with np.errstate(invalid="ignore"):
            cut = (used * np.nan_to_num(fold_cuts)[:, None]).sum(axis=0) / used.sum(axis=0)
        cuts[name] = np.round(np.where(np.isfinite(fold_cuts).all(), cut, np.nan), PROBA_DECIMALS)
    return Predictions(labels=np.array([classes.index(label) for label in window_labels]),
                       subjects=np.array([m[0] for m in meta]), recordings=np.array([m[1] for m in meta]),
                       groups=np.array([m[0] for m in meta]), window_index=np.array([m[2] for m in meta]),
                       onsets=np.array([m[3] for m in meta], dtype=float), folds=window_fold,
                       proba=probabilities, classes=list(classes), thresholds=cuts)


def score_applied(run: Run, dataset: Dataset, predictions: Predictions, quality: dict,
                  not_applied: dict[str, str]) -> dict:
    """``applied/<time>/results.json``: every model's metrics on the labelled new recordings, with 95 % intervals
    over subjects, and the paired comparisons of the graph model with each other model (as training reports)."""
    label_level = dataset.label_level if dataset.label_level != "window" else "subject"
    config = run.config
    models = score(predictions, label_level, n_boot=config.n_boot, seed=config.seed,
                   window_step_s=config.window * (1 - config.overlap))
    described = run.results.get("models", {})
    for name, report in models.items():
        report["kind"] = described.get(name, {}).get("kind", "graph" if name == PRIMARY else "model")
        report["description"] = described.get(name, {}).get("description", "")
    return {"run": str(run.path), "data_dir": str(dataset.root), "layout": dataset.name, "classes": run.classes,
            "label_level": label_level, "n_subjects": len(set(predictions.subjects.tolist())),
            "n_recordings": len(set(predictions.recordings.tolist())), "n_windows": int(len(predictions)),
            "primary": PRIMARY, "models": models,
            "comparisons": compare_models(predictions, label_level, PRIMARY, n_boot=config.n_boot, seed=config.seed),
            "not_applied": not_applied, "left_out": {**quality.get("unreadable", {}),
                                                     **{rid: "bad nodes" for rid, entry in
                                                        quality.get("bad_channels", {}).items()
                                                        if entry["action"] == "dropped"}}}


def format_applied_summary(results: dict, out: Path) -> str:
    """The scores of a run applied to labelled recordings: each model with 95 % intervals, then the paired
    comparisons, as training's summary shows them."""
    level = aggregation_level(results["label_level"])
    header = "".join(f"{f'{lvl} {metric}':<24}" for lvl in ("window", level) for metric in ("BA", "AUC"))
    width = max(len(name) for name in results["models"]) + 12
    lines = [f"applied to {results['data_dir']} ({results['layout']}): {results['n_subjects']} subjects, "
             f"{results['n_recordings']} recordings, {results['n_windows']} windows; each window's probability "
             "averaged over the fold models that did not train on its subject",
             f"{'model':<{width}}{header}".rstrip()]
    for name, report in results["models"].items():
        cells = "".join(f"{format_metric(report.get(lvl, {}), metric):<24}" for lvl in ("window", level)
                        for metric in ("balanced_accuracy", "roc_auc"))
        label = f"{name} ({report['kind']})"
        lines.append(f"{label:<{width}}{cells}".rstrip())
    if results["comparisons"]:
        lines.append(f"{results['primary']} minus each other model, per subject (mean [95% CI], sign-flip p, "
                     "Holm-adjusted):")
        for entry in results["comparisons"]:
            if entry["metric"] == "balanced_accuracy":
                low, high = entry["ci95"]
                lines.append(f"  {entry['level']:<10}{entry['against']:<{width - 10}}{entry['mean_difference']:+.3f} "
                             f"[{low:+.3f}, {high:+.3f}]  p = {entry['p_holm']:.3g}: {entry['verdict']}")
    for name, why in results.get("not_applied", {}).items():
        lines.append(f"not applied: {name}: {why}")
    lines.append(f"scores saved to {out / 'results.json'} (and predictions.csv, subjects.csv, windows.csv)")
    return "\n".join(lines)
