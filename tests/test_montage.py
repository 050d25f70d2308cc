"""Tests for :mod:`eeg_gnn.signal.montage`: channel-name normalisation, node matching and electrode positions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from eeg_gnn.signal import montage
from eeg_gnn.signal.montage import (
    drop_reason,
    electrodes,
    looks_like_cap_grid,
    match_channels,
    node_sets,
    normalize_ch_name,
    positions,
    regions,
    resolve_nodes,
)

TEN_TWENTY = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
              "P7", "P3", "Pz", "P4", "P8", "O1", "O2"]
BRAINNET_EXAMPLE = "brainnet_example.node"


# ----------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("EEG Fp1", "Fp1"),
        ("EEG Fp1-REF", "Fp1"),
        ("Fp1-A1", "Fp1"),
        ("FP1", "Fp1"),
        ("fp1", "Fp1"),
        ("Fc5.", "FC5"),
        ("Fp1..", "Fp1"),
        ("EEG T3", "T7"),
        ("T4", "T8"),
        ("T5", "P7"),
        ("T6", "P8"),
        ("Cz-LE", "Cz"),
        ("EEG Fp2-Ref", "Fp2"),
        ("EEG T3-REF", "T7"),
        ("EEG T6-Ref", "P8"),
        ("Pz-M1", "Pz"),
        ("  O2  ", "O2"),
        ("CPZ", "CPz"),
    ],
)
def test_normalize_real_world_names(name, expected):
    assert normalize_ch_name(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("EEG A2-A1", "ear/mastoid reference"),
        ("A1", "ear/mastoid reference"),
        ("EEG A1-Ref", "ear/mastoid reference"),
        ("ECG ECG", "ECG"),
        ("EKG", "ECG"),
        ("HEOG", "EOG"),
        ("EMGleft", "EMG"),
        ("Status", "stimulus/status"),
        ("STI 014", "stimulus/status"),
        ("SP1", "sphenoidal"),
        ("FP1-F7", "bipolar"),
        ("T3-T5", "bipolar"),
        ("POL X1", "not a 10-20/10-10 electrode name"),
        ("17", "not a 10-20/10-10 electrode name"),
    ],
)
def test_non_nodes_and_drop_reasons(name, reason):
    assert normalize_ch_name(name) is None
    assert reason in drop_reason(name)


def test_aliases_are_not_table_rows_and_point_to_table_rows():
    table = electrodes()
    assert len(table) == 86
    for old, new in {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}.items():
        assert old not in table
        assert new in table
        assert resolve_nodes([old]) == [new]


def test_node_sets_are_canonical_and_ordered():
    sets = node_sets()
    assert sets["10-20"] == TEN_TWENTY
    assert sets["msu-16"] == ["F7", "F3", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3", "Pz", "P4",
                              "P8", "O1", "O2"]
    for nodes in sets.values():
        assert all(name in electrodes() for name in nodes)
        assert resolve_nodes(nodes) == nodes


def test_resolve_nodes_rejects_unknown_and_repeated():
    with pytest.raises(ValueError, match="'XX9' is not a 10-10 electrode name"):
        resolve_nodes(["Fp1", "XX9"])
    with pytest.raises(ValueError, match="'T7' is listed twice"):
        resolve_nodes(["T3", "T7"])
    with pytest.raises(ValueError, match=r"'nodes' parameter.*'10-20'.*'msu-16'.*'10-10'"):
        resolve_nodes("10-10")


# -------------------------------------------------------------------------------------- matching

EEGMAT_NAMES = ["EEG Fp1", "EEG Fp2", "EEG F3", "EEG F4", "EEG F7", "EEG F8", "EEG T3", "EEG T4", "EEG C3",
                "EEG C4", "EEG T5", "EEG T6", "EEG P3", "EEG P4", "EEG O1", "EEG O2", "EEG Fz", "EEG Cz",
                "EEG Pz", "EEG A2-A1", "ECG ECG"]


def test_match_follows_node_order_not_file_order():
    match = match_channels(EEGMAT_NAMES)
    assert match.node_names == TEN_TWENTY
    assert match.n_nodes == 19
    assert match.ch_names[:3] == ["EEG Fp1", "EEG Fp2", "EEG F7"]
    originals = dict(zip(match.node_names, match.ch_names, strict=True))
    assert originals["T7"] == "EEG T3"
    assert originals["P8"] == "EEG T6"
    assert match.missing == []
    assert set(match.dropped) == {"EEG A2-A1", "ECG ECG"}
    assert "ear/mastoid reference" in match.dropped["EEG A2-A1"]
    assert "ECG" in match.dropped["ECG ECG"]


def test_match_explicit_nodes_order_and_unrequested():
    match = match_channels(EEGMAT_NAMES, ["O2", "T3", "Fp1"])
    assert match.node_names == ["O2", "T7", "Fp1"]
    assert match.ch_names == ["EEG O2", "EEG T3", "EEG Fp1"]
    assert match.dropped["EEG Cz"] == "Cz is not among the requested nodes"


def test_on_missing_raise_names_missing_electrodes():
    names = [n for n in EEGMAT_NAMES if n not in ("EEG O1", "EEG T4")]
    with pytest.raises(ValueError) as excinfo:
        match_channels(names, source="sub-01.edf")
    message = str(excinfo.value)
    assert "sub-01.edf lacks 2 of the 19" in message
    assert "T8, O1" in message
    assert "on_missing" in message


def test_on_missing_warn_and_ignore():
    names = [n for n in EEGMAT_NAMES if n != "EEG O1"]
    with pytest.warns(RuntimeWarning, match="lacks 1 of the 19 requested electrodes: O1"):
        match = match_channels(names, on_missing="warn")
    assert match.missing == ["O1"]
    assert match.node_names == [n for n in TEN_TWENTY if n != "O1"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = match_channels(names, on_missing="ignore")
    assert quiet.node_names == match.node_names
    assert quiet.missing == ["O1"]
    with pytest.raises(ValueError, match=r"'on_missing'.*'raise', 'warn', 'ignore'.*'skip'"):
        match_channels(names, on_missing="skip")


def test_duplicates_keep_first_and_drop_second():
    match = match_channels(["T3", "C3", "T7", "Cz"], ["T7", "C3", "Cz"])
    assert match.node_names == ["T7", "C3", "Cz"]
    assert match.ch_names == ["T3", "C3", "Cz"]
    assert "duplicate of T7" in match.dropped["T7"]
    assert "'T3'" in match.dropped["T7"]


def test_channel_types_exclude_non_eeg():
    match = match_channels(["C3", "C4", "Cz", "Status", "X1"], ["C3", "Cz", "C4"],
                           ch_types=["eeg", "eeg", "eeg", "stim", "misc"])
    assert match.node_names == ["C3", "Cz", "C4"]
    assert match.dropped == {"Status": "stimulus/status channel", "X1": "MISC channel"}


def test_cap_grid_gives_no_nodes():
    grid = [f"{letter}{number}" for letter in "ABCD" for number in range(1, 17)]
    assert {"C3", "C4", "A1"} <= set(grid)
    assert looks_like_cap_grid(grid)
    match = match_channels(grid, on_missing="ignore")
    assert match.node_names == []
    assert len(match.missing) == 19
    assert len(match.dropped) == 64
    assert set(match.dropped.values()) == {montage._GRID_REASON}
    with pytest.raises(ValueError, match="lacks 19 of the 19"):
        match_channels(grid)


def test_a_few_grid_like_names_are_not_a_cap_grid():
    names = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "A1", "A2"]
    assert not looks_like_cap_grid(names)
    assert match_channels(names, on_missing="ignore").n_nodes == 10


# ------------------------------------------------------------------------------------- positions


def _mne_template():
    mne = pytest.importorskip("mne")
    builtin = mne.channels.get_builtin_montages()
    name = "colin27_1020" if "colin27_1020" in builtin else "standard_1020"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        template = mne.channels.make_standard_montage(name)
    found = template.get_positions()
    assert found["coord_frame"] == "mri"
    return {ch.upper(): xyz * 1000.0 for ch, xyz in found["ch_pos"].items()}


def test_scalp_positions_equal_mne_template():
    template = _mne_template()
    names = list(electrodes())
    ours = positions(names, kind="scalp")
    theirs = np.array([template[name.upper()] for name in names])
    np.testing.assert_allclose(ours, theirs, atol=0.1)
    # old names give the new site's position, as in MNE's template
    np.testing.assert_allclose(positions(["T3", "T5"], kind="scalp"), [template["T3"], template["T5"]], atol=0.1)


def _brainnet_example(data_path):
    rows = [line.split() for line in data_path.read_text().splitlines() if line.strip()]
    xyz = np.array([[float(v) for v in row[:3]] for row in rows])
    colour = [int(float(row[3])) for row in rows]
    labels = [row[5] for row in rows]
    return xyz, colour, labels


@pytest.fixture(scope="module")
def brainnet_example(data_root):
    """Okamoto's cortical positions of 21 electrodes, in ``reference/`` beside the data folder."""
    path = data_root.parent / "reference" / BRAINNET_EXAMPLE
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return _brainnet_example(path)


