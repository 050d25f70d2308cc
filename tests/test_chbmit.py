"""CHB-MIT: summary parsing, labelled intervals, bipolar nodes, per-patient download and a run on generated files.

Every file is generated in CHB-MIT's own layout (``chbNN/chbNN-summary.txt`` + ``chbNN_MM.edf``, bipolar channel
names with a duplicate ``T8-P8`` and ``-`` placeholders) under ``tmp_path``; nothing is downloaded from the internet.
"""

from __future__ import annotations

import csv
import functools
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import edfio
import numpy as np
import pytest

from eeg_gnn.data import chbmit
from eeg_gnn.data.chbmit import fetch_patient, list_recordings, parse_summary, seizure_intervals
from eeg_gnn.data.datasets import load_dataset, load_descriptor
from eeg_gnn.pipeline.config import TASKS, TrainConfig
from eeg_gnn.signal.montage import match_channels, node_sets, positions, regions, resolve_nodes
from eeg_gnn.signal.preprocessing import Preprocessing, preprocess

REPO = Path(__file__).resolve().parents[1]
SFREQ = 256
NODES = node_sets(bipolar=True)["chbmit-bipolar-18"]
# chb01's montage: 23 channels, T8-P8 twice
MONTAGE_A = ["FP1-F7", "F7-T7", "T7-P7", "P7-O1", "FP1-F3", "F3-C3", "C3-P3", "P3-O1", "FP2-F4", "F4-C4", "C4-P4",
             "P4-O2", "FP2-F8", "F8-T8", "T8-P8", "P8-O2", "FZ-CZ", "CZ-PZ", "P7-T7", "T7-FT9", "FT9-FT10",
             "FT10-T8", "T8-P8"]
# a later montage with placeholder channels (MNE reads the two '-' as '--0' and '--1')
MONTAGE_B = MONTAGE_A[:18] + ["-", "FT9-FT10", "-", "FT10-T8"]
LEFT_CHAINS = range(8)  # FP1-F7 ... P3-O1: where the generated seizures show


