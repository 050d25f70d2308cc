"""``run_cv(config)``: dataset -> features -> folds by subject -> graph model, controls, baselines -> a run directory.

A run directory is new for every run (never overwritten) and holds ``config.json``, ``folds.csv``,
``predictions.csv``, ``results.json``, ``scores.csv`` (tidy scores, see :mod:`eeg_gnn.evaluation.tidy`),
``tensorboard/`` and ``checkpoints/``; seizure runs add ``szcore/`` (SzCORE events, see
:mod:`eeg_gnn.evaluation.szcore`). While a run is under way (or after
it was interrupted) the directory holds a file ``INCOMPLETE`` saying so; ``results.json`` is written last, and
only then is ``INCOMPLETE`` removed. A run that fails with an error removes its directory: nothing half-written
is left behind.
"""

from __future__ import annotations

import csv
import io
import json
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from eeg_gnn import __version__
from eeg_gnn.data.confounds import confound_report, describe_confounds
from eeg_gnn.data.datasets import Dataset, has_descriptor, load_dataset
from eeg_gnn.data.extraction import (
    RecordingFeatures,
    data_quality,
    describe_data_quality,
    extract_dataset,
)
from eeg_gnn.evaluation.comparison import describe_detectable
from eeg_gnn.evaluation.metrics import (
    confusion_matrix_figure,
)
from eeg_gnn.evaluation.scoring import (
    ICTAL,
    Predictions,
    aggregation_level,
    compare_models,
    pooled_comparisons,
    read_predictions,
    round_proba,
    score,
    subject_scores,
    write_predictions,
)
from eeg_gnn.evaluation.splitters import PROTOCOLS, Fold, make_folds, save_folds, time_blocks
from eeg_gnn.evaluation.szcore import Reference, score_models, timescoring_module
from eeg_gnn.evaluation.tidy import szcore_rows, tidy_scores, write_scores
from eeg_gnn.models.baselines import INNER_FOLDS, groups_per_class, inner_fold_capacity
from eeg_gnn.models.catalog import BASELINES, ESTIMATOR_MODELS
from eeg_gnn.models.training import Samples
from eeg_gnn.pipeline.config import DISTANCE_GRAPHS, TrainConfig
from eeg_gnn.pipeline.folds import (
    PRIMARY,
    FoldResult,
    ModelFit,
    describe_models,
    fit_fold,
    fit_model,
    model_names,
    save_fold,
    tested_rows,
)
from eeg_gnn.pipeline.selection import (
    Selection,
    SelectionPlan,
    candidate_configs,
    check_same_windows,
    describe_candidate,
    fit_selected_fold,
    inner_folds,
    read_grid,
    samples_key,
)
from eeg_gnn.signal.alignment import (
    TRANSDUCTIVE,
    check_alignable,
    recentre_per_subject,
    standardise_per_subject,
)
from eeg_gnn.signal.events import event_window_labels
from eeg_gnn.signal.graph import distance_adjacency, sparsify
from eeg_gnn.signal.montage import positions, resolve_nodes
from eeg_gnn.utils.files import write_json_atomic, write_text_atomic
from eeg_gnn.utils.parallel import limited_threads

INCOMPLETE = "INCOMPLETE"


@dataclass
class Results:
    """Where a run went and what it measured (the content of ``results.json``)."""

    run_dir: Path
    results: dict
    data_quality: dict = field(default_factory=dict)
    confounds: dict = field(default_factory=dict)

    def summary(self) -> str:
        return "\n".join([format_summary(self.results, self.run_dir), *describe_data_quality(self.data_quality),
                          *describe_confounds(self.confounds)])


def package_versions() -> dict[str, str]:
    """The versions a run depends on, from the installed packages' metadata (nothing is imported for it)."""
    from importlib.metadata import version

    import torch

    return {"eeg_gnn": __version__, "python": platform.python_version(), "torch": torch.__version__,
            **{name: version(name) for name in ("torch_geometric", "mne", "numpy", "scipy", "scikit-learn")}}


