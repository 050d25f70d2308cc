"""Motor imagery: labels from annotations, event-locked windows, the 10-10 node set, per-subject alignment, CSP + LDA.

Generated cohorts for the messy cases (annotation durations that differ from the epoch, events too close to the
edge, a cohort of one class per subject); the real eegmmidb files for the reader (slow).
"""

from __future__ import annotations

import json

import mne
import numpy as np
import pytest

from eeg_gnn.data.datasets import load_dataset
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import window_labels
from eeg_gnn.signal.alignment import check_alignable, recentre_per_subject, standardise_per_subject
from eeg_gnn.signal.events import (
    event_window_labels,
    event_windows,
    parse_epoch,
    parse_event_labels,
)
from eeg_gnn.signal.montage import node_sets, positions
from eeg_gnn.signal.preprocessing import Preprocessing, preprocess
from tests.conftest import run_script

SFREQ = 128.0
#: onset, duration (4.1 or 4.2 s as in eegmmidb), description
CUES = [(1.0, 4.2, "T0"), (5.2, 4.1, "T1"), (9.3, 4.2, "T0"), (13.5, 4.1, "T2"), (17.6, 4.2, "T0"),
        (21.8, 4.1, "T1"), (25.9, 4.2, "T0"), (30.1, 4.1, "T2"), (34.2, 4.2, "T0"), (38.4, 1.0, "T1")]


