"""evaluate.py: run checks, metric recomputation, BrainNet exports, the report, and applying models to new data."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import mne
import numpy as np
import pytest
import torch

from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import INCOMPLETE, run_cv
from eeg_gnn.pipeline.runs import load_run, recompute_results
from eeg_gnn.review.export import edge_node_order, read_edge, read_node
from eeg_gnn.signal.montage import node_sets, positions
from eeg_gnn.utils.files import sha256_of

from .conftest import N_PER_CLASS, run_script
from .test_run_safety import MARKER_NAME, Payload

NODES = node_sets()["10-20"]


@pytest.fixture(scope="session")
def finished_run(cohort, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(out), epochs=6,
                         folds=4, n_boot=50, progress=False, hidden=16, bands={"theta": (4, 8), "alpha": (8, 13)},
                         controls=("no_edges",), baselines=("logreg",))
    return run_cv(config).run_dir


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    copy = tmp_path / finished_run.name
    shutil.copytree(finished_run, copy)
    return copy


def _noise_recordings(folder, names, seed):
    """``<name>_eeg.fif`` in ``folder``: 20 s of white noise on the 10-20 nodes at 128 Hz each."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for name in names:
        raw = mne.io.RawArray(rng.normal(0, 1e-5, (19, 128 * 20)), mne.create_info(NODES, 128.0, "eeg"),
                              verbose="error")
        raw.save(folder / f"{name}_eeg.fif", verbose="error")
    return folder


def _evaluate_cli(args: list[str], capsys) -> tuple[int, str, str]:
    return run_script("evaluate.py", args, capsys)


def test_recomputed_metrics_equal_the_saved_ones(finished_run):
    run = load_run(finished_run)
    recomputed = recompute_results(run)
    saved = json.loads((finished_run / "results.json").read_text())
    models = saved["models"]
    assert recomputed["graph"]["window"]["balanced_accuracy"] == models["graph"]["window"]["balanced_accuracy"]
    assert recomputed["logreg"]["subject"]["ci95"] == models["logreg"]["subject"]["ci95"]
    assert set(recomputed) == set(models)


@pytest.mark.parametrize("tamper", ["metric", "comparison", "threshold"])
def test_tampered_results_are_refused(run_copy, tamper):
    results = json.loads((run_copy / "results.json").read_text())
    if tamper == "metric":
        results["models"]["graph"]["window"]["balanced_accuracy"] += 0.1
    elif tamper == "comparison":
        results["comparisons"][0]["p_value"] /= 2
    if tamper == "threshold":
        path = run_copy / "predictions.csv"
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        column = header.index("threshold")
        for index in range(1, len(lines)):
            cells = lines[index].split(",")
            if cells[0] == "logreg":
                cells[column] = "0.010000"
                lines[index] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
    else:
        (run_copy / "results.json").write_text(json.dumps(results))
    with pytest.raises(ValueError, match="differ from results.json"):
        recompute_results(load_run(run_copy))


def test_incomplete_run_is_refused(run_copy):
    (run_copy / INCOMPLETE).write_text("interrupted")
    with pytest.raises(ValueError, match="incomplete run"):
        load_run(run_copy)


def test_missing_file_and_other_version_are_refused(run_copy):
    config = json.loads((run_copy / "config.json").read_text())
    config["versions"]["eeg_gnn"] = "9.9.0"
    (run_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="made by eeg-gnn 9.9.0"):
        load_run(run_copy)
    (run_copy / "predictions.csv").unlink()
    with pytest.raises(ValueError, match="lacks predictions.csv"):
        load_run(run_copy)