def new_run_dir(config: TrainConfig) -> Path:
    """Create a fresh directory ``<out>/<task>_<dataset>_<model>_<graph>_<timestamp>[-N]``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = config.out_path / f"{config.task}_{config.dataset}_{config.model}_{config.graph}_{stamp}"
    for attempt in range(1, 1000):
        candidate = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
        try:
            config.out_path.mkdir(parents=True, exist_ok=True)
            candidate.mkdir()
            return candidate
        except FileExistsError:
            if not config.out_path.is_dir():
                raise NotADirectoryError(f"--out {config.out_path} is a file, not a folder; choose a folder for "
                                         "run directories.") from None
            continue
        except OSError as exc:
            raise OSError(exc.errno, f"Could not create a run directory in --out {config.out_path}: "
                                     f"{exc.strerror}. Choose a folder you can write to.") from exc
    raise FileExistsError(f"Could not create a new run directory next to {base}.")


def window_labels(dataset: Dataset, recording_index: int, onsets: np.ndarray, window_s: float,
                  epoch: tuple[float, float] | None = None) -> np.ndarray:
    """Class index of each window; -1 for windows outside every labelled interval.

    With ``epoch`` (event-locked windows), a window takes the class of the interval whose onset is its event
    (``onset - tmin``), however long the interval lasts.
    """
    recording = dataset.recordings[recording_index]
    if recording.label is not None:
        return np.full(len(onsets), dataset.classes.index(recording.label))
    intervals = recording.intervals or [(i["label"], i["start"], i["end"]) for i in dataset.descriptor.get("intervals", [])]
    if epoch is not None:
        return event_window_labels(onsets, intervals, dataset.classes, epoch[0])
    labels = np.full(len(onsets), -1)
    for label, start, end in intervals:
        inside = (onsets >= start) & (onsets + window_s <= end)
        labels[inside] = dataset.classes.index(label)
    return labels


def assemble_adjacency(config: TrainConfig, node_names: list[str], per_recording: list[np.ndarray] | None) -> np.ndarray:
    """The adjacency the model sees: one distance graph for all windows, or the windows' own connectivity.

    Parameters
    ----------
    per_recording : list of ndarray, shape (n_windows_r, n_nodes, n_nodes), or None
        Connectivity of each recording's kept windows (None for distance graphs).

    Returns
    -------
    ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
    """
    if config.graph in DISTANCE_GRAPHS:
        method = "gaussian" if config.graph == "distance" else "knn"
        adjacency = distance_adjacency(positions(node_names, kind="scalp"), method)
    else:
        if config.graph_scope == "recording":
            per_recording = [np.broadcast_to(a.mean(axis=0), a.shape) if len(a) else a for a in per_recording]
        adjacency = np.concatenate(per_recording)
    if config.top_k is not None:
        adjacency = sparsify(adjacency, top_k=config.top_k)
    return np.ascontiguousarray(adjacency, dtype=np.float32)


def build_samples(config: TrainConfig, dataset: Dataset, extracted: list[RecordingFeatures]) -> Samples:
    """Stack every recording's labelled windows, with subjects, recordings and the adjacency the config asks for."""
    parts = {key: [] for key in ("features", "adjacency", "covariance", "labels", "subjects", "recordings", "window",
                                 "onsets")}
    for index, (recording, result) in enumerate(zip(dataset.recordings, extracted)):
        labels = window_labels(dataset, index, result.onsets, config.window, config.epoch)
        keep = labels >= 0
        n = int(keep.sum())
        parts["features"].append(result.features[keep])
        if result.adjacency is not None:
            parts["adjacency"].append(result.adjacency[keep])
        if result.covariance is not None:
            parts["covariance"].append(result.covariance[keep])
        parts["labels"].append(labels[keep])
        parts["subjects"].append(np.full(n, recording.subject, dtype=object))
        parts["recordings"].append(np.full(n, recording.recording_id, dtype=object))
        parts["window"].append(np.flatnonzero(keep))
        parts["onsets"].append(result.onsets[keep])
    node_names = list(extracted[0].node_names)
    labels = np.concatenate(parts["labels"]).astype(np.int64)
    subjects = np.concatenate(parts["subjects"]).astype(str)
    onsets = np.concatenate(parts["onsets"])
    recordings = np.concatenate(parts["recordings"]).astype(str)
    if config.cv == "time-blocks":
        groups = time_blocks(labels, subjects, recordings, onsets, config.folds, config.window)
    elif config.cv in PROTOCOLS:
        groups = PROTOCOLS[config.cv].make_groups(recordings)
    else:
        groups = subjects
    keep = groups != ""
    adjacency = assemble_adjacency(config, node_names, parts["adjacency"] or None)
    samples = Samples(
        features=np.concatenate(parts["features"]).astype(np.float32)[keep],
        adjacency=adjacency[keep] if adjacency.ndim == 3 else adjacency,
        labels=labels[keep],
        subjects=subjects[keep],
        recordings=recordings[keep],
        groups=groups[keep],
        window_index=np.concatenate(parts["window"])[keep],
        onsets=onsets[keep],
        node_names=node_names,
        covariance=np.concatenate(parts["covariance"])[keep] if parts["covariance"] else None,
    )
    if len(samples.labels) == 0:
        raise ValueError(f"No labelled window in dataset {dataset.name!r}.")
    if config.align == "subject":
        check_alignable(samples.labels, samples.subjects, dataset.classes)
        samples.features = standardise_per_subject(samples.features, samples.subjects)
        if samples.covariance is not None:
            samples.covariance = recentre_per_subject(samples.covariance, samples.subjects).astype(np.float32)
    return samples


def describe_protocol(cv: str, n_folds: int) -> tuple[str, str | None]:
    """How the folds were made (a short name) and, for protocols that are not across subjects, the caveat."""
    if cv == "time-blocks":
        return (f"{n_folds}-fold contiguous time blocks within one patient's recordings",
                "a within-patient result: it says nothing about other patients")
    if cv in PROTOCOLS:
        return PROTOCOLS[cv].description.format(n_folds=n_folds), PROTOCOLS[cv].caveat
    kind = "leave-one-subject-out" if cv == "loso" else f"{n_folds}-fold stratified group k-fold"
    return f"{kind} by subject", None


def check_inner_folds(config: TrainConfig, folds: list[Fold], samples: Samples, classes: list[str]) -> None:
    """Refuse, before any training, folds whose training side is too small for the inner CV that chooses C (the
    baselines', and a graph model fitted as an estimator: ``tangent_graph``)."""
    if not config.baselines and config.model not in ESTIMATOR_MODELS:
        return
    for fold in folds:
        train = np.isin(samples.groups, fold.train_subjects + fold.val_subjects)
        labels, groups = samples.labels[train], samples.groups[train]
        if inner_fold_capacity(labels, groups) < 2:
            counts = {classes[c]: n for c, n in groups_per_class(labels, groups).items()}
            worst = min(counts, key=counts.get)
            raise ValueError(
                f"Fold {fold.index}'s training side has {counts[worst]} subject(s) with windows of class {worst!r}; "
                f"the baselines (and --model tangent_graph) choose C by an inner cross-validation over training "
                f"subjects, which needs at least 2 subjects of each class (up to {INNER_FOLDS} are used). Use fewer "
                f"--folds, or --baselines none.")


