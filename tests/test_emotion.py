"""Tests for :mod:`eeg_gnn.data.emotion`: SEED and DEAP files generated in their published structures.

SEED files are written with ``scipy.io.savemat`` exactly as published (``Preprocessed_EEG/label.mat`` with ``label``
1 x 15; ``<subject>_<yyyymmdd>.mat`` with ``<initials>_eeg1..15``, 62 x n_times), only shorter (8 s clips). DEAP
files are pickled dicts with ``data`` (40, 40, 8064) and ``labels`` (40, 4): the real shape, since the reader
checks it. The DEAP reader test uses float64 (one file, 103 MB); the DEAP end-to-end test writes three subjects in
float32 (52 MB each) to stay fast and is marked slow. Files that must fail their checks are small.
"""

from __future__ import annotations

import collections
import json
import pickle

import numpy as np
import pytest
import scipy.io

from eeg_gnn.data.datasets import load_dataset, load_descriptor
from eeg_gnn.data.emotion import (
    DEAP_BASELINE_SAMPLES,
    DEAP_EEG_CHANNELS,
    DEAP_N_TIMES,
    SEED_CHANNELS,
    deap_label,
    list_seed_recordings,
    parse_seed_recording_id,
    read_deap_trial,
    read_seed_clip,
    seed_clip_keys,
    seed_within_subject_folds,
    seed_within_subject_groups,
)
from eeg_gnn.evaluation.splitters import LeakageError, check_no_leakage
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import run_cv
from eeg_gnn.signal.io import read_recording
from eeg_gnn.signal.montage import match_channels, resolve_nodes

# The published SEED clip labels (label.mat), clips 1..15.
SEED_LABEL_VALUES = [1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]
SEED_CLASS = {-1: "negative", 0: "neutral", 1: "positive"}
SEED_SFREQ = 200
CLIP_SECONDS = 8


# ------------------------------------------------------------------------------------------ SEED files