def test_predictions_that_do_not_match_the_folds_are_refused(run_copy):
    with (run_copy / "folds.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    for row in rows:
        if row["role"] == "test" and row["fold"] == "0":
            row["fold"] = "1"
    with (run_copy / "folds.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["fold", "group", "role"])
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError, match="does not list it as tested"):
        load_run(run_copy)


def test_review_writes_brainnet_pairs_figures_and_a_self_contained_report(run_copy, capsys):
    code, out, err = _evaluate_cli([str(run_copy), "--permutations", "500", "--quiet"], capsys)
    assert code == 0, err
    review = run_copy / "review"
    assert "match results.json" in out
    edges = sorted((review / "brainnet").glob("*.edge"))
    stems = {p.stem for p in edges}
    assert {"alpha_control", "alpha_patient", "alpha_difference", "alpha_difference_significant", "model_importance"} <= stems
    for edge in edges:
        matrix = read_edge(edge)
        assert matrix.shape == (19, 19)
        np.testing.assert_allclose(matrix, matrix.T, atol=1e-5)
        coords, colours, sizes, labels = read_node(edge.with_suffix(".node"))
        assert labels == NODES and coords.shape == (19, 3)
        np.testing.assert_allclose(coords, positions(NODES, "cortex"), atol=0.06)
    header = (review / "brainnet" / "alpha_difference.edge").read_text().splitlines()
    assert "false discovery rate over all 342 tests" in header[0] and "Hedges' g" in header[0]
    assert edge_node_order(review / "brainnet" / "alpha_difference.edge") == NODES
    assert (read_edge(review / "brainnet" / "alpha_patient.edge") >= 0).all()
    html = (review / "report.html").read_text()
    assert 'src="http' not in html and "data:image/png;base64," in html
    assert "control" in html and "patient" in html
    assert html.index('id="verdict"') < html.index('id="performance"') < html.index('id="caveats"')
    assert str(run_copy.parent) not in html  # no local path
    assert list((review / "figures").glob("*.png")) and (review / "brainnet" / "brainnet_options.m").is_file()

    difference = read_edge(review / "brainnet" / "alpha_difference.edge")
    assert np.median(difference[~np.eye(19, dtype=bool)]) > 0, "patients share 10 Hz alpha: alpha PLV must be higher"
    for band in ("theta", "alpha"):
        significant = read_edge(review / "brainnet" / f"{band}_difference_significant.edge")
        every = read_edge(review / "brainnet" / f"{band}_difference.edge")
        kept = significant != 0
        np.testing.assert_allclose(significant[kept], every[kept], rtol=1e-5)
        count = int(np.triu(kept, 1).sum())
        assert f"only the {count} significant pairs" in (review / "brainnet" / f"{band}_difference_significant.edge"
                                                         ).read_text()
        assert (f"{count} of 171 electrode pairs differ" if count else f"No electrode pair survives the correction "
                f"in {band}") in html

    code, _, err = _evaluate_cli([str(run_copy), "--quiet"], capsys)
    assert code == 2 and "--overwrite" in err
    assert not list(run_copy.glob("review.partial*"))


def test_apply_to_training_subjects_uses_only_the_fold_that_held_them_out(run_copy, cohort, capsys):
    code, out, err = _evaluate_cli([str(run_copy), "--data-dir", str(cohort), "--quiet"], capsys)
    assert code == 0, err
    (applied,) = (run_copy / "applied").iterdir()
    with (applied / "subjects.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 3 * 2 * N_PER_CLASS
    for row in rows:
        assert row["n_folds_used"] == "1" and row["in_training_data"].startswith("yes: only fold")
        assert float(row["sd_over_folds_patient"]) == 0
    assert {r["model"] for r in rows} == {"graph", "graph_no_edges", "logreg"}
    # labelled: scored as training scored them, and each subject's model is the one that tested it in training
    scored = json.loads((applied / "results.json").read_text())
    saved = json.loads((run_copy / "results.json").read_text())
    for name in ("graph", "graph_no_edges", "logreg"):
        assert scored["models"][name]["subject"]["balanced_accuracy"] == pytest.approx(
            saved["models"][name]["subject"]["balanced_accuracy"], abs=1e-6)
    assert {e["against"] for e in scored["comparisons"]} == {"graph_no_edges", "logreg"}
    assert "graph_no_edges (control)" in out and "graph minus each other model" in out
    baseline_rows = [r for r in rows if r["model"] == "logreg"]
    assert sum(r["predicted"] == r["label"] for r in baseline_rows) >= 2 * N_PER_CLASS - 2
    saved = load_run(run_copy)
    for row in baseline_rows:
        fold = int(row["in_training_data"].split("fold ")[1].split(",")[0])
        assert float(row["threshold"]) == pytest.approx(saved.load_fold(fold).thresholds["logreg"], abs=1e-4)


def test_apply_to_new_subjects_uses_every_fold(run_copy, tmp_path, capsys):
    new = _noise_recordings(tmp_path / "new", ("new-a", "new-b"), seed=1)
    code, _, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--quiet"], capsys)
    assert code == 0, err
    (applied,) = (run_copy / "applied").iterdir()
    with (applied / "subjects.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert {r["subject"] for r in rows} == {"new-a_eeg", "new-b_eeg"}
    for row in rows:
        assert row["n_folds_used"] == "4" and row["in_training_data"] == "no"
        assert 0.25 <= float(row["fold_agreement"]) <= 1


def test_review_refuses_recordings_other_than_the_trained_ones(run_copy, tmp_path):
    from eeg_gnn.review.build import build_review

    config = json.loads((run_copy / "config.json").read_text())
    config["dataset"]["recordings"] = config["dataset"]["recordings"][1:]
    (run_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="not those the run"):
        build_review(load_run(run_copy), progress=False)


def test_apply_refuses_recordings_without_the_trained_electrodes(run_copy, tmp_path, capsys):
    names = NODES[:10]
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (10, 128 * 20)),
                          mne.create_info(names, 128.0, "eeg"), verbose="error")
    new = tmp_path / "new"
    new.mkdir()
    raw.save(new / "sub-x_eeg.fif", verbose="error")
    code, _, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--quiet"], capsys)
    assert code == 2
    assert "does not fit the trained montage" in err and "P8" in err


def test_evaluate_cli_on_a_missing_directory(tmp_path, capsys):
    code, _, err = _evaluate_cli([str(tmp_path / "nope")], capsys)
    assert code == 2 and err.startswith("evaluate.py: error: No run directory")


@pytest.mark.slow
def test_train_then_evaluate_on_real_eegmat(eegmat_dir, tmp_path, capsys):
    config = TrainConfig(task="workload", data_dir=str(eegmat_dir), out=str(tmp_path), epochs=3, patience=3,
                         folds=3, n_boot=50, progress=False)
    run_dir = run_cv(config).run_dir
    code, _, err = _evaluate_cli([str(run_dir), "--permutations", "500", "--quiet"], capsys)
    assert code == 0, err
    review = run_dir / "review"
    for stem in ("alpha_rest", "alpha_arithmetic", "alpha_difference"):
        coords, _, _, labels = read_node(review / "brainnet" / f"{stem}.node")
        assert len(labels) == 19 and read_edge(review / "brainnet" / f"{stem}.edge").shape == (19, 19)
    assert "paired" in (review / "brainnet" / "alpha_difference.edge").read_text().splitlines()[0].lower()
    assert (review / "report.html").stat().st_size > 10_000


@pytest.mark.slow
def test_real_seizure_recording_within_patient_and_not_applied_to_itself(umich_dir, tmp_path, capsys):
    config = TrainConfig(task="seizure", dataset="umich_seizure", data_dir=str(umich_dir), out=str(tmp_path),
                         epochs=3, patience=3, n_boot=50, progress=False, overlap=0.5)
    result = run_cv(config)
    results = result.results
    assert results["cv"] == "time-blocks" and results["classes"] == ["preictal", "ictal"]
    assert "false_alarms_per_hour" in results["models"]["graph"]["window"]
    assert results["models"]["logreg"]["window"]["balanced_accuracy"] > 0.8
    assert "within-patient" in result.summary()
    code, _, err = _evaluate_cli([str(result.run_dir), "--data-dir", str(umich_dir), "--quiet"], capsys)
    assert code == 2 and "not by subject" in err


def test_evaluate_refuses_a_run_with_a_planted_pickle_in_one_line(run_copy, tmp_path, capsys):
    marker = tmp_path / MARKER_NAME
    checkpoint = run_copy / "checkpoints" / "fold_0.pt"
    torch.save({"state_dict": Payload(marker), "model": "cheb"}, checkpoint)
    manifest = run_copy / "checkpoints" / "fold_0.json"  # whoever planted it also forged the recorded hash
    forged = json.loads(manifest.read_text())
    forged["sha256"]["fold_0.pt"] = sha256_of(checkpoint)
    manifest.write_text(json.dumps(forged))
    code, _, err = _evaluate_cli([str(run_copy), "--data-dir", str(_cohort_of(run_copy)), "--quiet"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Refusing to load" in err and "fold_0.pt" in err
    assert not marker.exists()


def test_evaluate_refuses_an_old_pickled_baseline(run_copy, capsys):
    checkpoints = run_copy / "checkpoints"
    (checkpoints / "fold_1_logreg.skops").rename(checkpoints / "fold_1_baseline.joblib")
    (checkpoints / "fold_1.json").unlink()
    code, _, err = _evaluate_cli([str(run_copy), "--data-dir", str(_cohort_of(run_copy)), "--quiet"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "fold_1_baseline.joblib" in err and "pickle" in err


def _cohort_of(run_dir):
    return json.loads((run_dir / "config.json").read_text())["dataset"]["root"]


def _csv_recording(path, seed):
    data = np.random.default_rng(seed).normal(0, 10.0, (128 * 20, len(NODES)))  # µV
    lines = [",".join(NODES)] + [",".join(f"{v:.3f}" for v in row) for row in data]
    path.write_text("\n".join(lines) + "\n")


def test_apply_to_a_plain_csv_folder_needs_sfreq_and_skips_its_metadata(run_copy, tmp_path, capsys):
    new = tmp_path / "csv"
    new.mkdir()
    for index, name in enumerate(("new-a", "new-b")):
        _csv_recording(new / f"{name}.csv", index)
    (new / "subject-info.csv").write_text("Subject,Age,Gender\nnew-a,30,F\nnew-b,31,M\n")
    code, _, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--quiet"], capsys)
    assert code == 2 and "does not store its sampling rate" in err and "--sfreq" in err
    code, out, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--sfreq", "128", "--quiet"], capsys)
    assert code == 0, err
    (applied,) = (run_copy / "applied").iterdir()
    with (applied / "subjects.csv").open() as stream:
        assert {r["subject"] for r in csv.DictReader(stream)} == {"new-a", "new-b"}
    code, _, err = _evaluate_cli([str(run_copy), "--sfreq", "128"], capsys)
    assert code == 2 and "--sfreq describe the recordings of --data-dir" in err


def test_apply_to_a_folder_whose_table_has_no_labels(run_copy, tmp_path, capsys):
    new = _noise_recordings(tmp_path / "unlabelled", ("p-1", "p-2"), seed=2)
    (new / "participants.tsv").write_text("participant_id\tage\np-1\t30\np-2\t31\np-3\t32\n")
    code, _, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--quiet"], capsys)
    assert code == 2 and "1 subjects listed without a recording (line 4: p-3)" in err and "--on-missing warn" in err
    code, out, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--on-missing", "warn", "--quiet"], capsys)
    assert code == 0, err
    assert "skipped 1 subjects listed without a recording (--on-missing warn): p-3" in out
    (applied,) = (run_copy / "applied").iterdir()
    with (applied / "subjects.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert {r["subject"] for r in rows} == {"p-1", "p-2"} and {r["label"] for r in rows} == {""}


def test_a_relative_data_dir_is_stored_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = TrainConfig(task="schizophrenia", dataset="folder", data_dir="cohort")
    assert config.data_dir == str(tmp_path / "cohort")


def test_apply_skips_an_unreadable_file_naming_it_and_groups_by_a_pattern(run_copy, tmp_path, capsys):
    new = _noise_recordings(tmp_path / "new", ("pt1_day1", "pt1_day2", "pt2_day1"), seed=3)
    (new / "pt2_day2_eeg.edf").write_bytes(b"0       " + b"garbage" * 10)
    code, _, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--quiet"], capsys)
    assert code == 2 and "pt2_day2_eeg.edf" in err and err.count("\n") == 1
    code, out, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--on-error", "skip", "--subject-pattern",
                                    "(pt\\d+)_", "--quiet"], capsys)
    assert code == 0, err
    assert "left out pt2_day2_eeg.edf, which could not be read (--on-error skip): " in out
    (applied,) = (run_copy / "applied").iterdir()
    with (applied / "subjects.csv").open() as stream:
        rows = [r for r in csv.DictReader(stream) if r["model"] == "graph"]
    assert {r["subject"]: int(r["n_windows"]) for r in rows} == {"pt1": 10, "pt2": 5}
    assert not (applied / "results.json").exists()  # no labels, no scores
    assert "pt2_day2_eeg.edf" in json.loads((applied / "data_quality.json").read_text())["unreadable"]
    code, _, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--subject-pattern", "(zz", "--quiet"],
                                 capsys)
    assert code == 2 and "--subject-pattern '(zz' is not a regular expression" in err


def test_a_checkpoint_replaced_by_other_valid_weights_is_refused_naming_it(run_copy, capsys):
    checkpoints = run_copy / "checkpoints"
    manifest = json.loads((checkpoints / "fold_1.json").read_text())
    assert set(manifest["sha256"]) == {"fold_1.pt", "fold_1_graph_no_edges.pt", "fold_1_logreg.skops"}
    shutil.copyfile(checkpoints / "fold_0.pt", checkpoints / "fold_1.pt")
    load_run(run_copy).load_fold(0)  # the untouched fold loads
    code, _, err = _evaluate_cli([str(run_copy), "--data-dir", str(_cohort_of(run_copy)), "--quiet"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "fold_1.pt is not the file this run saved: its SHA-256 differs from the one in" in err
    assert "fold_1.json" in err


def test_labels_that_are_not_the_runs_classes_are_predicted_not_scored(run_copy, tmp_path, capsys):
    new = _noise_recordings(tmp_path / "other", ("q-1", "q-2"), seed=4)
    (new / "participants.tsv").write_text("participant_id\tgroup\nq-1\tHC\nq-2\tSZ\n")
    code, out, err = _evaluate_cli([str(run_copy), "--data-dir", str(new), "--quiet"], capsys)
    assert code == 0, err
    assert "not scored: the recordings are labelled HC, SZ, not one of the run's classes (control, patient)" in out
    (applied,) = (run_copy / "applied").iterdir()
    assert (applied / "subjects.csv").is_file() and not (applied / "results.json").exists()


def test_model_importance_is_computed_once_per_run(run_copy, monkeypatch, tmp_path):
    from eeg_gnn.data.datasets import load_dataset
    from eeg_gnn.review import build

    monkeypatch.setenv("EEG_GNN_CACHE", str(tmp_path / "cache"))
    calls = []
    original = build.model_importance
    monkeypatch.setattr(build, "model_importance", lambda *a, **k: calls.append(1) or original(*a, **k))
    run = load_run(run_copy)
    dataset = load_dataset(run.config.dataset, run.config.data_dir, **run.config.dataset_options())
    first = build.cached_importance(run, dataset, progress=False)
    again = build.cached_importance(run, dataset, progress=False)
    assert len(calls) == 1
    np.testing.assert_allclose(again[0], first[0])
    np.testing.assert_allclose(again[1], first[1])
    assert again[2] == first[2] > 0
    checkpoint = sorted((run_copy / "checkpoints").glob("*.pt"))[0]
    checkpoint.write_bytes(checkpoint.read_bytes() + b"\0")  # another model: computed again
    for manifest in checkpoint.parent.glob("fold_*.json"):  # recorded as the run's own (the SHA-256 check passes)
        saved = json.loads(manifest.read_text())
        if checkpoint.name in saved.get("sha256", {}):
            saved["sha256"][checkpoint.name] = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
            manifest.write_text(json.dumps(saved))
    build.cached_importance(run, dataset, progress=False)
    assert len(calls) == 2