def run_fold(fold: Fold, *, config: TrainConfig, samples: Samples, n_classes: int,
             plan: SelectionPlan | None = None) -> FoldResult:
    """One fold's task, here or in a worker: :func:`fit_fold` (or its nested selection), threads limited."""
    with limited_threads(config.threads):
        if plan is None:
            return fit_fold(config, samples, fold, n_classes)
        return fit_selected_fold(plan, fold, n_classes)


def run_model(task: tuple[Fold, str], *, config: TrainConfig, samples: Samples, n_classes: int) -> ModelFit:
    """One model of one fold, ``task = (fold, name)``, in a worker: :func:`fit_model`, threads limited."""
    fold, name = task
    with limited_threads(config.threads):
        return fit_model(config, samples, fold, n_classes, name)


def cross_validate(config: TrainConfig, dataset: Dataset, samples: Samples, run_dir: Path,
                   plan: SelectionPlan | None = None) -> tuple[list[Fold], list[FoldResult]]:
    """Make the folds (saved to ``folds.csv``), run every fold (with nested selection when ``plan`` is given) on
    the run's executor (``--n-jobs``, ``--scheduler``), and save each fold's models and TensorBoard logs as it
    finishes.

    Serial runs go fold by fold. Workers get one task per model of each fold (the graph model, each control, each
    baseline: 25 tasks for the default 5 folds instead of 5, so two workers, or fifty, share the work evenly),
    except with nested selection, whose inner cross-validation is one task per fold. The numbers do not depend on
    the split (see :func:`eeg_gnn.pipeline.folds.fit_model`)."""
    folds = make_folds(samples.labels, samples.groups, n_splits=config.folds, method=config.cv,
                       val_fraction=config.val_fraction, seed=config.seed, class_names=dataset.classes)
    check_inner_folds(config, folds, samples, dataset.classes)
    if plan is not None:
        for fold in folds:
            inner_folds(samples, fold, plan.selection, config)
    save_folds(folds, run_dir / "folds.csv")
    (run_dir / "checkpoints").mkdir()

    def save(index: int, result: FoldResult) -> None:
        save_fold(result, run_dir / "checkpoints")
        _log_histories(run_dir, result)

    executor = config.executor()
    # workers' epoch bars would interleave with the tasks bar: with workers, the tasks bar alone shows progress
    task_config = config if executor.serial else replace(config, progress=False)
    shared = {"config": task_config, "samples": samples, "n_classes": len(dataset.classes)}
    if executor.serial or plan is not None:
        results = executor.map(run_fold, folds, shared={**shared, "plan": plan}, desc="folds", unit="fold",
                               progress=config.progress, on_result=save)
        return folds, results
    names = model_names(config)
    # the slowest kind of model first, so that the last tasks to finish are short ones (workers end together)
    tasks = [(position, name) for name in sorted(names, key=_slowest_first) for position in range(len(folds))]
    fitted: list[dict[str, ModelFit]] = [{} for _ in folds]
    results: list[FoldResult | None] = [None] * len(folds)

    def collect(index: int, fit: ModelFit) -> None:
        position, name = tasks[index]
        fitted[position][name] = fit
        if len(fitted[position]) == len(names):
            fold = folds[position]
            results[position] = FoldResult(fold, tested_rows(samples, fold), {model: fitted[position][model]
                                                                              for model in names})
            save(position, results[position])

    executor.map(run_model, [(folds[position], name) for position, name in tasks], shared=shared, desc="models",
                 unit="model", progress=config.progress, on_result=collect)
    return folds, results


def _slowest_first(name: str) -> int:
    """Baselines on covariance matrices (a Riemannian mean per band: about twice a graph model's time on EEGMAT)
    first, then graph models, then the other baselines."""
    if name in BASELINES:
        return 0 if BASELINES[name].input == "covariance" else 2
    return 1


def _log_histories(run_dir: Path, result: FoldResult) -> None:
    """Losses and validation scores per epoch of every graph model of a fold (``tensorboard/fold_K[_<name>]``)."""
    from torch.utils.tensorboard import SummaryWriter

    for name, fit in result.models.items():
        if not fit.history:
            continue
        suffix = "" if name == PRIMARY else f"_{name}"
        with SummaryWriter(str(run_dir / "tensorboard" / f"fold_{result.fold.index}{suffix}")) as writer:
            for record in fit.history:
                for key, value in record.items():
                    if key != "epoch":
                        writer.add_scalar(key.replace("_", "/", 1), value, record["epoch"])


def collect_predictions(results: list[FoldResult], samples: Samples, classes: list[str],
                        names: list[str]) -> Predictions:
    """Gather every fold's test probabilities (rounded as saved) and decision thresholds, in window order."""
    n = len(samples.labels)
    folds = np.full(n, -1)
    proba = {name: np.full((n, len(classes)), np.nan) for name in names}
    thresholds = {name: np.full(n, np.nan) for name in names}
    for result in results:
        folds[result.test_index] = result.fold.index
        for name in names:
            fit = result.models[name]
            proba[name][result.test_index] = round_proba(fit.test_proba)
            if fit.threshold is not None:
                thresholds[name][result.test_index] = fit.threshold
    tested = folds >= 0
    return Predictions(**samples.table(tested), folds=folds[tested],
                       proba={name: values[tested] for name, values in proba.items()}, classes=list(classes),
                       thresholds={name: values[tested] for name, values in thresholds.items()})