def test_cortical_positions_are_the_published_ones(brainnet_example):
    xyz, _, labels = brainnet_example
    assert len(labels) == 21
    distance = np.linalg.norm(positions(labels, kind="cortex") - xyz, axis=1)
    worst = labels[int(np.argmax(distance))]
    assert distance.max() < 0.01, f"{worst} is {distance.max():.2f} mm from the published position"
    assert {electrodes()[name].cortex_source for name in labels} == {"okamoto2004"}


def test_only_published_sites_are_marked_published():
    sources = {name: electrode.cortex_source for name, electrode in electrodes().items()}
    published = sorted(name for name, source in sources.items() if source == "okamoto2004")
    assert published == sorted([*TEN_TWENTY, "TP9", "TP10"])
    assert set(sources.values()) == {"okamoto2004", "projection"}


def test_regions_equal_published_colours(brainnet_example):
    _, colour, labels = brainnet_example
    assert [code for code, _ in regions(labels)] == colour
    assert regions(["Fp1", "T3", "O2"]) == [(1, "prefrontal"), (4, "temporal"), (6, "occipital")]


def test_cortex_lies_inside_scalp():
    names = list(electrodes())
    scalp = positions(names, kind="scalp")
    cortex = positions(names, kind="cortex")
    centre = scalp.mean(axis=0)
    inside = np.linalg.norm(cortex - centre, axis=1) < np.linalg.norm(scalp - centre, axis=1)
    assert inside.all(), [n for n, ok in zip(names, inside, strict=True) if not ok]
    # scalp-to-cortex distance of the 10-20 sites: Okamoto et al. 2004 measured 10-25 mm on their subjects; their
    # published cortical points against the Colin27 scalp template reach 32 mm (Fz)
    depth = np.linalg.norm(positions(TEN_TWENTY, kind="scalp") - positions(TEN_TWENTY, kind="cortex"), axis=1)
    assert (depth > 5.0).all() and (depth < 35.0).all(), dict(zip(TEN_TWENTY, depth.round(1), strict=True))


def test_positions_shape_order_and_bad_kind():
    xyz = positions(TEN_TWENTY)
    assert xyz.shape == (19, 3)
    assert xyz[0, 0] < 0 < xyz[1, 0]  # Fp1 left, Fp2 right
    assert xyz[0, 1] > 0 > xyz[-1, 1]  # Fp1 anterior, O2 posterior
    with pytest.raises(ValueError) as excinfo:
        positions(TEN_TWENTY, kind="bad")
    assert "'cortex', 'scalp'" in str(excinfo.value)
    assert "'bad'" in str(excinfo.value)
