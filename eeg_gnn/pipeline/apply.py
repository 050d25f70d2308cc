"""Apply a run's fold models to new recordings: per-window and per-subject predictions with their uncertainty.

A recording of a subject the run was trained on is predicted only by the one fold model that held that subject
out (marked ``in_training_data`` in ``subjects.csv``); every other recording by all fold models.

Each fold's model (and baseline) was trained on different subjects; their spread over the same new subject is a
measure of how much the prediction depends on who was in the training set. Reported per subject: the mean class
probability over folds, its standard deviation over folds, and the share of folds that agree with the majority.
"""

from __future__ import annotations

import csv
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from eeg_gnn.data.datasets import Dataset, Recording, _is_recording, load_folder
from eeg_gnn.data.extraction import data_quality, load_or_compute
from eeg_gnn.models.baselines import baseline_input
from eeg_gnn.models.training import predict_proba
from eeg_gnn.pipeline.config import APPLY_SETTINGS
from eeg_gnn.pipeline.experiment import assemble_adjacency, missing_from
from eeg_gnn.pipeline.folds import PRIMARY
from eeg_gnn.pipeline.runs import Run
from eeg_gnn.pipeline.selection import samples_key
from eeg_gnn.signal.quality import BadChannelsError
from eeg_gnn.utils.files import write_json_atomic


def new_recordings(data_dir: str | Path, read_kwargs: dict | None = None, **folder_options) -> Dataset:
    """Recordings to predict: a folder dataset if it has ``participants.tsv`` (labels optional), a ``chNN.inp``
    folder as one recording, one recording file, else every recording in the folder (subject = file name without
    extension, label unknown; metadata tables such as ``subject-info.csv`` are not recordings).

    ``folder_options`` (``label_column``, ``subject_column``, ``file_column``, ``on_missing``) go to
    :func:`eeg_gnn.data.datasets.load_folder`.
    """
    root = Path(data_dir).expanduser().absolute()
    if not root.exists():
        raise FileNotFoundError(f"--data-dir {root} does not exist.")
    read_kwargs = dict(read_kwargs or {})
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


def apply_run(run: Run, data_dir: str | Path, *, progress: bool = True, **settings) -> Path:
    """Predict new recordings with every fold's graph model and baselines; write ``RUN_DIR/applied/<time>/``.

    A subject's prediction uses the decision thresholds chosen on each fold's training subjects: it is the class
    the subject's mean probability falls on when cut at the mean threshold of the folds used (the most probable
    class for models without a threshold); ``fold_agreement`` is the share of folds whose own cut agrees.

    Parameters
    ----------
    run : Run
    data_dir : str | Path
        A folder of recordings (see :func:`new_recordings`) or one recording.
    progress : bool
    **settings
        Any of :data:`APPLY_SETTINGS` to use for the new recordings instead of the run's (e.g. ``sfreq`` for CSV
        files, ``bad_channels='interpolate'``).

    Returns
    -------
    Path
        The folder with ``windows.csv`` and ``subjects.csv`` (and ``data_quality.json`` when recordings were read
        with a note, had bad nodes interpolated or were left out).

    Raises
    ------
    ValueError
        A recording lacks electrodes the run was trained on (the message names them).
    """
    unknown = sorted(set(settings) - set(APPLY_SETTINGS))
    if unknown:
        raise ValueError(f"Setting {unknown[0]!r} cannot be changed when applying a run; allowed: "
                         f"{', '.join(APPLY_SETTINGS)}.")
    if run.config.align != "none":
        raise ValueError(f"{run.path} was trained with --align {run.config.align}: its models expect every subject "
                         "re-centred on its own windows, which applying it to new recordings does not do; apply a "
                         "run trained with --align none.")
    config = replace(run.config, **settings)
    dataset = new_recordings(data_dir, config.read_kwargs(), **config.dataset_options())
    by_settings: dict[str, tuple] = {}
    quality: dict = {}

    def inputs(config):
        """Features, covariances, graphs and window table of the new recordings under ``config``'s settings."""
        config = replace(config, **settings)
        key = samples_key(config)
        if key in by_settings:
            return by_settings[key]
        parts, meta, read = [], [], []
        for recording in tqdm(dataset.recordings, desc="features", unit="rec", disable=not progress):
            try:
                result, _ = load_or_compute(recording, config.preprocessing(), run.node_names, config.feature_spec(),
                                            use_cache=config.use_cache)
            except BadChannelsError as exc:
                if "missing from the recording" not in exc.bad.values():
                    raise
                raise ValueError(f"{recording.path} does not fit the trained montage ({', '.join(run.node_names)}): "
                                 f"{exc}") from exc
            read.append(result)
            if result.dropped:
                continue
            parts.append(result)
            meta += [(recording.subject, recording.recording_id, i, onset) for i, onset in enumerate(result.onsets)]
        if not quality:
            quality.update({**data_quality(dataset, read), **missing_from(dataset)})
        if not parts:
            raise ValueError(f"Every recording in {dataset.root} was left out for bad nodes (--bad-channels "
                             "drop-recording); pass --bad-channels interpolate to rebuild them.")
        features = np.concatenate([p.features for p in parts]).astype(np.float32)
        covariance = np.concatenate([p.covariance for p in parts]) if parts[0].covariance is not None else None
        adjacency = assemble_adjacency(config, run.node_names,
                                       [p.adjacency for p in parts] if parts[0].adjacency is not None else None)
        by_settings[key] = features, covariance, adjacency, meta
        return by_settings[key]

    features, covariance, adjacency, meta = inputs(config)
    folds = sorted(run.roles)
    recording_fold = {r.recording_id: trained_fold_of(run, r) for r in dataset.recordings}
    window_fold = np.array([recording_fold[m[1]] if recording_fold[m[1]] is not None else -1 for m in meta])
    proba: dict[str, list[np.ndarray]] = {PRIMARY: []}
    thresholds: dict[str, list[float | None]] = {PRIMARY: []}
    for fold in folds:
        models = run.load_fold(fold)
        usable = (window_fold == -1) | (window_fold == fold)
        fold_features, fold_covariance, fold_adjacency, _ = inputs(run.fold_config(fold))
        predicted = {PRIMARY: predict_proba(models.model, models.standardise(fold_features, fold_covariance),
                                            fold_adjacency)}
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
    labels = {r.subject: r.label for r in dataset.recordings}
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
                writer.writerow([subject, labels.get(subject) or "", name, int(mask.sum()), classes[predicted],
                                 *[f"{v:.4f}" for v in mean], *[f"{v:.4f}" for v in by_fold.std(axis=0)],
                                 "" if cut is None else f"{cut:.4f}", f"{agreement:.2f}", len(by_fold), note])
    return out