def validation_summary(results: list[FoldResult], name: str = PRIMARY) -> dict:
    """Validation-subject scores at each fold's best epoch: what model selection may look at (never the test).
    A fold whose graph model is not a network (nested selection chose ``tangent_graph``) has no epoch: None."""
    fits = [r.models[name] for r in results]
    best = [next(h for h in fit.history if h["epoch"] == fit.info["best_epoch"]) for fit in fits
            if "best_epoch" in fit.info]
    summary = {"best_epoch": [fit.info.get("best_epoch") for fit in fits]}
    for key in ("val_loss", "val_balanced_accuracy"):
        values = [h[key] for h in best if key in h]
        if values:
            summary[f"mean_{key}"] = float(np.mean(values))
    return summary


def inner_cv_summary(results: list[FoldResult], name: str) -> dict:
    """A model's choice of ``C`` per fold: ``C``, its inner-CV score, the number of inner folds, the range of ``C``
    searched (``C_range``: [smallest, largest]) and ``at_grid_edge`` (the choice is an end of that range, so a better
    ``C`` may lie outside it; see :class:`eeg_gnn.models.baselines.TunedLogisticRegression`)."""
    return {key: [r.models[name].info.get(key) for r in results]
            for key in ("C", "inner_score", "inner_folds", "C_range", "at_grid_edge")}


def thresholds_summary(config: TrainConfig, results: list[FoldResult], names: list[str]) -> dict:
    """``{"method", "per_fold": {name: [threshold of each fold or None]}}``."""
    return {"method": config.threshold,
            "per_fold": {name: [r.models[name].threshold for r in results] for name in names}}


def hparams(config: TrainConfig) -> dict:
    """Every setting as a TensorBoard hyper-parameter: numbers, text and booleans as they are, the rest as text."""
    return {name: value if isinstance(value, (int, float, str, bool)) else json.dumps(value, default=str)
            for name, value in config.to_dict().items()}


def _log_final(run_dir: Path, config: TrainConfig, models: dict, classes: list[str], level: str) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(run_dir / "tensorboard" / "summary")) as writer:
        final = {}
        for name, report in models.items():
            for lvl in ("window", level):
                for metric in ("balanced_accuracy", "roc_auc"):
                    value = report.get(lvl, {}).get(metric)
                    if value is not None:
                        final[f"hparam/{name}_{lvl}_{metric}"] = value
        writer.add_hparams(hparams(config), final, run_name=".")
        for name, report in models.items():
            figure = confusion_matrix_figure(report["window"]["confusion_matrix"], classes)
            writer.add_figure(f"confusion_matrix/{name}", figure)


def missing_from(dataset: Dataset) -> dict:
    """A folder cohort's subjects without recordings and recordings without subjects (``--on-missing warn``)."""
    missing = dataset.descriptor.get("missing", {})
    return {key: list(values) for key, values in missing.items() if values}


def without_dropped(dataset: Dataset, extracted: list[RecordingFeatures]) -> tuple[Dataset, list[RecordingFeatures]]:
    """The dataset without the recordings left out (``--bad-channels drop-recording`` or ``interpolate-or-drop``)."""
    kept = [i for i, result in enumerate(extracted) if not result.dropped]
    if len(kept) == len(extracted):
        return dataset, extracted
    if not kept:
        raise ValueError(f"Every recording of {dataset.name!r} in {dataset.root} was left out for bad nodes or "
                         "because no window passed (--bad-channels); relax --max-bad-fraction, --clipping or "
                         "--rail-uv, or look at a recording with eeg-gnn info FILE.")
    subset = Dataset(dataset.name, dataset.root, dataset.descriptor, [dataset.recordings[i] for i in kept])
    return subset, [extracted[i] for i in kept]


def check_dataset(config: TrainConfig, dataset: Dataset) -> None:
    """Refuse settings that cannot work with this dataset (checked before any feature is computed, and again
    after recordings were left out)."""
    if len(dataset.subjects) < 2 and config.cv != "time-blocks" and config.cv not in PROTOCOLS:
        raise ValueError(
            f"Dataset {dataset.name!r} has {len(dataset.subjects)} subject: cross-subject folds need at least two. "
            "Use --cv time-blocks for a within-patient evaluation (contiguous time blocks of the recording)."
        )
    labels = {r.label for r in dataset.recordings if r.label is not None}
    if dataset.label_level != "window" and len(labels) < 2:
        raise ValueError(f"Dataset {dataset.name!r} in {dataset.root} has recordings of one class only "
                         f"({', '.join(sorted(labels)) or 'none'}): nothing to classify.")
    n_nodes = len(resolve_nodes(dataset.nodes))
    if config.top_k is not None and config.top_k >= n_nodes:
        raise ValueError(f"--top-k {config.top_k} must be below the number of nodes ({n_nodes}).")


def prepare_selection(config: TrainConfig) -> tuple[Selection, list[TrainConfig]] | None:
    """The grid of ``--select`` and its candidates, checked (None without ``--select``); before any work."""
    if config.select is None:
        return None
    if config.cv == "time-blocks" or config.cv in PROTOCOLS:
        raise ValueError(f"--select chooses by an inner cross-validation over subjects; --cv {config.cv} does not "
                         "split by subject: use --cv group-kfold or loso.")
    selection = read_grid(config.select)
    return selection, candidate_configs(config, selection)


