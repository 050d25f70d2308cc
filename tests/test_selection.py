"""Nested selection (--select GRID): grid files, candidates, the inner CV that never sees test subjects."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from eeg_gnn.data.datasets import load_dataset
from eeg_gnn.evaluation.splitters import Fold
from eeg_gnn.models.training import Samples
from eeg_gnn.pipeline import selection as selection_module
from eeg_gnn.pipeline.apply import apply_run
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import run_cv
from eeg_gnn.pipeline.runs import load_run, recompute_results
from eeg_gnn.pipeline.selection import (
    SelectionPlan,
    candidate_configs,
    fit_selected_fold,
    inner_folds,
    read_grid,
    subset,
)
from eeg_gnn.review.build import model_importance

from .conftest import run_script

N_NODES, N_BANDS, PER_SUBJECT = 6, 3, 12


def write_grid(folder: Path, text: str, name: str = "grid.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def synthetic_samples(n_subjects: int = 12, seed: int = 0) -> Samples:
    """Both classes in every subject; class 1 has more power in the first band on every node."""
    rng = np.random.default_rng(seed)
    n = n_subjects * PER_SUBJECT
    labels = np.tile(np.repeat([0, 1], PER_SUBJECT // 2), n_subjects)
    features = rng.normal(size=(n, N_NODES, N_BANDS)).astype(np.float32)
    features[labels == 1, :, 0] += 3.0
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], PER_SUBJECT)
    adjacency = np.ones((N_NODES, N_NODES), dtype=np.float32) - np.eye(N_NODES, dtype=np.float32)
    return Samples(labels=labels, subjects=subjects, recordings=np.char.add(subjects, np.where(labels, "_2", "_1")),
                   groups=subjects, window_index=np.tile(np.arange(PER_SUBJECT), n_subjects),
                   onsets=np.tile(np.arange(PER_SUBJECT) * 4.0, n_subjects), features=features,
                   adjacency=adjacency, node_names=[f"n{i}" for i in range(N_NODES)])


def base_config(**overrides) -> TrainConfig:
    """A small configuration for the synthetic samples, which carry band features and no covariances."""
    values = dict(task="workload", epochs=3, patience=3, hidden=8, n_boot=20, progress=False, controls=(),
                  baselines=("logreg",), node_features="bands")
    values.update(overrides)
    return TrainConfig(**values)


def test_grid_is_the_cartesian_product_with_defaults(tmp_path):
    selection = read_grid(write_grid(tmp_path, '[grid]\nmodel = ["cheb", "gcn"]\nhidden = [8, 16]\nlayers = 2\n'))
    assert selection.inner_folds == 3 and selection.metric == "balanced_accuracy"
    assert selection.candidates == [{"model": m, "hidden": h, "layers": 2} for m in ("cheb", "gcn") for h in (8, 16)]
    configs = candidate_configs(base_config(), selection)
    assert [(c.model, c.hidden) for c in configs] == [("cheb", 8), ("cheb", 16), ("gcn", 8), ("gcn", 16)]
    assert all(c.epochs == 3 and c.select is None for c in configs)


def test_grid_accepts_any_setting_of_the_model_and_training_sections(tmp_path):
    selection = read_grid(write_grid(tmp_path, 'metric = "roc_auc"\ninner_folds = 2\n[grid]\nlr = [1e-3, 1e-2]\n'
                                               'dropout = [0.0]\ngraph = ["distance"]\ntop_k = ["none", 3]\n'))
    assert selection.metric == "roc_auc" and selection.inner_folds == 2
    assert [c.top_k for c in candidate_configs(base_config(), selection)] == [None, 3, None, 3]


@pytest.mark.parametrize(("text", "message"), [
    ('[grid]\nbogus = [1]\n', "Unknown setting 'bogus' in the grid"),
    ('[grid]\nseed = [0, 1]\n', "Setting 'seed' in the grid .* cannot be selected"),
    ('[grid]\n', "empty grid"),
    ('inner_folds = 3\n', "empty grid"),
    ('[grid]\nmodel = []\n', "'model' .* empty list"),
    ('[grid]\nhidden = ["many"]\n', "Setting 'hidden' in the grid .* must be a whole number"),
    ('[grid]\nmodel = ["cheb"]\nmetric = "f1"\n', "Unknown setting 'metric'"),
    ('metric = "f1"\n[grid]\nmodel = ["cheb"]\n', "'metric'.*'balanced_accuracy', 'roc_auc', but got 'f1'"),
    ('inner_folds = 1\n[grid]\nmodel = ["cheb"]\n', "'inner_folds' .* at least 2, got 1"),
    ('folds = 3\n[grid]\nmodel = ["cheb"]\n', "Unknown key 'folds' in grid file"),
    ('[grid\n', "not a valid TOML file"),
])
def test_bad_grid_files_fail_in_one_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message) as error:
        read_grid(write_grid(tmp_path, text))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("text", "message"), [
    ('[grid]\nhidden = [16, 0]\n', "candidate hidden=0: 'hidden' must be a positive whole number, got 0"),
    ('[grid]\nmodel = ["cheb", "transformer"]\n', "candidate model=transformer: .*'cheb'.*but got 'transformer'"),
    ('[grid]\ndropout = [0.1]\nlr = [-1.0]\n', "candidate dropout=0.1, lr=-1.0: .*lr"),
])
def test_out_of_range_values_are_refused_by_the_config_checks(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        candidate_configs(base_config(), read_grid(write_grid(tmp_path, text)))


def test_missing_grid_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No grid file"):
        read_grid(tmp_path / "nothing.toml")


def _plan(tmp_path, samples: Samples, text: str, **overrides) -> SelectionPlan:
    config = base_config(**overrides)
    selection = read_grid(write_grid(tmp_path, text))
    candidates = candidate_configs(config, selection)
    return SelectionPlan(selection, config, samples, candidates, [samples] * len(candidates))


OUTER = Fold(0, tuple(f"s{i:02d}" for i in range(6)), ("s06", "s07"), ("s08", "s09", "s10", "s11"))


def test_test_subjects_never_reach_the_inner_cross_validation(tmp_path, monkeypatch):
    samples = synthetic_samples()
    plan = _plan(tmp_path, samples, 'inner_folds = 2\n[grid]\nmodel = ["cheb", "gcn"]\n')
    seen = []
    real = selection_module.fit_fold

    def spy(config, fold_samples, fold, n_classes):
        seen.append((set(fold_samples.groups.tolist()), fold, config))
        return real(config, fold_samples, fold, n_classes)

    monkeypatch.setattr(selection_module, "fit_fold", spy)
    result = fit_selected_fold(plan, OUTER, 2)
    inner, final = seen[:-1], seen[-1]
    assert len(inner) == 2 * 2
    training = set(OUTER.train_subjects + OUTER.val_subjects)
    for groups, fold, config in inner:
        assert groups <= training
        assert not set(fold.test_subjects + fold.train_subjects + fold.val_subjects) & set(OUTER.test_subjects)
        assert config.baselines == () and config.controls == ()
    assert final[1] == OUTER and set(OUTER.test_subjects) <= final[0]
    record = result.selection
    assert np.asarray(record["scores"]).shape == (2, 2)
    assert record["chosen"] == int(np.argmax(record["mean"]))
    assert record["settings"] == plan.selection.candidates[record["chosen"]]
    assert result.models["graph"].info["selected"] == record["settings"]
    assert list(result.models) == ["graph", "logreg"]
    assert set(samples.groups[result.test_index]) == set(OUTER.test_subjects)


def test_selection_prefers_the_candidate_that_scores_best_inside(tmp_path):
    samples = synthetic_samples()
    plan = _plan(tmp_path, samples, 'inner_folds = 2\n[grid]\nlr = [1e-9, 1e-2]\nepochs = 20\n',
                 threshold="argmax", patience=20)
    record = fit_selected_fold(plan, OUTER, 2).selection
    assert record["chosen"] == 1 and record["mean"][1] > 0.8 > record["mean"][0]


def test_subset_cuts_every_per_window_array_and_keeps_a_shared_graph():
    samples = synthetic_samples()
    mask = np.isin(samples.groups, ["s00", "s03"])
    part = subset(samples, mask)
    assert len(part) == 2 * PER_SUBJECT and part.features.shape == (2 * PER_SUBJECT, N_NODES, N_BANDS)
    assert part.adjacency.shape == (N_NODES, N_NODES) and set(part.groups) == {"s00", "s03"}
    windows = np.broadcast_to(samples.adjacency, (len(samples), N_NODES, N_NODES)).copy()
    assert subset(Samples(**{**samples.__dict__, "adjacency": windows}), mask).adjacency.shape[0] == 2 * PER_SUBJECT


def test_a_training_side_too_small_for_the_inner_cv_says_how_many_subjects_it_needs(tmp_path):
    samples = synthetic_samples(6)
    plan = _plan(tmp_path, samples, 'inner_folds = 4\n[grid]\nmodel = ["cheb"]\n')
    small = Fold(0, ("s00", "s01"), ("s02",), ("s03", "s04", "s05"))
    with pytest.raises(ValueError, match="Fold 0's training side has 3 subject.*inner_folds = 4 needs at least 4"):
        inner_folds(samples, small, plan.selection, plan.config)


def cohort_config(cohort: Path, out: Path, **overrides) -> TrainConfig:
    values = dict(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(out), epochs=4, patience=4,
                  folds=2, n_boot=20, progress=False, hidden=8, controls=(), baselines=("logreg",))
    values.update(overrides)
    return TrainConfig(**values)


def test_run_cv_with_selection_saves_every_choice_and_inner_score(cohort, tmp_path):
    grid = write_grid(tmp_path, 'inner_folds = 2\n[grid]\nmodel = ["cheb", "gcn"]\ngraph = ["plv", "distance"]\n')
    results = run_cv(cohort_config(cohort, tmp_path / "runs", select=str(grid), controls=("no_edges",)))
    saved = json.loads((results.run_dir / "results.json").read_text())
    chosen = saved["selection"]
    assert chosen["metric"] == "balanced_accuracy" and chosen["inner_folds"] == 2 and len(chosen["candidates"]) == 4
    assert [entry["fold"] for entry in chosen["per_fold"]] == [0, 1]
    for entry in chosen["per_fold"]:
        assert np.asarray(entry["inner_scores"]).shape == (4, 2)
        assert entry["settings"] == chosen["candidates"][entry["chosen"]]
    with (results.run_dir / "selection.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2 * 4 and sum(row["chosen"] == "yes" for row in rows) == 2
    assert set(rows[0]) >= {"fold", "candidate", "model", "graph", "inner_0", "inner_1", "mean_balanced_accuracy"}
    assert set(saved["models"]) == {"graph", "graph_no_edges", "logreg"}
    assert "nested selection" in saved["models"]["graph"]["description"]
    summary = results.summary()
    assert "nested selection: 4 candidates" in summary and "fold 1: model=" in summary
    manifest = json.loads((results.run_dir / "checkpoints" / "fold_0.json").read_text())
    assert manifest["models"]["graph"]["selected"] == chosen["per_fold"][0]["settings"]
    run = load_run(results.run_dir)
    recompute_results(run)
    for entry in chosen["per_fold"]:
        fold_config = run.fold_config(entry["fold"])
        assert (fold_config.model, fold_config.graph) == (entry["settings"]["model"], entry["settings"]["graph"])
    edges, nodes, n_windows = model_importance(run, load_dataset("folder", cohort), progress=False)
    assert n_windows == saved["n_windows"] and np.isfinite(edges).all() and np.isfinite(nodes).all()
    applied = apply_run(run, cohort, progress=False)
    with (applied / "subjects.csv").open() as stream:
        assert len(list(csv.DictReader(stream))) > 0


def test_bad_grid_stops_the_command_before_any_work(cohort, tmp_path, capsys):
    grid = write_grid(tmp_path, '[grid]\nhidden = [8, -2]\n')
    out = tmp_path / "runs"
    code, _, err = run_script("train.py", ["--task", "schizophrenia", "--dataset", "folder", "--data-dir",
                                           str(cohort), "--out", str(out), "--select", str(grid)], capsys)
    assert code == 2 and err.count("\n") == 1 and "candidate hidden=-2" in err
    assert not out.exists() or not any(out.iterdir())


def test_too_small_training_sides_fail_before_training(cohort, tmp_path):
    grid = write_grid(tmp_path, 'inner_folds = 3\n[grid]\nmodel = ["cheb"]\n')
    with pytest.raises(ValueError, match="needs at least 3 subjects of each class"):
        run_cv(cohort_config(cohort, tmp_path / "runs", select=str(grid)))
    assert not any((tmp_path / "runs").iterdir())


@pytest.mark.slow
def test_nested_selection_on_eegmat(eegmat_dir, tmp_path):
    grid = write_grid(tmp_path, 'inner_folds = 2\n[grid]\nmodel = ["cheb", "gcn"]\n')
    results = run_cv(TrainConfig(task="workload", data_dir=str(eegmat_dir), out=str(tmp_path), epochs=3,
                                 patience=3, folds=3, n_boot=50, progress=False, controls=(),
                                 baselines=("logreg",), select=str(grid)))
    chosen = results.results["selection"]["per_fold"]
    assert len(chosen) == 3 and all(entry["settings"]["model"] in ("cheb", "gcn") for entry in chosen)
    for entry in chosen:
        assert np.isfinite(entry["inner_scores"]).all()
    with (results.run_dir / "folds.csv").open() as stream:
        tested = [row["group"] for row in csv.DictReader(stream) if row["role"] == "test"]
    assert len(tested) == len(set(tested)) == 24
    assert 0 <= results.results["models"]["graph"]["window"]["balanced_accuracy"] <= 1


@pytest.mark.slow  # starts worker processes: about 25 s on 2 cores
def test_selection_in_worker_threads_and_processes_chooses_and_scores_the_same(cohort, tmp_path):
    grid = write_grid(tmp_path, 'inner_folds = 2\n[grid]\nmodel = ["cheb", "gcn"]\n')
    runs = [run_cv(cohort_config(cohort, tmp_path / f"runs{n}_{prefer}", select=str(grid), n_jobs=n,
                                 prefer=prefer)).results
            for n, prefer in ((1, "threads"), (2, "threads"), (2, "processes"))]
    for run in runs[1:]:
        assert run["selection"]["per_fold"] == runs[0]["selection"]["per_fold"]
        assert run["models"]["graph"]["window"] == runs[0]["models"]["graph"]["window"]