def write_edf(path: Path, ch_names: list[str], duration_s: int, seizures=(), seed: int = 0) -> None:
    """Noise on every channel, plus a high-amplitude 3 Hz rhythm on the left chains during each seizure."""
    rng = np.random.default_rng(seed)
    times = np.arange(duration_s * SFREQ) / SFREQ
    data = rng.normal(0, 15, (len(ch_names), times.size))
    for start, end in seizures:
        inside = (times >= start) & (times < end)
        for index in LEFT_CHAINS:
            data[index, inside] += 200 * np.sin(2 * np.pi * 3 * times[inside] + index)
    signals = [edfio.EdfSignal(np.clip(row, -999, 999), SFREQ, label=name, physical_dimension="uV",
                               physical_range=(-1000, 1000)) for row, name in zip(data, ch_names, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    edfio.Edf(signals).write(path)


def channel_block(ch_names: list[str], header: str = "Channels in EDF Files:") -> str:
    lines = [header, "*" * len(header)] + [f"Channel {i}: {name}" for i, name in enumerate(ch_names, start=1)]
    return "\n".join(lines) + "\n\n"


def file_block(name: str, start: str, end: str, seizures=(), numbered: bool = False) -> str:
    lines = [f"File Name: {name}", f"File Start Time: {start}", f"File End Time: {end}",
             f"Number of Seizures in File: {len(seizures)}"]
    for number, (onset, offset) in enumerate(seizures, start=1):
        tag = f"Seizure {number}" if numbered else "Seizure"
        lines += [f"{tag} Start Time: {onset} seconds", f"{tag} End Time: {offset} seconds"]
    return "\n".join(lines) + "\n\n"


HEADER = "Data Sampling Rate: 256 Hz\n*************************\n\n"
DURATION = 200  # s: long enough for non-ictal windows outside the default 60 s gaps
SEIZURE = (80, 140)


def make_patient(root: Path, patient: str, *, numbered: bool = False, montage_change: bool = False,
                 seed: int = 0) -> Path:
    """Two 200 s files: ``_01`` without a seizure, ``_02`` with one at 80-140 s (clock past midnight)."""
    folder = root / patient
    second_montage = MONTAGE_B if montage_change else MONTAGE_A
    write_edf(folder / f"{patient}_01.edf", MONTAGE_A, DURATION, seed=seed)
    write_edf(folder / f"{patient}_02.edf", second_montage, DURATION, [SEIZURE], seed=seed + 1)
    text = HEADER + channel_block(MONTAGE_A) + file_block(f"{patient}_01.edf", "23:57:00", "24:00:20")
    if montage_change:
        text += channel_block(MONTAGE_B, "Channels changed:")
    text += file_block(f"{patient}_02.edf", "24:00:20", "24:03:40", [SEIZURE], numbered=numbered)
    (folder / f"{patient}-summary.txt").write_text(text)
    return folder


@pytest.fixture(scope="session")
def chbmit_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("chbmit")
    make_patient(root, "chb01", seed=10)
    make_patient(root, "chb02", numbered=True, montage_change=True, seed=20)
    make_patient(root, "chb03", seed=30)
    make_patient(root, "chb21", seed=40)
    return root


# ---------------------------------------------------------------------------------------------- summaries


def test_parse_summary_layout(chbmit_root):
    summaries = parse_summary(chbmit_root / "chb02" / "chb02-summary.txt")
    assert list(summaries) == ["chb02_01.edf", "chb02_02.edf"]
    first, second = summaries.values()
    assert (first.start_time, first.end_time, first.seizures) == ("23:57:00", "24:00:20", [])
    assert (second.start_time, second.end_time) == ("24:00:20", "24:03:40")
    assert second.seizures == [(80.0, 140.0)]  # numbered 'Seizure 1 Start Time:' form
    assert first.channels == MONTAGE_A
    assert second.channels == MONTAGE_B  # the montage changed between the files
    plain = parse_summary(chbmit_root / "chb01" / "chb01-summary.txt")
    assert plain["chb01_02.edf"].seizures == [(80.0, 140.0)]
    assert plain["chb01_02.edf"].channels == MONTAGE_A
    assert chbmit.clock_seconds("24:01:00") == 86460


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ("File Name: chb09_01.edf\nNumber of Seizures in File: 2\nSeizure Start Time: 10 seconds\n"
         "Seizure End Time: 20 seconds\n", r"line 2: chb09_01\.edf says Number of Seizures in File: 2 but lists 1"),
        ("File Name: chb09_02.edf\nNumber of Seizures in File: 2\nSeizure 1 Start Time: 10 seconds\n"
         "Seizure 1 End Time: 50 seconds\nSeizure 2 Start Time: 40 seconds\nSeizure 2 End Time: 60 seconds\n",
         r"chb09_02\.edf has overlapping seizures 10-50 s and 40-60 s"),
        ("File Name: chb09_03.edf\nNumber of Seizures in File: 1\nSeizure Start Time: 30 seconds\n"
         "Seizure End Time: 30 seconds\n", r"line 4: chb09_03\.edf has a seizure ending at 30 s, not after"),
        ("File Name: chb09_04.edf\nNumber of Seizures in File: 1\nSeizure Start Time: 30 seconds\n",
         r"chb09_04\.edf has a seizure start without an end"),
    ],
)
def test_parse_summary_errors_name_the_file(tmp_path, blocks, message):
    path = tmp_path / "chb09-summary.txt"
    path.write_text(blocks)
    with pytest.raises(ValueError, match=message):
        parse_summary(path)


def test_seizure_beyond_the_recording(tmp_path):
    path = tmp_path / "chb09-summary.txt"
    path.write_text(file_block("chb09_01.edf", "10:00:00", "10:00:30", [(25, 40)]))
    assert parse_summary(path)["chb09_01.edf"].seizures == [(25.0, 40.0)]  # no length known: accepted
    with pytest.raises(ValueError, match=r"chb09_01\.edf has a seizure at 25-40 s, beyond the end of the recording "
                                         r"\(30 s\)"):
        parse_summary(path, durations={"chb09_01.edf": 30.0})
    # list_recordings knows the length from the EDF header
    write_edf(tmp_path / "chbmit" / "chb09" / "chb09_01.edf", MONTAGE_A, 30)
    shutil.copy(path, tmp_path / "chbmit" / "chb09" / path.name)
    with pytest.raises(ValueError, match=r"chb09_01\.edf has a seizure at 25-40 s, beyond"):
        list_recordings(load_descriptor("chbmit"), tmp_path / "chbmit")