def selection_plan(config: TrainConfig, dataset: Dataset, samples: Samples, selection: Selection,
                   candidates: list[TrainConfig]) -> SelectionPlan:
    """Each candidate's samples: the run's own where its features and graphs are the run's, else extracted once per
    distinct set of feature and graph settings (and cached like the run's); all on the run's windows."""
    by_key = {samples_key(config): samples}
    for settings, candidate in zip(selection.candidates, candidates):
        key = samples_key(candidate)
        if key not in by_key:
            extracted, _ = extract_dataset(dataset, candidate.preprocessing(), candidate.feature_spec(),
                                           use_cache=config.use_cache, progress=config.progress,
                                           executor=config.executor())
            by_key[key] = build_samples(candidate, dataset, extracted)
            check_same_windows(samples, by_key[key], settings)
    return SelectionPlan(selection, config, samples, candidates, [by_key[samples_key(c)] for c in candidates])


def selection_summary(selection: Selection, results: list[FoldResult]) -> dict:
    """``results.json``'s ``selection``: the grid, how it was scored, and each fold's choice and inner scores."""
    return {
        "grid": selection.path, "metric": selection.metric, "level": "window", "inner_folds": selection.inner_folds,
        "settings": {name: list(values) for name, values in selection.grid.items()},
        "candidates": selection.candidates,
        "per_fold": [{"fold": r.fold.index, "chosen": r.selection["chosen"], "settings": r.selection["settings"],
                      "inner_score": r.selection["mean"][r.selection["chosen"]], "inner_means": r.selection["mean"],
                      "inner_scores": r.selection["scores"]} for r in results],
    }


