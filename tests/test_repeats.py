"""Repeated cross-validation (--repeats N): N fold assignments, each a complete run, and the spread over them."""

from __future__ import annotations

import json

import numpy as np

from eeg_gnn.evaluation.scoring import pooled_comparisons
from eeg_gnn.evaluation.splitters import make_folds
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import repeats_summary, run_cv


def test_fold_assignments_differ_between_seeds_with_equal_sized_subjects():
    labels = np.tile(np.repeat([0, 0, 0, 1], 15), 24)
    subjects = np.repeat([f"s{i:02d}" for i in range(24)], 60)
    partitions = {tuple(sorted(f.test_subjects for f in make_folds(labels, subjects, n_splits=5, seed=seed)))
                  for seed in range(3)}
    assert len(partitions) == 3


def _report(ba: float, verdict: str, tested: list[list[str]]) -> dict:
    window = {"balanced_accuracy": ba, "roc_auc": ba + 0.1, "accuracy": ba, "confusion_matrix": [[1, 0], [0, 1]]}
    return {"models": {"graph": {"kind": "graph", "window": window}, "logreg": {"kind": "baseline", "window": window}},
            "comparisons": [{"model": "graph", "against": "logreg", "level": "window", "metric": "balanced_accuracy",
                             "mean_difference": ba - 0.5, "ci95": [0.0, 0.2], "p_holm": 0.01, "verdict": verdict}],
            "fold_test_subjects": tested}


def test_spread_over_repeats_and_comparisons_per_repeat():
    reports = [_report(0.6, "better", [["a"], ["b"]]), _report(0.7, "not distinguishable", [["b"], ["a"]]),
               _report(0.8, "better", [["a", "b"]])]
    summary = repeats_summary([0, 1, 2], reports, [".", "repeats/seed_1", "repeats/seed_2"])
    spread = summary["models"]["graph"]["window"]["balanced_accuracy"]
    assert spread["per_repeat"] == [0.6, 0.7, 0.8] and np.isclose(spread["mean"], 0.7)
    assert np.isclose(spread["sd"], 0.1) and (spread["min"], spread["max"]) == (0.6, 0.8)
    assert summary["distinct_fold_assignments"] == 2
    (entry,) = summary["comparisons"]
    assert entry["verdicts"] == ["better", "not distinguishable", "better"]
    assert np.allclose(entry["per_repeat"], [0.1, 0.2, 0.3])


def test_pooled_comparison_averages_each_subjects_score_over_repeats():
    subjects = [f"s{i}" for i in range(12)]

    def scores(shift, missing=None):
        graph = {u: 0.6 + 0.01 * i + shift for i, u in enumerate(subjects)}
        other = {u: 0.6 + 0.01 * i for i, u in enumerate(subjects)}
        if missing:
            graph[missing] = float("nan")
        return {("window", "balanced_accuracy", "graph"): graph, ("window", "balanced_accuracy", "logreg"): other}

    (entry,) = pooled_comparisons([scores(0.1), scores(0.3, missing="s0")], "graph", n_boot=200, seed=0)
    # s0 is defined in one repeat only (+0.1); the other 11 subjects average +0.2
    assert np.isclose(entry["mean_difference"], (0.1 + 11 * 0.2) / 12)
    assert entry["verdict"] == "better" and entry["n_subjects"] == 12 and entry["n_repeats"] == 2


def test_run_cv_repeats_every_fold_assignment_as_a_complete_run_with_nested_selection(cohort, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('inner_folds = 2\n[grid]\nmodel = ["cheb", "gcn"]\n')
    out = tmp_path / "runs"
    config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(out), epochs=3,
                         patience=3, folds=2, n_boot=20, progress=False, hidden=8, controls=(),
                         baselines=("logreg",), repeats=2, seed=4, select=str(grid))
    results = run_cv(config)
    saved = json.loads((results.run_dir / "results.json").read_text())
    repeats = saved["repeats"]
    assert repeats["seeds"] == [4, 5] and repeats["run_dirs"] == [".", "repeats/seed_5"]
    other = json.loads((results.run_dir / "repeats" / "seed_5" / "results.json").read_text())
    assert json.loads((results.run_dir / "repeats" / "seed_5" / "config.json").read_text())["config"]["seed"] == 5
    spread = repeats["models"]["logreg"]["window"]["balanced_accuracy"]
    assert spread["per_repeat"] == [saved["models"]["logreg"]["window"]["balanced_accuracy"],
                                    other["models"]["logreg"]["window"]["balanced_accuracy"]]
    assert {e["against"] for e in repeats["comparisons"]} == {"logreg"}
    assert not (results.run_dir / "INCOMPLETE").exists() and len(list(out.iterdir())) == 1
    assert len(saved["selection"]["per_fold"]) == len(other["selection"]["per_fold"]) == 2
    assert (results.run_dir / "repeats" / "seed_5" / "selection.csv").is_file()
    pooled = repeats["pooled_comparisons"]
    assert {(e["level"], e["metric"]) for e in pooled} == {("window", "balanced_accuracy"), ("subject", "balanced_accuracy")}
    assert all(e["against"] == "logreg" and e["n_repeats"] == 2 for e in pooled)
    assert "averaged over the repeats" in results.summary()
    assert "over 2 fold assignments (seeds 4, 5" in results.summary()
