"""Nested selection: each outer fold chooses one configuration by an inner cross-validation over its training
subjects only, and only that configuration is tested on the fold's test subjects.

A grid file (``--select GRID``) is a small TOML file::

    inner_folds = 3                    # inner folds by subject on each outer training side (default 3)
    metric = "balanced_accuracy"       # inner score of the graph model's windows: balanced_accuracy or roc_auc

    [grid]                             # every combination of these values is a candidate
    model = ["cheb", "gcn"]
    graph = ["plv", "distance"]
    cheb_k = 3                         # a single value is a one-element list

Every key of ``[grid]`` is a setting of :class:`~eeg_gnn.pipeline.config.TrainConfig` (the flags of
``eeg-gnn train`` with ``_`` for ``-``), except the ones that define the data, the folds or the evaluation
(:data:`NOT_SELECTABLE`). Each candidate is built as a full ``TrainConfig`` before anything is trained, so a value a
flag would refuse is refused here, in one line naming the candidate.

For outer fold ``k`` with training subjects ``T`` (its fit and validation subjects), the windows of ``T`` alone are
split into ``inner_folds`` stratified folds by subject (each with its own validation subjects for early
stopping); every candidate's graph model is trained on each inner training side and scored on the inner test
subjects (decision threshold from its inner validation subjects, as in the outer folds); the candidate with the
best mean inner score (the first in grid order among equals) is retrained on the whole outer training side, with
its graph controls, and tested on the outer test subjects. The baselines are not part of the grid: they are fitted
with the run's own settings and choose their ``C`` by their own inner CV.
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from eeg_gnn.evaluation.splitters import Fold, make_folds
from eeg_gnn.evaluation.thresholds import predict_with_threshold
from eeg_gnn.evaluation.windows import WindowTable
from eeg_gnn.models.baselines import groups_per_class
from eeg_gnn.models.training import Samples
from eeg_gnn.pipeline.config import TrainConfig, _coerce, config_fields
from eeg_gnn.pipeline.folds import PRIMARY, FoldResult, fit_baselines, fit_fold
from eeg_gnn.utils.validation import check_option

SELECTION_METRICS = ("balanced_accuracy", "roc_auc")
DEFAULT_INNER_FOLDS = 3
GRID_KEYS = ("grid", "inner_folds", "metric")
#: Settings a grid may not vary: they define the recordings, the windows, the folds, the models compared or the
#: output, so candidates differing in them would not be scored on the same windows and subjects.
NOT_SELECTABLE = ("task", "dataset", "data_dir", "sfreq", "units", "scale", "on_truncated", "window", "overlap",
                  "reject_uv", "cv", "folds", "seed", "select", "repeats", "baselines", "controls", "threshold",
                  "n_boot", "device", "threads", "out", "use_cache", "progress")
#: Sections whose settings change the samples (features, graphs); candidates equal in all of them share samples.
SAMPLE_SECTIONS = ("data", "preprocessing", "features", "graph")


@dataclass(frozen=True)
class Selection:
    """A grid of candidate settings and how to choose among them.

    Attributes
    ----------
    path : str
    grid : dict of str to tuple
        The values of each setting, in file order.
    inner_folds : int
    metric : str
        One of :data:`SELECTION_METRICS`, computed on the graph model's inner test windows.
    """

    path: str
    grid: dict[str, tuple]
    inner_folds: int = DEFAULT_INNER_FOLDS
    metric: str = "balanced_accuracy"

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """Every combination of the grid's values (the cartesian product, in file order)."""
        return [dict(zip(self.grid, values)) for values in itertools.product(*self.grid.values())]