def write_selection_csv(path: Path, selection: Selection, results: list[FoldResult]) -> Path:
    """``selection.csv``: one row per outer fold and candidate, its inner score per inner fold, mean, chosen."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    n_inner = max(len(row) for r in results for row in r.selection["scores"])
    writer.writerow(["fold", "candidate", *selection.grid, *(f"inner_{j}" for j in range(n_inner)),
                     f"mean_{selection.metric}", "chosen"])
    for r in results:
        for i, settings in enumerate(selection.candidates):
            writer.writerow([r.fold.index, i, *(_csv_value(settings[name]) for name in selection.grid),
                             *(f"{v:.4f}" for v in r.selection["scores"][i]), f"{r.selection['mean'][i]:.4f}",
                             "yes" if i == r.selection["chosen"] else "no"])
    return write_text_atomic(path, stream.getvalue())


def _csv_value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


REPEATED_METRICS = ("balanced_accuracy", "roc_auc", "accuracy")


def run_repeats(config: TrainConfig, first: dict, run_dir: Path) -> dict:
    """Run the other fold assignments of ``--repeats`` (seeds ``seed + 1, ...``), each a complete run saved in
    ``RUN/repeats/seed_<s>/``, and summarise all of them with ``first`` (this run's own results).

    Returns
    -------
    dict
        ``results.json``'s ``repeats``: see :func:`repeats_summary`.
    """
    folder = run_dir / "repeats"
    reports, dirs = [first], ["."]
    for offset in range(1, config.repeats):
        seed = config.seed + offset
        repeat = run_cv(replace(config, seed=seed, repeats=1, out=str(folder)))
        target = folder / f"seed_{seed}"
        repeat.run_dir.rename(target)
        reports.append(repeat.results)
        dirs.append(str(target.relative_to(run_dir)))
    summary = repeats_summary([config.seed + offset for offset in range(config.repeats)], reports, dirs)
    scores = [subject_scores(read_predictions(run_dir / where / "predictions.csv", first["classes"]),
                             first["label_level"]) for where in dirs]
    summary["pooled_comparisons"] = pooled_comparisons(scores, PRIMARY, n_boot=config.n_boot, seed=config.seed)
    return summary


def repeats_summary(seeds: list[int], reports: list[dict], dirs: list[str]) -> dict:
    """The spread of every model's scores over repeated fold assignments, and the paired comparisons of each.

    The paired comparisons of each repeat are listed as its own ``results.json`` has them (within the repeat);
    :func:`run_repeats` adds ``pooled_comparisons``, over each subject's score averaged over the repeats.

    Returns
    -------
    dict
        ``seeds``, ``run_dirs``, ``distinct_fold_assignments``; ``models``: ``{name: {level: {metric: {"per_repeat",
        "mean", "sd", "min", "max"}}}}`` (sd with ddof 1); ``comparisons``: one entry per compared model, level and
        metric with ``per_repeat`` mean differences, their ``ci95`` and ``verdicts``.
    """
    models: dict[str, dict] = {}
    for name in reports[0]["models"]:
        for level, report in reports[0]["models"][name].items():
            if not isinstance(report, dict) or "balanced_accuracy" not in report:
                continue
            for metric in REPEATED_METRICS:
                values = [r["models"][name].get(level, {}).get(metric) for r in reports]
                if any(v is None for v in values):
                    continue
                array = np.asarray(values, dtype=float)
                models.setdefault(name, {}).setdefault(level, {})[metric] = {
                    "per_repeat": [float(v) for v in array], "mean": float(array.mean()),
                    "sd": float(array.std(ddof=1)) if len(array) > 1 else 0.0,
                    "min": float(array.min()), "max": float(array.max())}
    comparisons = []
    for entry in reports[0].get("comparisons", []):
        key = (entry["against"], entry["level"], entry["metric"])
        matches = [next((e for e in r.get("comparisons", []) if (e["against"], e["level"], e["metric"]) == key),
                        None) for r in reports]
        if any(m is None for m in matches):
            continue
        comparisons.append({"model": entry["model"], "against": key[0], "level": key[1], "metric": key[2],
                            "per_repeat": [m["mean_difference"] for m in matches],
                            "ci95": [m["ci95"] for m in matches], "p_holm": [m["p_holm"] for m in matches],
                            "verdicts": [m["verdict"] for m in matches]})
    return {"seeds": seeds, "run_dirs": dirs, "distinct_fold_assignments": len({json.dumps(sorted(r["fold_test_subjects"]))
                                                                             for r in reports}),
            "models": models, "comparisons": comparisons}


def run_cv(config: TrainConfig) -> Results:
    """Run cross-validation as ``config`` says and save everything needed to check and rerun it.

    Parameters
    ----------
    config : TrainConfig

    Returns
    -------
    Results
        The run directory and the content of its ``results.json``.
    """
    config.check_device()
    if has_descriptor(config.dataset):
        from eeg_gnn.data.fetch import ensure_dataset

        ensure_dataset(config.dataset, config.data_dir, download=config.download, progress=config.progress)
    dataset = load_dataset(config.dataset, config.data_dir, read_kwargs=config.read_kwargs(),
                           event_labels=config.event_labels, **config.dataset_options())
    if config.nodes is not None:
        dataset.descriptor = {**dataset.descriptor, "nodes": config.nodes}
    check_dataset(config, dataset)
    selecting = prepare_selection(config)
    for candidate in selecting[1] if selecting else []:
        check_dataset(candidate, dataset)
    run_dir = new_run_dir(config)
    marker = run_dir / INCOMPLETE
    marker.write_text("This run has not finished (it is running, failed or was interrupted); do not use it.\n")
    started = time.time()
    saved_config = {
        **({"transductive": TRANSDUCTIVE} if config.align != "none" else {}),
        "config": config.to_dict(), "preprocessing_steps": config.preprocessing().steps(),
        "versions": package_versions(), "command": sys.argv,
        "dataset": {"name": dataset.name, "root": str(dataset.root), "classes": dataset.classes,
                    "recordings": [{"id": r.recording_id, "subject": r.subject, "label": r.label,
                                    "path": str(r.path.resolve()),
                                    "intervals": [list(i) for i in r.intervals]} for r in dataset.recordings]},
    }
    write_json_atomic(run_dir / "config.json", saved_config)
    write_text_atomic(run_dir / "config.toml", config.to_toml())
    try:
        extracted, n_cached = extract_dataset(dataset, config.preprocessing(), config.feature_spec(),
                                              use_cache=config.use_cache, progress=config.progress,
                                              executor=config.executor())
        quality = {**data_quality(dataset, extracted), **missing_from(dataset)}
        dataset, extracted = without_dropped(dataset, extracted)
        kept = {r.recording_id for r in dataset.recordings}
        saved_config["dataset"]["recordings"] = [r for r in saved_config["dataset"]["recordings"] if r["id"] in kept]
        saved_config["confounds"] = confound_report(dataset, [r.properties for r in extracted])
        if config.progress:
            for line in describe_confounds(saved_config["confounds"])[:1]:
                print(f"eeg-gnn: {line.removeprefix('warning: ')}", file=sys.stderr)
        write_json_atomic(run_dir / "config.json", {**saved_config, **({"data_quality": quality} if quality else {})})
        check_dataset(config, dataset)
        samples = build_samples(config, dataset, extracted)
        plan = selection_plan(config, dataset, samples, *selecting) if selecting else None
        folds, fold_results = cross_validate(config, dataset, samples, run_dir, plan)
        names = model_names(config)
        predictions = collect_predictions(fold_results, samples, dataset.classes, names)
        write_predictions(run_dir / "predictions.csv", predictions)
        evaluation = evaluate_predictions(config, predictions, dataset.label_level)
        models = {name: {**describe_models(config)[name], **evaluation["models"][name]} for name in names}
        if any("best_epoch" in r.models[PRIMARY].info for r in fold_results):
            models[PRIMARY]["validation"] = validation_summary(fold_results)
        for name in names[:len(config.controls) + 1]:  # graph models fitted as estimators (tangent_graph)
            if any("C" in r.models[name].info for r in fold_results):
                models[name]["inner_cv"] = inner_cv_summary(fold_results, name)
        for name in config.baselines:
            models[name]["inner_cv"] = inner_cv_summary(fold_results, name)
        level = aggregation_level(dataset.label_level)
        _log_final(run_dir, config, models, dataset.classes, level)
        results = {
            "task": config.task, "dataset": dataset.name, "classes": dataset.classes,
            "label_level": dataset.label_level, "cv": config.cv, "n_folds": len(folds),
            "n_subjects": len(dataset.subjects), "n_recordings": len(dataset.recordings),
            "n_windows": int(len(samples.labels)), "node_names": samples.node_names,
            "n_rejected_windows": int(sum(r.n_rejected for r in extracted)),
            "features_from_cache": n_cached, "seconds": round(time.time() - started, 1),
            "model_name": config.model, "graph": config.graph,
            "primary": PRIMARY, "models": models, "comparisons": evaluation["comparisons"],
            "thresholds": thresholds_summary(config, fold_results, names),
            "fold_test_subjects": [sorted(map(str, fold.test_subjects)) for fold in folds],
        }
        if config.align != "none":
            results["alignment"] = {"align": config.align, "transductive": True, "note": TRANSDUCTIVE}
        if config.repeats > 1:
            results["repeats"] = run_repeats(config, results, run_dir)
            results["seconds"] = round(time.time() - started, 1)
        if plan is not None:
            write_selection_csv(run_dir / "selection.csv", plan.selection, fold_results)
            results["selection"] = selection_summary(plan.selection, fold_results)
            models[PRIMARY]["description"] = (f"the configuration chosen in each fold by nested selection over "
                                              f"{len(plan.candidates)} candidates ({', '.join(plan.selection.grid)})")
        szcore = seizure_scores(config, dataset, extracted, predictions, run_dir)
        if szcore is not None:
            results["szcore"] = szcore
        write_tidy_scores(run_dir / "scores.csv", config, dataset, predictions, fold_results, szcore)
        write_json_atomic(run_dir / "results.json", results)
    except KeyboardInterrupt as exc:
        marker.write_text("This run was interrupted before it finished; do not use it.\n")
        raise KeyboardInterrupt(f"interrupted: the unfinished run in {run_dir} is marked {INCOMPLETE} (delete it, "
                                "or train again)") from exc
    except Exception:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    marker.unlink()
    return Results(run_dir, results, quality, saved_config["confounds"])


def seizure_scores(config: TrainConfig, dataset: Dataset, extracted: list[RecordingFeatures],
                   predictions: Predictions, run_dir: Path) -> dict | None:
    """SzCORE event and sample scores of a seizure run (a dataset with an ``ictal`` class), with every test
    recording's predicted and reference events written to ``szcore/`` (see :mod:`eeg_gnn.evaluation.szcore`);
    None for other runs, ``{"unavailable": why}`` when the ``timescoring`` package is not installed."""
    if ICTAL not in dataset.classes:
        return None
    try:
        timescoring_module()
    except ImportError as exc:
        return {"unavailable": str(exc)}
    tested = set(predictions.recordings.tolist())
    references = {}
    for recording, result in zip(dataset.recordings, extracted):
        if recording.recording_id not in tested:
            continue
        intervals = recording.intervals or [(i["label"], i["start"], i["end"])
                                            for i in dataset.descriptor.get("intervals", [])]
        events = [(float(start), float(end)) for label, start, end in intervals if label == ICTAL]
        ends = [float(result.onsets.max()) + config.window] if len(result.onsets) else []
        references[recording.recording_id] = Reference(recording.subject, events,
                                                       max(ends + [end for _, end in events] + [config.window]))
    return score_models(predictions, references, config.window, folder=run_dir / "szcore", n_boot=config.n_boot,
                        seed=config.seed)


def write_tidy_scores(path: Path, config: TrainConfig, dataset: Dataset, predictions: Predictions,
                      fold_results: list[FoldResult], szcore: dict | None = None) -> Path:
    """``scores.csv``: every model's scores per subject (and session) in long form (see
    :mod:`eeg_gnn.evaluation.tidy`), with the SzCORE scores of seizure runs."""
    sessions = {r.recording_id: r.session for r in dataset.recordings if r.session}
    fit_seconds = {}
    for result in fold_results:
        for name, fit in result.models.items():
            fit_seconds.setdefault(name, {})[result.fold.index] = fit.seconds
    rows = tidy_scores(predictions, dataset.label_level, dataset=dataset.name, evaluation=config.cv,
                       sessions=sessions, fit_seconds=fit_seconds)
    if szcore is not None and "models" in szcore:
        rows += szcore_rows(szcore["models"], dataset=dataset.name, evaluation=config.cv)
    return write_scores(path, rows)


def evaluate_predictions(config: TrainConfig, predictions: Predictions, label_level: str) -> dict:
    """What ``results.json`` computes from ``predictions.csv``: every model's metrics and the paired comparisons.

    Returns
    -------
    dict
        ``{"models": {name: metrics}, "comparisons": [...]}`` (see :func:`eeg_gnn.evaluation.scoring.score` and
        :func:`eeg_gnn.evaluation.scoring.compare_models`).
    """
    models = score(predictions, label_level, n_boot=config.n_boot, seed=config.seed,
                   window_step_s=config.window * (1 - config.overlap))
    comparisons = compare_models(predictions, label_level, PRIMARY, n_boot=config.n_boot, seed=config.seed)
    return {"models": models, "comparisons": comparisons}


def format_metric(summary: dict, metric: str) -> str:
    """``'0.812 [0.700, 0.900]'``: a metric with its 95 % interval, or ``'n/a'``."""
    value = summary.get(metric)
    if value is None:
        return "n/a"
    interval = summary.get("ci95", {}).get(metric)
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else f"{value:.3f}"


def _repeat_lines(repeats: dict, levels: list[str], width: int) -> list[str]:
    seeds = repeats["seeds"]
    lines = [f"over {len(seeds)} fold assignments (seeds {', '.join(map(str, seeds))}; "
             f"{repeats['distinct_fold_assignments']} distinct): mean ± sd [min, max] of each repeat's score"]
    for name, report in repeats["models"].items():
        cells = []
        for level in levels:
            for metric in ("balanced_accuracy", "roc_auc"):
                spread = report.get(level, {}).get(metric)
                cells.append(f"{spread['mean']:.3f}±{spread['sd']:.3f} [{spread['min']:.2f}, {spread['max']:.2f}]"
                             if spread else "n/a")
        lines.append(f"{name:<{width}}" + "".join(f"{cell:<24}" for cell in cells).rstrip())
    lines.append("graph minus each other model in each repeat (per subject, paired within the repeat), verdicts:")
    for entry in repeats["comparisons"]:
        if entry["metric"] == "balanced_accuracy":
            words = ", ".join(entry["verdicts"])
            lines.append(f"  {entry['level']:<10}{entry['against']:<{width - 10}}"
                         + " ".join(f"{d:+.3f}" for d in entry["per_repeat"]) + f" per repeat: {words}")
    if repeats.get("pooled_comparisons"):
        lines.append("graph minus each other model, each subject's score averaged over the repeats (mean [95% CI], "
                     "sign-flip p over subjects, Holm-adjusted):")
        lines += [_comparison_line(entry, width) for entry in repeats["pooled_comparisons"]
                  if entry["metric"] == "balanced_accuracy"]
    return lines


def _szcore_lines(szcore: dict | None, width: int) -> list[str]:
    """The SzCORE scores of a seizure run: event and sample F1, sensitivity, precision, false positives per day."""
    if not szcore:
        return []
    if "models" not in szcore:
        return [f"SzCORE event scores skipped: {szcore['unavailable']}"]
    settings = szcore["settings"]
    lines = [f"SzCORE (timescoring; ictal windows merged into events across gaps <= {settings['merge_gap_s']:g} s, "
             f"events >= {settings['min_event_s']:g} s; tolerance -{settings['tolerance_start_s']:g}/"
             f"+{settings['tolerance_end_s']:g} s), mean over patients; events in szcore/:"]
    for name, report in szcore["models"].items():
        cells = [f"{level} F1 {report[level]['f1']:.2f} sens {report[level]['sensitivity']:.2f} "
                 f"prec {report[level]['precision']:.2f} FP/24h {report[level]['fp_per_24h']:.1f}"
                 for level in ("event", "sample")]
        lines.append(f"  {name:<{width - 2}}" + "; ".join(cells))
    return lines


def _comparison_line(entry: dict, width: int) -> str:
    """One paired comparison: mean difference [95 % CI], Holm-adjusted p, verdict and what it could detect."""
    low, high = entry["ci95"]
    line = (f"  {entry['level']:<10}{entry['against']:<{width - 10}}{entry['mean_difference']:+.3f} "
            f"[{low:+.3f}, {high:+.3f}]  p = {entry['p_holm']:.3g}: {entry['verdict']}")
    if "detectable_difference" in entry:
        line += f" ({describe_detectable(entry)})"
    return line


def _grid_edge_lines(name: str, report: dict) -> list[str]:
    """A warning when a model's ``C`` is at an edge of the grid it searched in some fold (none otherwise)."""
    inner = report.get("inner_cv", {})
    edges = [fold for fold, edge in enumerate(inner.get("at_grid_edge") or []) if edge]
    if not edges:
        return []
    chosen = ", ".join(f"{inner['C'][fold]:g}" for fold in edges)
    return [f"    {name}: C at the edge of the grid searched in fold(s) {', '.join(map(str, edges))} (C = {chosen}); "
            "a better C may lie outside it"]