# ---------------------------------------------------------------------------------------------- intervals


def test_intervals_with_default_gap_and_same_person(chbmit_root):
    recordings = list_recordings(load_descriptor("chbmit"), chbmit_root)
    by_id = {r.recording_id: r for r in recordings}
    assert sorted(by_id) == [f"chb{p}/chb{p}_0{i}.edf" for p in ("01", "02", "03", "21") for i in (1, 2)]
    assert {r.subject for r in recordings} == {"chb01", "chb02", "chb03"}
    assert by_id["chb21/chb21_01.edf"].subject == "chb01"  # chb21 is chb01 again
    assert all(r.label is None for r in recordings)
    # no seizure in _01, and the next file's seizure (80 s into it) is 280 s later on the clock: gap ends at 200 s
    assert by_id["chb01/chb01_01.edf"].intervals == (("non-ictal", 0.0, 200.0),)
    assert by_id["chb02/chb02_02.edf"].intervals == (("non-ictal", 0.0, 20.0), ("ictal", 80.0, 140.0))


def test_intervals_gap_preictal_and_neighbouring_files():
    assert seizure_intervals(300, [(100, 120)], gap_s=10) == (
        ("non-ictal", 0.0, 90.0), ("ictal", 100.0, 120.0), ("non-ictal", 130.0, 300.0))
    assert seizure_intervals(300, [(100, 120)], gap_s=10, preictal_s=50) == (
        ("non-ictal", 0.0, 40.0), ("preictal", 40.0, 90.0), ("ictal", 100.0, 120.0), ("non-ictal", 130.0, 300.0))
    # a seizure 20 s into the next file (which starts at 300 s): its gap and pre-ictal period reach back here
    assert seizure_intervals(300, [], gap_s=10, preictal_s=50, nearby_seizures=[(320, 330)]) == (
        ("non-ictal", 0.0, 260.0), ("preictal", 260.0, 300.0))
    # the pre-ictal period never covers a previous seizure or its gap
    assert seizure_intervals(300, [(50, 60), (100, 110)], gap_s=10, preictal_s=50) == (
        ("preictal", 0.0, 40.0), ("ictal", 50.0, 60.0), ("preictal", 70.0, 90.0), ("ictal", 100.0, 110.0),
        ("non-ictal", 120.0, 300.0))


def test_descriptor_gap_and_preictal_options(chbmit_root):
    descriptor = {**load_descriptor("chbmit"), "seizure_gap_s": 5.0}
    by_id = {r.recording_id: r for r in list_recordings(descriptor, chbmit_root)}
    assert by_id["chb03/chb03_02.edf"].intervals == (
        ("non-ictal", 0.0, 75.0), ("ictal", 80.0, 140.0), ("non-ictal", 145.0, 200.0))
    with pytest.raises(ValueError, match="'preictal' is not among the classes"):
        list_recordings({**descriptor, "preictal_s": 30.0}, chbmit_root)
    with_preictal = {**descriptor, "preictal_s": 30.0, "classes": ["non-ictal", "preictal", "ictal"]}
    by_id = {r.recording_id: r for r in list_recordings(with_preictal, chbmit_root)}
    assert ("preictal", 45.0, 75.0) in by_id["chb03/chb03_02.edf"].intervals


def test_files_lacking_a_node_are_left_out_with_a_warning(tmp_path):
    folder = tmp_path / "chb05"
    write_edf(folder / "chb05_01.edf", MONTAGE_A, 30)
    write_edf(folder / "chb05_02.edf", [n for n in MONTAGE_A if n != "CZ-PZ"], 30)
    write_edf(folder / "chb05_99.edf", MONTAGE_A, 30)
    (folder / "chb05-summary.txt").write_text(
        HEADER + channel_block(MONTAGE_A) + file_block("chb05_01.edf", "01:00:00", "01:00:30")
        + channel_block([n for n in MONTAGE_A if n != "CZ-PZ"], "Channels changed:")
        + file_block("chb05_02.edf", "01:00:30", "01:01:00") + file_block("chb05_03.edf", "01:01:00", "01:01:30"))
    with pytest.warns(RuntimeWarning, match=r"2 of the 3 CHB-MIT files .* chb05/chb05_99\.edf \(not in the summary"
                                            r".*chb05/chb05_02\.edf \(lacks Cz-Pz\)"):
        recordings = list_recordings(load_descriptor("chbmit"), tmp_path)
    assert [r.recording_id for r in recordings] == ["chb05/chb05_01.edf"]  # chb05_03 was not downloaded


