"""End-to-end training: a planted difference is learned, runs are reproducible, cached, and leave no debris."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from eeg_gnn.evaluation.splitters import Fold, LeakageError
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import INCOMPLETE, run_cv
from eeg_gnn.pipeline.folds import fit_fold
from eeg_gnn.signal.montage import node_sets

from .conftest import N_PER_CLASS, run_script

FAST = dict(controls=(), baselines=("logreg",))
MODELS = ["graph", "graph_no_edges", "graph_shuffled", "graph_rewired", "graph_uniform", "logreg", "tangent_space"]


def small_config(cohort: Path, out: Path, **overrides) -> TrainConfig:
    values = dict(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(out), epochs=15,
                  patience=15, folds=4, n_boot=50, progress=False, hidden=16)
    values.update(overrides)
    return TrainConfig(**values)


def _metrics(results: dict) -> dict:
    return {k: v for k, v in results.items() if k not in ("seconds", "features_from_cache")}


def test_run_cv_learns_planted_difference_and_saves_everything(cohort, tmp_path):
    result = run_cv(small_config(cohort, tmp_path))
    run_dir = result.run_dir
    assert not (run_dir / INCOMPLETE).exists()
    for name in ("config.json", "folds.csv", "predictions.csv", "results.json"):
        assert (run_dir / name).is_file(), name
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == sorted(
        name for i in range(4) for name in (f"fold_{i}.pt", f"fold_{i}.json", f"fold_{i}_graph_no_edges.pt",
                                            f"fold_{i}_graph_shuffled.pt", f"fold_{i}_graph_rewired.pt",
                                            f"fold_{i}_graph_uniform.pt", f"fold_{i}_logreg.skops",
                                            f"fold_{i}_tangent_space.skops"))
    events = list((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    assert len(events) >= 3 * 4 + 1

    results = json.loads((run_dir / "results.json").read_text())
    assert results["classes"] == ["control", "patient"]
    assert results["n_subjects"] == 2 * N_PER_CLASS
    assert results["primary"] == "graph" and list(results["models"]) == MODELS
    assert [results["models"][m]["kind"] for m in MODELS] == ["graph", *["control"] * 4, "baseline", "baseline"]
    for model in ("graph", "logreg"):
        summary = results["models"][model]
        assert summary["subject"]["balanced_accuracy"] >= 0.75
        assert summary["window"]["balanced_accuracy"] > 0.7
        low, high = summary["window"]["ci95"]["balanced_accuracy"]
        assert low <= summary["window"]["balanced_accuracy"] <= high
        assert len(summary["per_fold"]) == 4
    assert results["models"]["tangent_space"]["window"]["roc_auc"] > 0.9
    assert len(results["models"]["logreg"]["inner_cv"]["C"]) == 4
    assert set(results["thresholds"]["per_fold"]) == set(MODELS)
    compared = {(c["against"], c["level"], c["metric"]) for c in results["comparisons"]}
    # each subject has one class: a per-subject AUC is undefined, so only balanced accuracy is compared
    assert compared == {(m, level, "balanced_accuracy") for m in MODELS[1:] for level in ("window", "subject")}
    for entry in results["comparisons"]:
        assert entry["verdict"] in ("better", "not distinguishable", "worse")

    with (run_dir / "predictions.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(MODELS) * results["n_windows"]
    assert list(dict.fromkeys(r["model"] for r in rows)) == MODELS
    for row in rows[:10]:
        assert float(row["proba_control"]) + float(row["proba_patient"]) == pytest.approx(1, abs=1e-5)
    assert "tangent_space" in result.summary() and "minus each other model" in result.summary()

    with (run_dir / "folds.csv").open() as stream:
        folds = list(csv.DictReader(stream))
    tested = [r["group"] for r in folds if r["role"] == "test"]
    assert sorted(tested) == sorted(f"sub-{i:02d}" for i in range(2 * N_PER_CLASS))
    for fold in {r["fold"] for r in folds}:
        roles = {}
        for r in folds:
            if r["fold"] == fold:
                assert r["group"] not in roles, "a subject has two roles in one fold"
                roles[r["group"]] = r["role"]
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["versions"]["torch"]
    assert TrainConfig.from_dict(saved["config"]) == small_config(cohort, tmp_path)


def test_same_seed_same_results_and_cache_reuse(cohort, tmp_path):
    first = run_cv(small_config(cohort, tmp_path, epochs=4, **FAST))
    second = run_cv(small_config(cohort, tmp_path, epochs=4, **FAST))
    assert first.run_dir != second.run_dir
    assert second.results["features_from_cache"] == 2 * N_PER_CLASS
    assert _metrics(first.results) == _metrics(second.results)
    other_window = run_cv(small_config(cohort, tmp_path, epochs=1, window=2.0, **FAST))
    assert other_window.results["features_from_cache"] == 0


def test_same_seed_same_results_for_gat_with_the_flatten_readout_in_threads(cohort, tmp_path):
    """A new model and readout keep the determinism of the default: serial and threaded runs agree."""
    settings = dict(epochs=3, model="gat", readout="flatten", node_embedding=2, folds=2, controls=("shuffled",),
                    baselines=())
    serial = run_cv(small_config(cohort, tmp_path, n_jobs=1, **settings))
    threaded = run_cv(small_config(cohort, tmp_path, n_jobs=2, **settings))
    assert _metrics(serial.results) == _metrics(threaded.results)
    saved = json.loads((threaded.run_dir / "config.json").read_text())
    assert (saved["config"]["readout"], saved["config"]["node_embedding"]) == ("flatten", 2)
    from eeg_gnn.pipeline.runs import load_run

    reloaded = load_run(threaded.run_dir).load_fold(0).model  # what evaluate.py reads, without unpickling
    assert (type(reloaded).__name__, reloaded.readout, reloaded.node_embedding.shape[1]) == ("GATClassifier",
                                                                                           "flatten", 2)


def test_connectivity_graph_and_cheb_run(cohort, tmp_path):
    result = run_cv(small_config(cohort, tmp_path, epochs=2, model="cheb", graph="plv", top_k=4, folds=2,
                                 controls=("shuffled",), baselines=()))
    assert result.results["graph"] == "plv"
    assert list(result.results["models"]) == ["graph", "graph_shuffled"]
    assert result.results["models"]["graph"]["window"]["n"] == result.results["n_windows"]


def _samples(config: TrainConfig):
    from eeg_gnn.data.datasets import load_dataset
    from eeg_gnn.data.extraction import extract_dataset
    from eeg_gnn.pipeline.experiment import build_samples

    dataset = load_dataset("folder", Path(config.data_dir))
    extracted, _ = extract_dataset(dataset, config.preprocessing(), config.feature_spec(), progress=False)
    return build_samples(config, dataset, extracted)


def _one_fold(config: TrainConfig):
    from eeg_gnn.evaluation.splitters import make_folds

    samples = _samples(config)
    folds = make_folds(samples.labels, samples.groups, n_splits=config.folds, method="group-kfold",
                       val_fraction=config.val_fraction, seed=config.seed)
    return folds, samples


def test_leakage_guard_fires_on_a_bad_fold(cohort, tmp_path):
    config = small_config(cohort, tmp_path, epochs=1, **FAST)
    samples = _samples(config)
    bad = Fold(0, ("sub-00", "sub-01", "sub-04"), (), ("sub-04", "sub-05"))
    with pytest.raises(LeakageError, match="sub-04"):
        fit_fold(config, samples, bad, 2)


def test_interrupted_run_is_marked_incomplete(cohort, tmp_path, monkeypatch):
    import eeg_gnn.pipeline.experiment as experiment

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "cross_validate", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_cv(small_config(cohort, tmp_path))
    (run_dir,) = tmp_path.iterdir()
    assert (run_dir / INCOMPLETE).is_file()
    assert not (run_dir / "results.json").exists()


def test_failed_run_leaves_nothing(cohort, tmp_path):
    with pytest.raises(ValueError, match="Cannot make 5 folds"):
        run_cv(small_config(cohort, tmp_path, folds=5))
    assert list(tmp_path.iterdir()) == []


def _train_cli(args: list[str], capsys) -> tuple[int, str, str]:
    return run_script("train.py", args, capsys)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "workload", "--dataset", "folder"], "needs --data-dir"),
        (["--task", "schizophrenia", "--data-dir", "{empty}"], "downloading on first use is turned off "
                                                                "(EEG_GNN_NO_DOWNLOAD=1). Download it with `eeg-gnn "
                                                                "fetch msu`"),
        (["--task", "schizophrenia", "--data-dir", "{empty}", "--no-download"], "(--no-download)"),
        (["--task", "workload", "--device", "cuda:3"], "not available"),
        (["--task", "workload", "--batch-size", "1"], "at least 2"),
        (["--task", "workload", "--bands", "delta:1-4,theta:4-8"], "--graph-band 'alpha' is not one of the bands"),
        (["--task", "workload", "--bands", "alpha:8-13,gamma:30-90"], "Nyquist"),
        (["--task", "emotion"], "signed licence agreement"),
    ],
)
def test_train_cli_user_errors_are_one_line_exit_2(args, message, capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [a.replace("{empty}", str(empty)) for a in args] + ["--out", str(tmp_path / "runs"), "--quiet"]
    code, _, err = _train_cli(args, capsys)
    assert code == 2
    assert err.startswith("train.py: error:") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_train_cli_missing_msu_says_how_to_get_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("EEG_GNN_DATA", str(tmp_path))
    code, _, err = _train_cli(["--task", "schizophrenia", "--out", str(tmp_path / "runs")], capsys)
    assert code == 2
    assert "eeg-gnn fetch msu" in err and str(tmp_path / "msu") in err


def test_train_cli_folder_dataset_end_to_end(cohort, tmp_path, capsys):
    code, out, err = _train_cli(["--task", "schizophrenia", "--dataset", "folder", "--data-dir", str(cohort),
                                 "--epochs", "2", "--folds", "2", "--controls", "none", "--baselines", "logreg",
                                 "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert "logreg (baseline)" in out and "window BA" in out
    (run_dir,) = tmp_path.iterdir()
    assert (run_dir / "results.json").is_file()


@pytest.mark.slow
def test_workload_on_real_eegmat_with_tiny_budget(eegmat_dir, tmp_path):
    config = TrainConfig(task="workload", data_dir=str(eegmat_dir), out=str(tmp_path), epochs=3, patience=3,
                         folds=3, n_boot=50, progress=False)
    results = run_cv(config).results
    assert results["n_subjects"] == 24 and results["n_recordings"] == 48
    assert results["node_names"] == node_sets()["10-20"]
    for model in MODELS:
        for level in ("window", "recording"):
            summary = results["models"][model][level]
            assert 0 <= summary["balanced_accuracy"] <= 1
            assert set(summary["ci95"]) >= {"balanced_accuracy", "roc_auc"}
        assert results["models"][model]["window"]["n"] == results["n_windows"]
    assert {c["level"] for c in results["comparisons"]} == {"window", "recording"}


@pytest.mark.slow
def test_workload_loso_with_cheb_plv_on_real_eegmat(eegmat_dir, tmp_path):
    config = TrainConfig(task="workload", data_dir=str(eegmat_dir), out=str(tmp_path), epochs=1, patience=1,
                         model="cheb", graph="plv", cv="loso", n_boot=20, progress=False)
    results = run_cv(config).results
    assert results["n_folds"] == 24
    assert os.path.isfile(Path(tmp_path) / next(os.walk(tmp_path))[1][0] / "results.json")


def test_refit_trains_on_every_training_subject_for_the_chosen_epochs(cohort, tmp_path, monkeypatch):
    """The early-stopped model only chooses the epoch count; the refit sees fit and validation subjects."""
    from eeg_gnn.models import training

    calls = []
    original = training.train_graph_model

    def spy(config, n_classes, train, val, **kwargs):
        model, history, best_epoch = original(config, n_classes, train, val, **kwargs)
        calls.append({"n_train": len(train[0]), "val": val is not None, "fixed": kwargs.get("fixed_epochs"),
                      "best_epoch": best_epoch, "epochs_run": len(history)})
        return model, history, best_epoch

    monkeypatch.setattr(training, "train_graph_model", spy)
    config = small_config(cohort, tmp_path, controls=(), baselines=(), folds=3, epochs=6, patience=3)
    folds, samples = _one_fold(config)
    fold = folds[0]
    result = fit_fold(config, samples, fold, n_classes=2)
    early, refit = calls
    n_fit = int(np.isin(samples.groups, fold.train_subjects).sum())
    n_val = int(np.isin(samples.groups, fold.val_subjects).sum())
    assert early["val"] and early["n_train"] == n_fit and early["fixed"] is None
    assert not refit["val"] and refit["n_train"] == n_fit + n_val
    assert refit["fixed"] == early["best_epoch"] == refit["epochs_run"]
    graph = result.models["graph"]
    assert graph.threshold == 0.5 and graph.info["refitted"] and graph.checkpoint["refitted"]

    calls.clear()
    kept = fit_fold(replace(config, refit=False), samples, fold, n_classes=2)
    assert len(calls) == 1 and not kept.models["graph"].info["refitted"]
    assert not np.allclose(kept.models["graph"].test_proba, graph.test_proba)


@pytest.mark.slow
def test_schizophrenia_on_real_msu_with_tiny_budget(msu_dir, tmp_path):
    """The headline task on all 84 real MSU subjects: subject-level labels, every model, detectable differences."""
    config = TrainConfig(task="schizophrenia", data_dir=str(msu_dir), out=str(tmp_path), epochs=3, patience=3,
                         folds=3, n_boot=50, progress=False)
    results = run_cv(config).results
    assert results["dataset"] == "msu" and results["n_subjects"] == 84 and results["label_level"] == "subject"
    assert results["classes"] == ["healthy", "schizophrenia"] and len(results["node_names"]) == 16
    for name, report in results["models"].items():
        assert 0 <= report["subject"]["balanced_accuracy"] <= 1, name
        assert report["subject"]["n"] == 84, name
    subject_ba = [c for c in results["comparisons"] if c["level"] == "subject" and c["metric"] == "balanced_accuracy"]
    assert subject_ba and all(c["n_subjects"] == 84 and c["detectable_difference"] > 0 for c in subject_ba)