def read_grid(path: str | Path) -> Selection:
    """Read and check a grid file (keys, setting names, value types; see the module docstring).

    Raises
    ------
    FileNotFoundError
    ValueError
        Not TOML, an unknown key or setting, a setting a grid may not vary, an empty grid or list, a bad
        ``inner_folds`` or ``metric``; one line naming it.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No grid file at {path}; give the path of a .toml file with a [grid] section "
                                "(see examples/workload_grid.toml).")
    try:
        document = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a valid TOML file: {exc}") from exc
    unknown = sorted(set(document) - set(GRID_KEYS))
    if unknown:
        raise ValueError(f"Unknown key {unknown[0]!r} in grid file {path}; allowed: {', '.join(GRID_KEYS)}.")
    table = document.get("grid")
    if not isinstance(table, dict) or not table:
        raise ValueError(f"Grid file {path} has an empty grid: add a [grid] section with at least one setting, "
                         "e.g. model = [\"cheb\", \"gcn\"].")
    known = config_fields()
    hints = get_type_hints(TrainConfig)
    grid = {}
    for name, values in table.items():
        if name not in known:
            raise ValueError(f"Unknown setting {name!r} in the grid of {path}; settings a grid can vary: "
                             f"{', '.join(n for n in known if n not in NOT_SELECTABLE)}.")
        if name in NOT_SELECTABLE:
            raise ValueError(f"Setting {name!r} in the grid of {path} cannot be selected: it defines the data, "
                             "windows, folds or evaluation that every candidate must share; set it for the run.")
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ValueError(f"Setting {name!r} in the grid of {path} has an empty list of values: the grid is "
                             "empty; give at least one value.")
        coerced = tuple(_coerce(name, value, hints[name], f"the grid of {path}") for value in values)
        grid[name] = tuple(dict.fromkeys(coerced, None)) if all(_hashable(v) for v in coerced) else coerced
    inner_folds = document.get("inner_folds", DEFAULT_INNER_FOLDS)
    if isinstance(inner_folds, bool) or not isinstance(inner_folds, int) or inner_folds < 2:
        raise ValueError(f"'inner_folds' in {path} must be a whole number of at least 2, got {inner_folds!r}.")
    metric = document.get("metric", "balanced_accuracy")
    try:
        check_option("metric", metric, SELECTION_METRICS)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return Selection(str(path), grid, inner_folds, metric)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def candidate_configs(config: TrainConfig, selection: Selection) -> list[TrainConfig]:
    """Every candidate as a full, checked :class:`TrainConfig`: the run's settings with the candidate's values.

    Raises
    ------
    ValueError
        A candidate :class:`TrainConfig` refuses, naming the candidate.
    """
    configs = []
    for settings in selection.candidates:
        try:
            configs.append(replace(config, **settings, select=None, repeats=1))
        except ValueError as exc:
            raise ValueError(f"Grid {selection.path}: candidate {describe_candidate(settings)}: {exc}") from None
    return configs


def describe_candidate(settings: dict[str, Any]) -> str:
    """``model=cheb, graph=plv``."""
    return ", ".join(f"{name}={_plain(value)}" for name, value in settings.items())


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def samples_key(config: TrainConfig) -> str:
    """What the samples of a configuration depend on: its settings of :data:`SAMPLE_SECTIONS`."""
    values = config.to_dict()
    return json.dumps({f.name: values[f.name] for f in fields(config)
                       if f.metadata["section"] in SAMPLE_SECTIONS}, sort_keys=True, default=str)


def check_same_windows(base: WindowTable, other: WindowTable, settings: dict[str, Any]) -> None:
    """Refuse a candidate whose samples are not the run's windows (same rows, subjects, labels)."""
    same = len(base) == len(other) and all(
        np.array_equal(getattr(base, f.name), getattr(other, f.name)) for f in fields(WindowTable))
    if not same:
        raise ValueError(f"Grid candidate {describe_candidate(settings)} changes the windows ({len(other)} instead "
                         f"of {len(base)}, or other subjects or labels); every candidate must be scored on the same "
                         "windows: take that setting out of the grid.")


def subset(samples: Samples, mask: np.ndarray) -> Samples:
    """The windows of ``mask`` alone (every per-window array cut; a graph shared by all windows kept)."""
    n = len(samples)
    changes = {}
    for f in fields(samples):
        value = getattr(samples, f.name)
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n:
            if f.name == "adjacency" and value.ndim == 2:
                continue
            changes[f.name] = value[mask]
    return replace(samples, **changes)