# ---------------------------------------------------------------------------------------------- bipolar nodes


def test_bipolar_node_set_and_resolve():
    assert len(NODES) == 18 and NODES[0] == "Fp1-F7" and NODES[-1] == "Cz-Pz"
    assert resolve_nodes("chbmit-bipolar-18") == NODES
    assert "chbmit-bipolar-18" not in node_sets()  # node_sets() stays the sets of single electrodes
    assert resolve_nodes(["FP1-F7", "T3-T5", "t8-p8"]) == ["Fp1-F7", "T7-P7", "T8-P8"]
    with pytest.raises(ValueError, match="'T7-P7' is listed twice"):
        resolve_nodes(["T3-T5", "T7-P7"])
    with pytest.raises(ValueError, match="'Fp1-XX' is not a 10-10 electrode name nor a bipolar derivation"):
        resolve_nodes(["Fp1-XX"])


def test_match_bipolar_channels_as_mne_reads_them(chbmit_root):
    recordings = {r.recording_id: r for r in load_dataset("chbmit", chbmit_root).recordings}
    raw = recordings["chb02/chb02_01.edf"].read()
    assert raw.ch_names.count("T8-P8-0") == 1 and "T8-P8-1" in raw.ch_names  # how MNE names the duplicate
    match = match_channels(raw.ch_names, "chbmit-bipolar-18")
    assert match.node_names == NODES
    assert match.ch_names[NODES.index("T8-P8")] == "T8-P8-0"
    assert match.dropped["T8-P8-1"] == "duplicate of T8-P8 ('T8-P8-0')"
    assert match.dropped["FT9-FT10"] == "FT9-FT10 is not among the requested nodes"
    changed = recordings["chb02/chb02_02.edf"].read()
    assert {"--0", "--1"} <= set(changed.ch_names)
    match = match_channels(changed.ch_names, "chbmit-bipolar-18")
    assert match.node_names == NODES
    assert match.dropped["--0"] == match.dropped["--1"] == "placeholder channel"
    # asked for electrodes, bipolar channels are still dropped as derivations
    monopolar = match_channels(raw.ch_names, "10-20", on_missing="ignore")
    assert monopolar.n_nodes == 0
    assert "bipolar derivation" in monopolar.dropped["FP1-F7"]
    assert "bipolar derivation" in monopolar.dropped["T8-P8-0"]
    windows = preprocess(raw, Preprocessing(reference="as-recorded"), "chbmit-bipolar-18")
    assert windows.node_names == NODES and windows.data.shape[1:] == (18, 4 * SFREQ)


def test_bipolar_positions_are_midpoints_and_regions_first_electrode():
    for kind in ("scalp", "cortex"):
        pairs = positions(["Fp1", "F7", "T8", "P8"], kind)
        mid = positions(["Fp1-F7", "T8-P8"], kind)
        np.testing.assert_allclose(mid, [(pairs[0] + pairs[1]) / 2, (pairs[2] + pairs[3]) / 2])
    assert positions(NODES, "scalp").shape == (18, 3)
    assert regions(["Fp1-F7", "T8-P8", "Cz-Pz"]) == [(1, "prefrontal"), (4, "temporal"), (3, "central")]


# ---------------------------------------------------------------------------------------------- runs


