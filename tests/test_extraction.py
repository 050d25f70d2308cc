"""Features per recording from the cache: what reading recovered is kept with them, a damaged entry is recomputed."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from eeg_gnn.data.datasets import Dataset, Recording
from eeg_gnn.data.extraction import (
    FeatureSpec,
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
