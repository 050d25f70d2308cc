"""Features per recording from the cache: what reading recovered is kept with them, a damaged entry is recomputed."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from eeg_gnn.data.datasets import Dataset, Recording
from eeg_gnn.data.extraction import (
    FeatureSpec,
    cache_dir,
    data_quality,
    describe_data_quality,
    load_or_compute,
)
from eeg_gnn.signal.montage import node_sets
from eeg_gnn.signal.preprocessing import Preprocessing

SFREQ = 128.0
NODES = node_sets()["10-20"]
PREPROCESSING = Preprocessing(window_s=2.0)
SPEC = FeatureSpec(bands={"theta": (4, 8), "alpha": (8, 13)})


def write_edf(path, seconds: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    raw = mne.io.RawArray(rng.normal(0, 20e-6, (len(NODES), int(seconds * SFREQ))),
                          mne.create_info(NODES, SFREQ, "eeg"), verbose="error")
    raw.export(path, fmt="edf", verbose="error")
    return path


@pytest.fixture
def truncated(tmp_path):
    path = write_edf(tmp_path / "sub-01.edf")
    path.write_bytes(path.read_bytes()[:-1000])
    return Recording(path, "sub-01", "control", "sub-01.edf", {"on_truncated": "warn"})


def test_notes_of_a_truncated_recording_are_kept_and_come_back_from_the_cache(truncated):
    first, hit = load_or_compute(truncated, PREPROCESSING, "10-20", SPEC)
    assert not hit and len(first.notes) == 1 and first.notes[0].startswith("truncated: 19 of the 20 s")
    assert first.features.shape[0] == 9  # 2 s windows of the 19 s left
    again, hit = load_or_compute(truncated, PREPROCESSING, "10-20", SPEC)
    assert hit and again.notes == first.notes
    dataset = Dataset("folder", truncated.path.parent, {"task": "custom", "classes": ["control"]}, [truncated])
    quality = data_quality(dataset, [again])
    assert quality == {"notes": {"sub-01.edf": first.notes}}
    assert describe_data_quality(quality)[1] == f"  sub-01.edf: {first.notes[0]}"


def test_truncated_recording_is_refused_by_default(truncated):
    refused = Recording(truncated.path, "sub-01", "control", "sub-01.edf")
    with pytest.raises(ValueError, match="is truncated: .* --on-truncated warn"):
        load_or_compute(refused, PREPROCESSING, "10-20", SPEC)


def _entry(tmp_path):
    recording = Recording(write_edf(tmp_path / "sub-02.edf", seconds=8), "sub-02", "control", "sub-02.edf")
    first, hit = load_or_compute(recording, PREPROCESSING, "10-20", SPEC)
    entries = list((cache_dir() / "features").glob("*.npz"))
    assert not hit and len(entries) == 1
    return recording, first, entries[0]


@pytest.mark.parametrize("damage", ["truncated", "emptied", "garbled"])
def test_a_damaged_cache_entry_is_deleted_recomputed_and_reported(tmp_path, monkeypatch, capsys, damage):
    monkeypatch.setenv("EEG_GNN_CACHE", str(tmp_path / "cache"))
    recording, first, entry = _entry(tmp_path)
    content = entry.read_bytes()
    entry.write_bytes({"truncated": content[:len(content) // 2], "emptied": b"",
                       "garbled": content[:100] + bytes(255 - b for b in content[100:])}[damage])
    again, hit = load_or_compute(recording, PREPROCESSING, "10-20", SPEC)
    assert not hit
    np.testing.assert_array_equal(again.features, first.features)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"cache entry {entry} was damaged" in lines[0] and "recomputing" in lines[0]
    assert entry.read_bytes() == content  # stored again, whole
    assert load_or_compute(recording, PREPROCESSING, "10-20", SPEC)[1]


def test_no_cache_recomputes_and_replaces_the_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("EEG_GNN_CACHE", str(tmp_path / "cache"))
    recording, first, entry = _entry(tmp_path)
    entry.write_bytes(b"not a zip file")
    again, hit = load_or_compute(recording, PREPROCESSING, "10-20", SPEC, use_cache=False)
    assert not hit and entry.read_bytes() != b"not a zip file"
    assert load_or_compute(recording, PREPROCESSING, "10-20", SPEC)[1]


def test_bad_channels_are_kept_with_the_features_and_summarised(tmp_path):
    path = tmp_path / "sub-03.edf"
    rng = np.random.default_rng(3)
    data = rng.normal(0, 20e-6, (len(NODES), int(8 * SFREQ)))
    data[NODES.index("Cz")] = 0.0
    mne.io.RawArray(data, mne.create_info(NODES, SFREQ, "eeg"), verbose="error").export(path, fmt="edf",
                                                                                      verbose="error")
    recording = Recording(path, "sub-03", "control", "sub-03.edf")
    with pytest.raises(ValueError, match="Cz flat .* --bad-channels interpolate"):
        load_or_compute(recording, PREPROCESSING, "10-20", SPEC)
    for policy, action in (("interpolate", "interpolated"), ("drop-recording", "dropped")):
        config = Preprocessing(window_s=2.0, bad_channels=policy)
        for expect_hit in (False, True):
            result, hit = load_or_compute(recording, config, "10-20", SPEC)
            assert hit == expect_hit and set(result.bad_channels) == {"Cz"}
            assert result.dropped == (action == "dropped")
        dataset = Dataset("folder", tmp_path, {"task": "custom", "classes": ["control"]}, [recording])
        quality = data_quality(dataset, [result])
        assert quality["bad_channels"]["sub-03.edf"]["action"] == action
        lines = describe_data_quality(quality)
        assert "--bad-channels" in lines[0] and lines[1].startswith("  sub-03.edf: Cz flat")