def format_summary(results: dict, run_dir: Path) -> str:
    """One screen: the graph model, its controls and the baselines with 95 % intervals over subjects, then the
    paired comparisons of the graph model with each of them."""
    level = aggregation_level(results["label_level"])
    cv, caveat = describe_protocol(results["cv"], results["n_folds"])
    models = results["models"]
    levels = ["window"] + ([level] if any(level in m for m in models.values()) else [])
    width = max(len(name) for name in models) + 11
    header = "".join(f"{f'{lvl} {metric}':<24}" for lvl in levels for metric in ("BA", "AUC"))
    lines = [
        f"{results['task']} on {results['dataset']}: {results['n_subjects']} subjects, {results['n_recordings']} "
        f"recordings, {results['n_windows']} windows; {cv} ({results['seconds']} s)",
        f"{'model':<{width}}{header}".rstrip(),
    ]
    for name, report in models.items():
        cells = "".join(f"{format_metric(report.get(lvl, {}), metric):<24}" for lvl in levels
                        for metric in ("balanced_accuracy", "roc_auc"))
        label = f"{name} ({report['kind']})"
        line = f"{label:<{width}}{cells}"
        if "false_alarms_per_hour" in report["window"]:
            line += f"false alarms/h {report['window']['false_alarms_per_hour']:.1f}"
        lines.append(line.rstrip())
    for name, report in models.items():
        lines.append(f"  {name}: {report['description']}")
        lines += _grid_edge_lines(name, report)
    if results.get("selection"):
        chosen = results["selection"]
        lines.append(f"nested selection: {len(chosen['candidates'])} candidates, each fold chose by an inner "
                     f"{chosen['inner_folds']}-fold CV over its training subjects only (graph model, window "
                     f"{chosen['metric']}); see selection.csv")
        for entry in chosen["per_fold"]:
            lines.append(f"  fold {entry['fold']}: {describe_candidate(entry['settings'])} (inner "
                         f"{entry['inner_score']:.3f})")
    if results.get("repeats"):
        lines += _repeat_lines(results["repeats"], levels, width)
    if results.get("comparisons"):
        lines.append(f"{results['primary']} minus each other model, per subject (mean [95% CI], sign-flip p, Holm-adjusted):")
        lines += [_comparison_line(entry, width) for entry in results["comparisons"]
                  if entry["metric"] == "balanced_accuracy"]
    lines += _szcore_lines(results.get("szcore"), width)
    if caveat:
        over = "time blocks" if results["cv"] == "time-blocks" else "subjects"
        lines.append(f"{caveat}; intervals are over {over}")
    if results.get("alignment"):
        lines.append(f"evaluation {results['alignment']['note']}")
    lines.append(f"saved to {run_dir} (results.json, scores.csv, predictions.csv, folds.csv, tensorboard/, "
                 "checkpoints/)")
    return "\n".join(lines)