def imagery_raw(seed: int, cues=CUES, duration: float = 40.0) -> mne.io.RawArray:
    """64 electrodes (eegmmidb's names with trailing dots); 10 Hz mu over both sensorimotor strips that drops over
    C4 during T1 (left) and over C3 during T2 (right)."""
    rng = np.random.default_rng(seed)
    names = node_sets()["10-10-64"]
    times = np.arange(int(duration * SFREQ)) / SFREQ
    data = rng.normal(0, 5e-6, (len(names), times.size))
    mu = 20e-6 * np.sin(2 * np.pi * 10 * times)
    gain = {name: np.ones(times.size) for name in ("C3", "C4")}
    for onset, length, description in cues:
        inside = (times >= onset) & (times < onset + length)
        if description in ("T1", "T2"):
            gain["C4" if description == "T1" else "C3"][inside] = 0.2
    for name in ("C3", "C4"):
        data[names.index(name)] += gain[name] * mu
    dotted = [(name + "..")[:4] if len(name) < 4 else name for name in names]
    raw = mne.io.RawArray(data, mne.create_info(dotted, SFREQ, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([c[0] for c in cues], [c[1] for c in cues], [c[2] for c in cues]))
    return raw


@pytest.fixture(scope="module")
def imagery_cohort(tmp_path_factory):
    """A folder cohort of 6 subjects whose labels are annotations only (no label column)."""
    root = tmp_path_factory.mktemp("imagery")
    rows = ["participant_id"]
    for index in range(6):
        subject = f"sub-{index:02d}"
        imagery_raw(index).save(root / f"{subject}_eeg.fif", verbose="error")
        rows.append(subject)
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_parse_event_labels_and_epoch():
    assert parse_event_labels("T1=left, T2=right") == {"T1": "left", "T2": "right"}
    assert parse_event_labels("none") == {}
    assert parse_epoch("0.5,4.0") == (0.5, 4.0)
    for bad in ("T1", "T1=left,T1=right", "=left"):
        with pytest.raises(ValueError, match="event-labels"):
            parse_event_labels(bad)
    for bad in ("4,0.5", "0.5", "a,b"):
        with pytest.raises(ValueError, match="--epoch"):
            parse_epoch(bad)


def test_event_windows_have_the_epoch_length_not_the_annotation_duration():
    data = np.arange(2 * 1000, dtype=float).reshape(2, 1000)
    windows, starts = event_windows(data, 100.0, np.array([0.2, 3.0, 9.0]), (0.5, 4.0))
    # the last event's window would end at 13 s, past the 10 s recording: left out
    assert windows.shape == (2, 2, 350)
    np.testing.assert_allclose(starts, [0.7, 3.5])
    np.testing.assert_array_equal(windows[1, 0, :3], [350, 351, 352])
    labels = event_window_labels(starts, [("left", 0.2, 4.3), ("right", 3.0, 3.1)], ["left", "right"], 0.5)
    np.testing.assert_array_equal(labels, [0, 1])  # the 0.1 s annotation does not shorten its window


def test_preprocess_locks_one_window_to_each_named_event():
    config = Preprocessing(resample_sfreq=None, epoch=(0.5, 4.0), events=("T1", "T2"))
    windows = preprocess(imagery_raw(0), config, "10-10-64")
    # 5 cues named T1/T2; the last (38.4 s + 4.0 s) runs past the 40 s recording
    assert windows.n_windows == 4
    assert windows.data.shape[1:] == (64, int(3.5 * SFREQ))
    np.testing.assert_allclose(windows.onsets, [5.7, 14.0, 22.3, 30.6])
    assert windows.node_names[:3] == ["Fp1", "Fpz", "Fp2"] and "FC5" in windows.node_names
    assert [s["step"] for s in config.steps()][-2] == "event_windows"
    with pytest.raises(ValueError, match="--event-labels"):
        Preprocessing(epoch=(0.5, 4.0))
    with pytest.raises(ValueError, match="no annotation T9"):
        preprocess(imagery_raw(0), Preprocessing(epoch=(0.5, 4.0), events=("T9",)), "10-10-64")


def test_consecutive_windows_keep_their_saved_parameters():
    # the event settings appear only when used, so the cache keys of every other run stay as they were
    assert "epoch" not in Preprocessing().to_dict()
    assert Preprocessing(epoch=(0.5, 4.0), events=("T1",)).to_dict()["epoch"] == [0.5, 4.0]


def test_folder_cohort_labelled_by_annotations(imagery_cohort):
    dataset = load_dataset("folder", imagery_cohort, event_labels={"T0": "rest", "T1": "left", "T2": "right"})
    assert dataset.classes == ["rest", "left", "right"]
    assert dataset.label_level == "window"
    recording = dataset.recordings[0]
    assert recording.label is None and len(recording.intervals) == len(CUES)
    assert recording.intervals[1] == ("left", pytest.approx(5.2), pytest.approx(9.3))
    onsets = np.array([5.7, 14.0, 1.5])
    np.testing.assert_array_equal(window_labels(dataset, 0, onsets, 3.5, (0.5, 4.0)), [1, 2, 0])
    with pytest.raises(ValueError, match="T9"):
        load_dataset("folder", imagery_cohort, event_labels={"T9": "x"})


def test_motor_imagery_task_defaults():
    config = TrainConfig(task="motor_imagery")
    assert config.dataset == "eegmmidb"
    assert config.event_labels == {"T1": "left", "T2": "right"}
    assert config.epoch == (0.5, 4.0) and config.window == 3.5
    assert config.bands == {"mu": (8.0, 13.0), "beta": (13.0, 30.0)}
    assert config.graph_band == "mu"
    rest = TrainConfig(task="motor_imagery", event_labels={"T0": "rest", "T1": "left", "T2": "right"})
    assert rest.preprocessing().events == ("T0", "T1", "T2")
    with pytest.raises(ValueError, match="--event-labels"):
        TrainConfig(dataset="folder", data_dir=".", epoch=(0.5, 4.0))
    # an experiment file round trip keeps the new settings
    back = TrainConfig.from_dict(json.loads(json.dumps(rest.to_dict())))
    assert back.event_labels == rest.event_labels and back.epoch == (0.5, 4.0)


def test_ten_ten_node_set_has_positions_for_every_electrode():
    names = node_sets()["10-10-64"]
    assert len(names) == 64 == len(set(names))
    assert set(node_sets()["10-20"]) <= set(names)
    xyz = positions(names, kind="scalp")
    assert xyz.shape == (64, 3) and np.isfinite(xyz).all()
    # C3 is on the left (negative x), C4 on the right
    assert xyz[names.index("C3"), 0] < 0 < xyz[names.index("C4"), 0]


def test_recentring_makes_each_subjects_riemannian_mean_the_identity():
    from pyriemann.geometry.mean import mean_riemann

    rng = np.random.default_rng(0)
    subjects = np.repeat(["a", "b"], 20)
    mixing = [rng.normal(size=(4, 4)), 3 * rng.normal(size=(4, 4))]
    covariance = np.empty((40, 2, 4, 4))
    for row in range(40):
        for band in range(2):
            signal = mixing[row // 20] @ rng.normal(size=(4, 200))
            covariance[row, band] = signal @ signal.T / 200
    aligned = recentre_per_subject(covariance, subjects)
    for subject in ("a", "b"):
        for band in range(2):
            np.testing.assert_allclose(mean_riemann(aligned[subjects == subject, band]), np.eye(4), atol=1e-6)
    features = rng.normal(5, 3, (40, 4, 2))
    standard = standardise_per_subject(features, subjects)
    np.testing.assert_allclose(standard[subjects == "a"].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(standard[subjects == "b"].std(axis=0), 1)


def test_alignment_refused_where_every_subject_has_one_class():
    check_alignable(np.array([0, 1, 0, 1]), np.array(["a", "a", "b", "b"]), ["left", "right"])
    with pytest.raises(ValueError, match="--align none"):
        check_alignable(np.array([0, 0, 1, 1]), np.array(["a", "a", "b", "b"]), ["control", "patient"])


def test_csp_lda_separates_lateralised_mu():
    from eeg_gnn.models.baselines import fit_baseline, make_baseline

    rng = np.random.default_rng(1)
    n_nodes, n_times = 6, 256
    covariance, labels, groups = [], [], []
    for subject in range(6):
        for trial in range(20):
            label = trial % 2
            scale = np.ones(n_nodes)
            scale[label] = 0.4  # node 0 quiet in class 0, node 1 in class 1
            bands = [np.cov(scale[:, None] * rng.normal(size=(n_nodes, n_times))) for _ in range(2)]
            covariance.append(bands)
            labels.append(label)
            groups.append(f"s{subject}")
    X, y, groups = np.array(covariance), np.array(labels), np.array(groups)
    train = groups != "s5"
    pipeline = fit_baseline(make_baseline("csp_lda", n_inner=3), X[train], y[train], groups[train])
    accuracy = (pipeline.predict(X[~train]) == y[~train]).mean()
    assert accuracy > 0.9
    assert pipeline[-1].threshold_ is not None and pipeline[-1].C_ is None


def test_train_on_annotated_folder_cohort_with_alignment(imagery_cohort, capsys, tmp_path):
    code, out, err = run_script("train.py", [
        "--dataset", "folder", "--data-dir", str(imagery_cohort), "--event-labels", "T1=left,T2=right",
        "--epoch", "0.5,3.0", "--nodes", "10-20", "--bands", "mu:8-13,beta:13-30", "--graph", "distance",
        "--graph-band", "mu", "--align", "subject", "--epochs", "2", "--folds", "2", "--controls", "none",
        "--baselines", "csp_lda", "--n-boot", "50", "--quiet", "--n-jobs", "1", "--out", str(tmp_path),
    ], capsys)
    assert code == 0, err
    assert "transductive" in out
    run_dir = next(tmp_path.iterdir())
    results = json.loads((run_dir / "results.json").read_text())
    assert results["alignment"]["transductive"] is True
    assert results["n_windows"] == 6 * 4 and results["classes"] == ["left", "right"]
    assert len(results["node_names"]) == 19  # the 10-20 subset of the 64 electrodes
    saved = json.loads((run_dir / "config.json").read_text())
    assert "transductive" in saved["transductive"] and saved["config"]["epoch"] == [0.5, 3.0]
    from eeg_gnn.pipeline.apply import apply_run
    from eeg_gnn.pipeline.runs import load_run

    with pytest.raises(ValueError, match="--align none"):
        apply_run(load_run(run_dir), imagery_cohort, progress=False)


@pytest.mark.slow
def test_reads_one_real_eegmmidb_subject(data_root, tmp_path):
    """S001's three imagery runs: 64 nodes with canonical names, 45 cue windows of 3.5 s, both classes."""
    from eeg_gnn.data.extraction import compute_recording
    from eeg_gnn.pipeline.experiment import build_samples

    config = TrainConfig(task="motor_imagery", data_dir=str(data_root / "eegmmidb"), graph="distance")
    dataset = load_dataset("eegmmidb", config.data_dir)
    assert len(dataset.subjects) >= 1 and dataset.classes == ["left", "right"]
    dataset.recordings = [r for r in dataset.recordings if r.subject == "S001"]
    assert [r.recording_id for r in dataset.recordings] == ["S001/S001R04.edf", "S001/S001R08.edf",
                                                              "S001/S001R12.edf"]
    extracted = [compute_recording(r, config.preprocessing(), dataset.nodes, config.feature_spec())
                 for r in dataset.recordings]
    assert extracted[0].node_names == node_sets()["10-10-64"]
    samples = build_samples(config, dataset, extracted)
    assert len(samples.labels) == 45
    assert samples.features.shape == (45, 64, 2)
    assert set(np.bincount(samples.labels)) <= {22, 23}
    # every window starts 0.5 s after a T1/T2 cue of its recording
    intervals = dict((r.recording_id, r.intervals) for r in dataset.recordings)
    for recording, onset in zip(samples.recordings, samples.onsets):
        assert any(abs(onset - 0.5 - start) < 1e-6 for _, start, _ in intervals[recording])


def test_erd_shows_desynchronisation_opposite_the_imagined_hand(imagery_cohort):
    from eeg_gnn.review.imagery import class_means, erd_per_subject

    config = TrainConfig(dataset="folder", data_dir=str(imagery_cohort), event_labels={"T1": "left", "T2": "right"},
                         epoch=(0.5, 3.0), nodes="10-10-64", bands={"mu": (8.0, 13.0)}, graph="distance",
                         graph_band="mu")
    dataset = load_dataset("folder", imagery_cohort, event_labels=config.event_labels)
    per_subject = erd_per_subject(dataset, config.preprocessing(), "10-10-64", config.bands, ["left", "right"])
    assert len(per_subject) == 6
    means = class_means(per_subject, ["left", "right"])
    names = node_sets()["10-10-64"]
    c3, c4 = names.index("C3"), names.index("C4")
    # the mu amplitude drops to 20 % over C4 for the left hand, over C3 for the right: about -96 % power, less
    # the noise floor
    assert means["left"][c4, 0] < -50 and means["right"][c3, 0] < -50
    assert abs(means["left"][c3, 0]) < 20 and abs(means["right"][c4, 0]) < 20


def test_importance_peak_names_the_nearest_hand_area():
    from eeg_gnn.review.imagery import importance_peak

    names = node_sets()["10-10-64"]
    importance = np.zeros(64)
    importance[names.index("C1")] = 1.0
    importance[names.index("C4")] = 0.5
    peak = importance_peak(importance, names)
    assert peak["node"] == "C1" and peak["nearest"] == "C3" and peak["near"]
    assert peak["rank_c4"] == 2
    importance[names.index("Oz")] = 2.0
    assert not importance_peak(importance, names)["near"]


def test_graphs_and_brainnet_files_for_the_64_electrodes(tmp_path):
    from eeg_gnn.review.export import write_pair
    from eeg_gnn.signal.graph import distance_adjacency

    names = node_sets()["10-10-64"]
    adjacency = distance_adjacency(positions(names, kind="scalp"), "gaussian")
    assert adjacency.shape == (64, 64) and np.allclose(adjacency, adjacency.T)
    node_file, edge_file = write_pair(tmp_path, "imagery", adjacency, "10-10-64", node_values=np.ones(64))
    rows = [line.split() for line in node_file.read_text().splitlines() if line and not line.startswith(("%", "#"))]
    assert len(rows) == 64 and rows[names.index("FC5")][-1] == "FC5"
    matrix = np.loadtxt(edge_file, comments=("%", "#"))
    assert matrix.shape == (64, 64)


@pytest.mark.slow
def test_copy_damaged_by_line_ending_conversion_is_refused(data_root, tmp_path):
    """A carriage return inserted before every line feed (as circulates online) shifts the records: one line."""
    from eeg_gnn.signal.io import read_recording

    original = (data_root / "eegmmidb" / "S001" / "S001R04.edf").read_bytes()
    damaged = tmp_path / "S001R04.edf"
    damaged.write_bytes(original.replace(b"\n", b"\r\n"))
    with pytest.raises(ValueError, match="does not start where its header puts it") as excinfo:
        read_recording(damaged)
    assert "\n" not in str(excinfo.value)