def test_run_cv_on_generated_patients(chbmit_root, tmp_path):
    from eeg_gnn.pipeline.experiment import run_cv

    assert TASKS["seizure"] == "chbmit"
    config = TrainConfig(task="seizure", data_dir=str(chbmit_root), folds=3, epochs=2, n_boot=20, progress=False,
                         out=str(tmp_path / "runs"), controls=(), baselines=("logreg",))
    assert config.dataset == "chbmit" and config.cv == "group-kfold"
    results = run_cv(config).results
    assert results["classes"] == ["non-ictal", "ictal"]
    assert results["n_subjects"] == 3 and results["n_recordings"] == 8
    assert results["node_names"] == NODES
    # 4 cases x (50 non-ictal + 5 non-ictal + 15 ictal windows of 4 s)
    assert results["n_windows"] == 4 * 70
    for name in ("graph", "logreg"):
        assert "false_alarms_per_hour" in results["models"][name]["window"]
    assert results["models"]["logreg"]["window"]["balanced_accuracy"] > 0.8
    (run_dir,) = (tmp_path / "runs").iterdir()
    with (run_dir / "predictions.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert {row["subject"] for row in rows if row["recording"].startswith("chb21/")} == {"chb01"}
    # chb01 and chb21 (the same person) are tested in the same fold
    assert len({row["fold"] for row in rows if row["recording"].startswith(("chb01/", "chb21/"))}) == 1
    # SzCORE: events of every test recording, scores per patient (chb21 counted as chb01) with intervals over them
    assert len(list((run_dir / "szcore" / "reference").glob("*_events.tsv"))) == results["n_recordings"]
    for name in ("graph", "logreg"):
        event = results["szcore"]["models"][name]["event"]
        assert len(event["per_patient"]) == 3 and "chb21" not in event["per_patient"]
        assert event["ci95"]["sensitivity"] is not None
    assert results["szcore"]["models"]["logreg"]["event"]["sensitivity"] > 0.5


def test_train_without_data_says_how_to_get_chbmit(tmp_path):
    env = {**os.environ, "EEG_GNN_DATA": str(tmp_path / "data"), "EEG_GNN_CACHE": str(tmp_path / "cache")}
    (tmp_path / "data").mkdir()
    result = subprocess.run([sys.executable, str(REPO / "train.py"), "--task", "seizure", "--quiet",
                             "--out", str(tmp_path / "runs")], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Dataset 'chbmit' was not found" in result.stderr
    assert "eeg-gnn fetch chbmit chb01" in result.stderr
    assert str(tmp_path / "data" / "chbmit") in result.stderr


# ---------------------------------------------------------------------------------------------- download


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - http.server API
        pass


@pytest.fixture
def serve(tmp_path):
    """Serve a folder on 127.0.0.1 (a free port); returns its base URL."""
    servers = []

    def start(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.network
def test_fetch_patient_from_a_local_server(chbmit_root, tmp_path, serve):
    base_url = serve(chbmit_root)
    folder = fetch_patient("chb02", tmp_path / "chbmit", base_url=base_url, progress=False)
    assert folder == tmp_path / "chbmit" / "chb02"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["chb02-summary.txt", "chb02_01.edf", "chb02_02.edf"]
    for name in names:
        assert (folder / name).read_bytes() == (chbmit_root / "chb02" / name).read_bytes()
    dataset = load_dataset("chbmit", tmp_path / "chbmit")
    assert [r.recording_id for r in dataset.recordings] == ["chb02/chb02_01.edf", "chb02/chb02_02.edf"]
    assert fetch_patient(2, tmp_path / "chbmit", base_url=base_url, progress=False) == folder  # already there


@pytest.mark.network
def test_fetch_patient_checks_channel_count(chbmit_root, tmp_path, serve):
    mirror = tmp_path / "mirror"
    shutil.copytree(chbmit_root / "chb03", mirror / "chb03")
    summary = mirror / "chb03" / "chb03-summary.txt"
    summary.write_text(summary.read_text().replace("Channel 23: T8-P8\n", ""))
    with pytest.raises(ValueError, match=r"chb03_01\.edf has 23 channels but chb03-summary\.txt lists 22"):
        fetch_patient("chb03", tmp_path / "chbmit", base_url=serve(mirror), progress=False)
    with pytest.raises(ValueError, match="'chb1x' is not a CHB-MIT case"):
        fetch_patient("chb1x", tmp_path / "chbmit", base_url="http://127.0.0.1:9/", progress=False)