def inner_folds(samples: Samples, fold: Fold, selection: Selection, config: TrainConfig) -> list[Fold]:
    """The inner folds of outer ``fold``: stratified folds by subject over its training subjects only.

    Raises
    ------
    ValueError
        The training side has too few subjects of a class for ``selection.inner_folds`` folds; says how many it
        needs.
    """
    training = fold.train_subjects + fold.val_subjects
    mask = np.isin(samples.groups, training)
    labels, groups = samples.labels[mask], samples.groups[mask]
    counts = groups_per_class(labels, groups, classes=np.unique(samples.labels))
    worst = min(counts, key=counts.get)
    if counts[worst] < selection.inner_folds:
        raise ValueError(
            f"Fold {fold.index}'s training side has {counts[worst]} subject(s) with windows of class {worst}; nested "
            f"selection with inner_folds = {selection.inner_folds} needs at least {selection.inner_folds} subjects of "
            f"each class on every training side (and 2 more for early stopping: {selection.inner_folds + 2} in all "
            "is safer). Lower inner_folds in the grid file, or use fewer --folds.")
    return make_folds(labels, groups, n_splits=selection.inner_folds, method="group-kfold",
                      val_fraction=config.val_fraction, seed=config.seed)


@dataclass
class SelectionPlan:
    """Everything a fold needs to select and fit (plain data: it can be sent to a parallel worker).

    Attributes
    ----------
    selection : Selection
    config : TrainConfig
        The run's own settings (the baselines are fitted with them).
    samples : Samples
        The run's samples.
    candidates : list of TrainConfig
    candidate_samples : list of Samples
        The samples of each candidate (the same object where candidates share features and graphs).
    """

    selection: Selection
    config: TrainConfig
    samples: Samples
    candidates: list[TrainConfig]
    candidate_samples: list[Samples]


def inner_score(metric: str, labels: np.ndarray, proba: np.ndarray, threshold: float | None) -> float:
    """A candidate's score on one inner test side: balanced accuracy (thresholded) or ROC AUC of its windows."""
    if metric == "roc_auc":
        if len(np.unique(labels)) < 2:
            return float("nan")
        if proba.shape[1] == 2:
            return float(roc_auc_score(labels, proba[:, 1]))
        return float(roc_auc_score(labels, proba, multi_class="ovr", labels=np.arange(proba.shape[1])))
    return float(balanced_accuracy_score(labels, predict_with_threshold(proba, threshold)))


def score_candidates(plan: SelectionPlan, fold: Fold, n_classes: int) -> np.ndarray:
    """Every candidate's inner scores on outer ``fold``'s training subjects.

    The inner cross-validation sees only the windows of the fold's training subjects: the samples are cut to
    them before any inner fold is made.

    Returns
    -------
    ndarray, shape (n_candidates, n_inner_folds)
    """
    training = np.asarray(fold.train_subjects + fold.val_subjects)
    mask = np.isin(plan.samples.groups, training)
    folds = inner_folds(plan.samples, fold, plan.selection, plan.config)
    scores = np.full((len(plan.candidates), len(folds)), np.nan)
    inner_cache: dict[int, Samples] = {}
    for i, (candidate, samples) in enumerate(zip(plan.candidates, plan.candidate_samples)):
        inner = inner_cache.setdefault(id(samples), subset(samples, mask))
        quiet = replace(candidate, controls=(), baselines=(), progress=False)
        for j, inner_fold in enumerate(folds):
            result = fit_fold(quiet, inner, inner_fold, n_classes)
            fit = result.models[PRIMARY]
            scores[i, j] = inner_score(plan.selection.metric, inner.labels[result.test_index], fit.test_proba,
                                       fit.threshold)
    return scores


def fit_selected_fold(plan: SelectionPlan, fold: Fold, n_classes: int) -> FoldResult:
    """Choose a candidate on ``fold``'s training subjects, then fit it (with its controls) and the baselines on the
    whole training side and test them on the fold's test subjects (pure, like
    :func:`eeg_gnn.pipeline.folds.fit_fold`).

    Returns
    -------
    FoldResult
        With ``selection``: ``{"fold", "scores" (per candidate and inner fold), "mean", "chosen", "settings"}``;
        the graph model's ``info["selected"]`` holds the chosen settings.
    """
    scores = score_candidates(plan, fold, n_classes)
    means = np.array([np.nanmean(row) if np.isfinite(row).any() else -np.inf for row in scores])
    chosen = int(np.argmax(means))
    settings = plan.selection.candidates[chosen]
    result = fit_fold(replace(plan.candidates[chosen], baselines=()), plan.candidate_samples[chosen], fold,
                      n_classes)
    result.models.update(fit_baselines(plan.config, plan.samples, fold, n_classes))
    result.models[PRIMARY].info["selected"] = settings
    result.selection = {"fold": fold.index, "scores": scores.tolist(), "mean": means.tolist(), "chosen": chosen,
                        "settings": settings}
    return result