def seed_clip(label: int, rng: np.random.Generator, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """62 x n_times microvolts: noise plus 10 Hz alpha whose amplitude grows with the label (-1 < 0 < 1)."""
    n_times = int(seconds * SEED_SFREQ)
    times = np.arange(n_times) / SEED_SFREQ
    phase = rng.uniform(0, 2 * np.pi, (len(SEED_CHANNELS), 1))
    return rng.normal(0, 5, (len(SEED_CHANNELS), n_times)) + 15 * (label + 1) * np.sin(2 * np.pi * 10 * times + phase)


def write_seed_labels(folder, values=SEED_LABEL_VALUES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(folder / "label.mat", {"label": np.array([values], dtype=np.int16)})


def write_seed_file(path, initials: str, seed: int = 0, clips=range(1, 16)) -> None:
    rng = np.random.default_rng(seed)
    scipy.io.savemat(path, {f"{initials}_eeg{k}": seed_clip(SEED_LABEL_VALUES[k - 1], rng) for k in clips})


def make_seed(root, sessions=(("1", "ab", ("20131027",)), ("2", "cd", ("20131105",)), ("3", "ef", ("20131110",)))):
    """``root/Preprocessed_EEG`` with label.mat and one file per subject and session, as published."""
    folder = root / "Preprocessed_EEG"
    write_seed_labels(folder)
    for index, (subject, initials, dates) in enumerate(sessions):
        for offset, date in enumerate(dates):
            write_seed_file(folder / f"{subject}_{date}.mat", initials, seed=10 * index + offset)
    (folder / "readme.txt").write_text("SEED preprocessed EEG\n")
    return root


def test_read_seed_clip_channels_units(tmp_path):
    path = tmp_path / "1_20131027.mat"
    values = np.arange(62)[:, None] + np.sin(np.arange(400) / 7.0)[None, :]  # microvolts
    scipy.io.savemat(path, {"ww_eeg1": values, "ww_eeg2": values[:, :100]})
    raw = read_recording(path, key="ww_eeg1")
    assert raw.ch_names == list(SEED_CHANNELS)
    assert raw.ch_names[:3] == ["FP1", "FPZ", "FP2"] and raw.ch_names[-5:] == ["CB1", "O1", "OZ", "O2", "CB2"]
    assert raw.info["sfreq"] == 200.0
    assert set(raw.get_channel_types()) == {"eeg"}
    np.testing.assert_allclose(raw.get_data(), values * 1e-6)
    assert str(raw.filenames[0]) == str(path)
    assert read_seed_clip(path, "ww_eeg2").n_times == 100


def test_read_seed_clip_missing_key_lists_clips(tmp_path):
    path = tmp_path / "1_20131027.mat"
    scipy.io.savemat(path, {"ww_eeg1": np.zeros((62, 10)), "ww_eeg2": np.zeros((62, 10)), "other": np.zeros(3)})
    with pytest.raises(ValueError) as excinfo:
        read_recording(path, key="ab_eeg1")
    message = str(excinfo.value)
    assert str(path) in message and "'ab_eeg1'" in message and "ww_eeg1, ww_eeg2" in message
    assert "other" not in message
    with pytest.raises(ValueError, match=r"pass key=.*ww_eeg1, ww_eeg2"):
        read_recording(path)


@pytest.mark.parametrize("shape", [(61, 400), (62, 0), (62,), (400, 62)])
def test_read_seed_clip_bad_shape(tmp_path, shape):
    path = tmp_path / "1_20131027.mat"
    scipy.io.savemat(path, {"ww_eeg1": np.ones(shape)})
    with pytest.raises(ValueError, match=r"1_20131027\.mat.*'ww_eeg1' has shape .*62 channels x n_times"):
        read_seed_clip(path, "ww_eeg1")


def test_read_seed_clip_not_finite(tmp_path):
    path = tmp_path / "1_20131027.mat"
    values = np.ones((62, 50))
    values[3, 7] = np.nan
    scipy.io.savemat(path, {"ww_eeg1": values})
    with pytest.raises(ValueError, match=r"1_20131027\.mat \(ww_eeg1\) has NaN or infinite samples in channels AF3"):
        read_seed_clip(path, "ww_eeg1")


def test_read_seed_clip_not_a_mat_file(tmp_path):
    path = tmp_path / "1_20131027.mat"
    path.write_bytes(b"not matlab at all" * 10)
    with pytest.raises(ValueError, match=r"1_20131027\.mat"):
        read_recording(path, key="ww_eeg1")


def test_list_seed_recordings(tmp_path):
    root = make_seed(tmp_path / "seed", sessions=(("1", "ab", ("20131027", "20131030")), ("10", "cd", ("20131105",)),
                                                   ("2", "ef", ("20131110",))))
    dataset = load_dataset("seed", root)
    assert len(dataset.recordings) == 4 * 15
    assert dataset.subjects == ["1", "10", "2"]
    # ordered by subject number, then session date, then clip
    assert [r.subject for r in dataset.recordings[::15]] == ["1", "1", "2", "10"]
    first = dataset.recordings[0]
    assert first.recording_id == "1_20131027.mat#ab_eeg1"
    assert first.read_kwargs == {"key": "ab_eeg1"}
    assert first.path == root / "Preprocessed_EEG" / "1_20131027.mat"
    assert [r.label for r in dataset.recordings[:15]] == [SEED_CLASS[v] for v in SEED_LABEL_VALUES]
    assert [r.label for r in dataset.recordings[15:30]] == [SEED_CLASS[v] for v in SEED_LABEL_VALUES]
    assert dataset.class_counts() == {c: {"recordings": 20, "subjects": 3} for c in ("negative", "neutral", "positive")}
    assert len({r.recording_id for r in dataset.recordings}) == 60
    clip = parse_seed_recording_id(dataset.recordings[16].recording_id)
    assert (clip.file, clip.subject, clip.date, clip.key, clip.clip) == ("1_20131030.mat", "1", "20131030", "ab_eeg2", 2)
    raw = dataset.recordings[16].read()
    assert raw.n_times == CLIP_SECONDS * SEED_SFREQ and raw.ch_names == list(SEED_CHANNELS)
    # the Preprocessed_EEG folder itself is accepted as --data-dir
    assert [r.recording_id for r in load_dataset("seed", root / "Preprocessed_EEG").recordings] == \
        [r.recording_id for r in dataset.recordings]


def test_seed_subject_named_files(tmp_path):
    # some copies name files after the subject (dujingcheng_20131027.mat) instead of its number
    folder = tmp_path / "Preprocessed_EEG"
    write_seed_labels(folder)
    write_seed_file(folder / "dujingcheng_20131027.mat", "djc")
    recordings = list_seed_recordings(load_descriptor("seed"), tmp_path)
    assert {r.subject for r in recordings} == {"dujingcheng"}
    assert recordings[14].recording_id == "dujingcheng_20131027.mat#djc_eeg15"


def test_seed_label_out_of_range(tmp_path):
    folder = tmp_path / "Preprocessed_EEG"
    write_seed_labels(folder, [1, 0, -1, 2] + SEED_LABEL_VALUES[4:])
    write_seed_file(folder / "1_20131027.mat", "ab")
    with pytest.raises(ValueError, match=r"label\.mat: labels must be -1, 0 or 1.*clip 4: 2"):
        load_dataset("seed", tmp_path)


def test_seed_label_file_wrong_shape_or_key(tmp_path):
    folder = tmp_path / "Preprocessed_EEG"
    folder.mkdir()
    write_seed_file(folder / "1_20131027.mat", "ab")
    scipy.io.savemat(folder / "label.mat", {"label": np.zeros((1, 14))})
    with pytest.raises(ValueError, match=r"label\.mat: 'label' has shape \(1, 14\)"):
        load_dataset("seed", tmp_path)
    scipy.io.savemat(folder / "label.mat", {"labels": np.zeros((1, 15))})
    with pytest.raises(ValueError, match=r"label\.mat has no variable 'label' \(it has \['labels'\]\)"):
        load_dataset("seed", tmp_path)


def test_seed_label_file_missing(tmp_path):
    folder = tmp_path / "Preprocessed_EEG"
    folder.mkdir()
    write_seed_file(folder / "1_20131027.mat", "ab")
    with pytest.raises(FileNotFoundError, match=r"label\.mat is missing"):
        load_dataset("seed", tmp_path)


def test_seed_file_with_missing_clip_or_two_prefixes(tmp_path):
    path = tmp_path / "1_20131027.mat"
    write_seed_file(path, "ab", clips=range(1, 15))
    with pytest.raises(ValueError, match=r"1_20131027\.mat: .*missing clips \[15\]"):
        seed_clip_keys(path)
    scipy.io.savemat(path, {**{f"ab_eeg{k}": np.zeros((62, 4)) for k in range(1, 16)}, "cd_eeg1": np.zeros((62, 4))})
    with pytest.raises(ValueError, match="several prefixes"):
        seed_clip_keys(path)
    scipy.io.savemat(path, {f"ab_eeg{k}": np.zeros((62 if k != 3 else 32, 4)) for k in range(1, 16)})
    with pytest.raises(ValueError, match=r"'ab_eeg3' has shape \(32, 4\)"):
        seed_clip_keys(path)


def test_seed_within_subject_protocol(tmp_path):
    root = make_seed(tmp_path / "seed", sessions=(("1", "ab", ("20131030", "20131027")), ("2", "cd", ("20131105",))))
    dataset = load_dataset("seed", root)
    ids = [r.recording_id for r in dataset.recordings]
    groups = seed_within_subject_groups(ids)
    assert groups[ids.index("1_20131027.mat#ab_eeg9")] == "1|session1|train"
    assert groups[ids.index("1_20131027.mat#ab_eeg10")] == "1|session1|test"
    assert groups[ids.index("1_20131030.mat#ab_eeg15")] == "1|session2|test"
    assert groups[ids.index("2_20131105.mat#cd_eeg1")] == "2|session1|train"
    labels = np.array([dataset.classes.index(r.label) for r in dataset.recordings])
    folds = seed_within_subject_folds(groups, labels)
    assert [(f.index, f.train_subjects, f.val_subjects, f.test_subjects) for f in folds] == [
        (0, ("1|session1|train",), (), ("1|session1|test",)),
        (1, ("1|session2|train",), (), ("1|session2|test",)),
        (2, ("2|session1|train",), (), ("2|session1|test",)),
    ]
    for fold in folds:
        train = [parse_seed_recording_id(i) for i, g in zip(ids, groups) if g in fold.train_subjects]
        test = [parse_seed_recording_id(i) for i, g in zip(ids, groups) if g in fold.test_subjects]
        assert sorted(c.clip for c in train) == list(range(1, 10))
        assert sorted(c.clip for c in test) == list(range(10, 16))
        assert len({(c.subject, c.date) for c in train + test}) == 1
        check_no_leakage(np.array(fold.train_subjects), np.array(fold.test_subjects))
    # per window: the same groups
    assert list(seed_within_subject_groups(np.repeat(ids[:2], 3))) == ["1|session1|train"] * 6
    with pytest.raises(ValueError, match="training clips have no window of classes"):
        seed_within_subject_folds(groups, np.where(np.char.endswith(groups, "test"), 2, 0))
    with pytest.raises(ValueError, match="only \\['train'\\]"):
        seed_within_subject_folds(groups[np.char.endswith(groups, "train")])
    with pytest.raises(ValueError, match="not a SEED recording id"):
        seed_within_subject_groups(["s01.dat#trial0"])
    with pytest.raises(LeakageError):
        check_no_leakage(np.array(["1|session1|train"]), np.array(["1|session1|train"]))


@pytest.mark.slow
def test_seed_end_to_end(tmp_path):
    root = make_seed(tmp_path / "seed")
    config = TrainConfig(task="emotion", dataset="seed", data_dir=str(root), graph="distance", epochs=2,
                         n_boot=20, progress=False, out=str(tmp_path / "runs"))
    assert config.cv == "loso"  # the descriptor's default
    results = run_cv(config)
    saved = json.loads((results.run_dir / "results.json").read_text())
    assert saved["n_subjects"] == 3 and saved["n_recordings"] == 45 and saved["n_folds"] == 3
    assert saved["classes"] == ["negative", "neutral", "positive"]
    assert saved["node_names"] == load_descriptor("seed")["nodes"]
    assert len(saved["node_names"]) == 60 and "CB1" not in saved["node_names"]
    assert not (results.run_dir / "INCOMPLETE").exists()


# ------------------------------------------------------------------------------------------- nodes


def test_descriptor_nodes_resolve():
    seed_nodes = load_descriptor("seed")["nodes"]
    assert resolve_nodes(seed_nodes) == seed_nodes and len(seed_nodes) == 60
    match = match_channels(SEED_CHANNELS, seed_nodes)
    assert match.node_names == seed_nodes
    assert set(match.dropped) == {"CB1", "CB2"}
    for name in ("deap_valence", "deap_arousal"):
        nodes = load_descriptor(name)["nodes"]
        assert resolve_nodes(nodes) == nodes and len(nodes) == 32
        match = match_channels(DEAP_EEG_CHANNELS, nodes)
        assert match.ch_names == list(DEAP_EEG_CHANNELS) and not match.dropped


def test_descriptors():
    seed = load_descriptor("seed")
    assert seed["expected"] == {**seed["expected"], "n_subjects": 15, "n_recordings": 675, "sfreq": 200.0}
    for rating in ("valence", "arousal"):
        deap = load_descriptor(f"deap_{rating}")
        assert deap["rating"] == rating and deap["classes"] == ["low", "high"]
        assert deap["expected"] == {**deap["expected"], "n_subjects": 32, "n_recordings": 1280, "sfreq": 128.0}
    for descriptor in (seed, deap):
        assert descriptor["task"] == "emotion" and descriptor["default_cv"] == "loso"
        assert descriptor["access"] not in ("open", "local") and "download" not in descriptor


@pytest.mark.parametrize(("name", "where"), [("seed", "https://bcmi.sjtu.edu.cn/home/seed/"),
                                             ("deap_valence", "https://www.eecs.qmul.ac.uk/mmv/datasets/deap/")])
def test_missing_data_says_licence_needed(tmp_path, monkeypatch, name, where):
    monkeypatch.setenv("EEG_GNN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as excinfo:
        load_dataset(name)
    message = str(excinfo.value)
    assert "signed licence agreement" in message and where in message
    assert "fetch" not in message
    # the folder exists but holds nothing
    (tmp_path / load_descriptor(name)["directory"]).mkdir()
    with pytest.raises(FileNotFoundError, match="No recordings") as excinfo:
        load_dataset(name)
    assert "signed licence agreement" in str(excinfo.value) and where in str(excinfo.value)


# ------------------------------------------------------------------------------------------ DEAP files


def deap_data(rng: np.random.Generator, high: np.ndarray, dtype=np.float64) -> np.ndarray:
    """(40, 40, 8064) microvolts; trials rated high carry strong alpha, the baseline carries a huge marker."""
    times = np.arange(DEAP_N_TIMES) / 128.0
    data = rng.normal(0, 5, (40, 40, DEAP_N_TIMES)).astype(dtype)
    alpha = np.sin(2 * np.pi * 10 * times).astype(dtype)
    data[high, :32] += 30 * alpha
    data[:, :, :DEAP_BASELINE_SAMPLES] = 1e4
    return data


def write_deap(path, data, labels, protocol: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        pickle.dump({"labels": labels, "data": data}, stream, protocol=protocol)


def ratings(rng: np.random.Generator) -> np.ndarray:
    labels = rng.uniform(1, 9, (40, 4))
    labels[::2, :2] = 7.5
    labels[1::2, :2] = 2.5
    labels[5, :2] = 5.0  # a tie: low
    return labels


@pytest.fixture(scope="module")
def deap_file(tmp_path_factory):
    """One s01.dat with the published structure and float64 data; channel c of trial t is offset by 100 t + c."""
    rng = np.random.default_rng(0)
    labels = ratings(rng)
    data = deap_data(rng, labels[:, 0] > 5)
    data[:, :, DEAP_BASELINE_SAMPLES:] += (100 * np.arange(40)[:, None, None] + np.arange(40)[None, :, None])
    path = tmp_path_factory.mktemp("deap") / "data_preprocessed_python" / "s01.dat"
    write_deap(path, data, labels, protocol=2)
    return path, data, labels


def test_read_deap_trial(deap_file):
    path, data, _ = deap_file
    raw = read_recording(path, trial=7)
    assert raw.ch_names == list(DEAP_EEG_CHANNELS)
    assert raw.ch_names[:4] == ["FP1", "AF3", "F3", "F7"] and raw.ch_names[-1] == "O2"
    assert raw.info["sfreq"] == 128.0 and raw.n_times == 60 * 128 == DEAP_N_TIMES - 384
    assert set(raw.get_channel_types()) == {"eeg"}
    values = raw.get_data()
    # the 3 s baseline (marker 1e4 µV) is gone; volts; only the 32 EEG channels of trial 7, in order
    np.testing.assert_allclose(values, data[7, :32, 384:] * 1e-6)
    assert np.abs(values).max() < 1e-3
    np.testing.assert_allclose(np.median(values, axis=1), (700 + np.arange(32)) * 1e-6, atol=2e-6)
    assert str(raw.filenames[0]) == str(path)
    assert read_deap_trial(path, 39).get_data()[0, 0] == pytest.approx(data[39, 0, 384] * 1e-6)


@pytest.mark.parametrize("trial", [40, -1, None])
def test_deap_trial_out_of_range(deap_file, trial):
    path = deap_file[0]
    with pytest.raises(ValueError, match=r"s01\.dat.*(out of range|pass trial=)"):
        read_recording(path, trial=trial)


def test_deap_labels(deap_file):
    from eeg_gnn.data.emotion import list_deap_recordings

    path, _, labels = deap_file
    recordings = list_deap_recordings(load_descriptor("deap_valence"), path.parent.parent)
    assert len(recordings) == 40
    assert recordings[0].subject == "s01" and recordings[0].recording_id == "s01.dat#trial0"
    assert recordings[39].read_kwargs == {"trial": 39}
    assert [r.label for r in recordings] == ["high" if v > 5 else "low" for v in labels[:, 0]]
    assert recordings[5].label == "low"  # valence exactly 5
    arousal = list_deap_recordings(load_descriptor("deap_arousal"), path.parent)  # the .dat folder itself
    assert [r.label for r in arousal] == ["high" if v > 5 else "low" for v in labels[:, 1]]
    assert deap_label(5.0) == "low" and deap_label(5.01) == "high"
    with pytest.raises(ValueError, match="'rating' parameter"):
        list_deap_recordings({**load_descriptor("deap_valence"), "rating": "joy"}, path.parent)


def small_labels() -> np.ndarray:
    return np.full((40, 4), 5.0)


def test_deap_missing_key(tmp_path):
    path = tmp_path / "s02.dat"
    with path.open("wb") as stream:
        pickle.dump({"data": np.zeros((40, 40, 10))}, stream)
    with pytest.raises(ValueError, match=r"s02\.dat has no 'labels' key \(keys: \['data'\]\)"):
        read_recording(path, trial=0)


def test_deap_wrong_shape(tmp_path):
    path = tmp_path / "s02.dat"
    write_deap(path, np.zeros((40, 32, 8064), dtype=np.float32), small_labels())
    with pytest.raises(ValueError, match=r"s02\.dat: 'data' has shape \(40, 32, 8064\); DEAP's is \(40, 40, 8064\)"):
        read_recording(path, trial=0)
    write_deap(path, np.zeros((40, 40, 10)), np.full((40, 3), 5.0))
    with pytest.raises(ValueError, match=r"s02\.dat: 'labels' has shape \(40, 3\)"):
        read_deap_trial(path, 0)


def test_deap_unequal_trial_lengths(tmp_path):
    path = tmp_path / "s02.dat"
    trials = [np.zeros((40, 8064)) for _ in range(39)] + [np.zeros((40, 8000))]
    write_deap(path, trials, small_labels())
    with pytest.raises(ValueError, match=r"s02\.dat: the trials of 'data' have unequal lengths.*8000, 8064"):
        read_deap_trial(path, 0)


def test_deap_rating_out_of_range(tmp_path):
    labels = small_labels()
    labels[3, 1] = 10.0
    path = tmp_path / "data_preprocessed_python" / "s02.dat"
    write_deap(path, np.zeros((40, 40, 10)), labels)
    with pytest.raises(ValueError, match=r"s02\.dat: rating arousal of trial 3 is 10, outside DEAP's 1-9 scale"):
        load_dataset("deap_arousal", tmp_path)


def test_deap_pickle_from_numpy_1(tmp_path):
    # files pickled by NumPy 1 (as DEAP's were) name numpy.core.multiarray, which NumPy 2 calls numpy._core
    stream = pickle.dumps({"data": np.zeros((40, 40, 10)), "labels": small_labels()}, protocol=2)
    assert b"numpy._core.multiarray" in stream
    path = tmp_path / "s02.dat"
    path.write_bytes(stream.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    with pytest.raises(ValueError, match=r"'data' has shape \(40, 40, 10\)"):  # unpickled; only the shape is wrong
        read_deap_trial(path, 0)


def test_deap_not_a_dict_or_not_arrays(tmp_path):
    path = tmp_path / "s02.dat"
    with path.open("wb") as stream:
        pickle.dump([1, 2, 3], stream)
    with pytest.raises(ValueError, match=r"s02\.dat holds a list"):
        read_deap_trial(path, 0)
    with path.open("wb") as stream:
        pickle.dump({"data": collections.OrderedDict(), "labels": small_labels()}, stream)
    with pytest.raises(ValueError, match=r"s02\.dat is not a DEAP preprocessed pickle: .*collections\.OrderedDict"):
        read_deap_trial(path, 0)
    path.write_bytes(b"\x80\x04truncated")
    with pytest.raises(ValueError, match=r"s02\.dat is not a DEAP preprocessed pickle"):
        read_recording(path, trial=0)


@pytest.fixture(scope="module")
def deap_root(tmp_path_factory):
    """Three DEAP subjects (float32 to keep the files at 52 MB each); high valence trials carry alpha."""
    root = tmp_path_factory.mktemp("deap-root")
    for number in (1, 2, 3):
        rng = np.random.default_rng(number)
        labels = ratings(rng)
        write_deap(root / "data_preprocessed_python" / f"s{number:02d}.dat",
                   deap_data(rng, labels[:, 0] > 5, dtype=np.float32), labels)
    return root


@pytest.mark.slow
def test_deap_end_to_end(deap_root, tmp_path):
    dataset = load_dataset("deap_valence", deap_root)
    assert dataset.subjects == ["s01", "s02", "s03"] and len(dataset.recordings) == 120
    assert dataset.class_counts() == {"low": {"recordings": 60, "subjects": 3}, "high": {"recordings": 60, "subjects": 3}}
    config = TrainConfig(task="emotion", dataset="deap_valence", data_dir=str(deap_root), graph="distance", window=10.0,
                         epochs=2, n_boot=20, progress=False, out=str(tmp_path / "runs"))
    results = run_cv(config)
    saved = json.loads((results.run_dir / "results.json").read_text())
    assert saved["cv"] == "loso" and saved["n_folds"] == 3 and saved["n_recordings"] == 120
    assert saved["n_windows"] == 120 * 6
    assert saved["node_names"] == load_descriptor("deap_valence")["nodes"]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_deap_pickles_of_any_protocol_load_but_code_does_not(protocol):
    import io
    import pickle

    from eeg_gnn.data.emotion import _ArrayUnpickler

    arrays = {"data": np.zeros((2, 3)), "labels": np.ones((2, 4))}
    loaded = _ArrayUnpickler(io.BytesIO(pickle.dumps(arrays, protocol=protocol)), encoding="latin1").load()
    assert loaded["data"].shape == (2, 3)
    with pytest.raises(pickle.UnpicklingError):
        _ArrayUnpickler(io.BytesIO(pickle.dumps(print, protocol=protocol))).load()
