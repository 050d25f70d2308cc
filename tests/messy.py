"""A generated clinical cohort shaped like a real one that no single bad-channel policy could train.

Every recording is EDF with an amplifier that saturates at +-325 µV: Fp1 sits at its rail (blinks cut off) in
about 15 % of the samples of every recording. Some recordings have one to three flat or near-dead (0.05 µV)
electrodes, two have twelve (too many to rebuild), one has O2 at its rail throughout (no clean window). The
participants table labels subjects in a ``category`` column, has an ``age`` column, and lists two subjects
without recordings. Patients carry a 10 Hz rhythm (so there is something to learn), are older, and most of them
were recorded at 100 Hz, the controls at 128 Hz (a confound a classifier could learn).
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np

from eeg_gnn.signal.montage import node_sets

NODES = node_sets()["10-20"]
RAIL_UV = 325.0
SECONDS = 48
#: recording -> {node: 'flat' | 'dead'} (near-dead: 0.05 µV of noise)
BAD = {"P01_a.edf": {"Cz": "flat"}, "P02_a.edf": {"T7": "dead", "O1": "flat"},
       "C01_b.edf": {"P3": "dead", "P4": "dead", "F8": "flat"}, "C03_a.edf": {"Pz": "flat"}}
#: recordings with twelve dead electrodes: left out under interpolate-or-drop
TOO_MANY = ("P03_b.edf", "C02_a.edf")
#: a recording whose O2 is at its rail throughout: every window has a clipped node
RAILED = "C04_a.edf"
PATIENTS = ("P01", "P02", "P03", "P04", "P05", "P06")
CONTROLS = ("C01", "C02", "C03", "C04", "C05", "C06")
MISSING = ("P07", "C07")
#: recorded at 100 Hz (the others at 128 Hz): five of six patients, one of six controls
AT_100_HZ = PATIENTS[1:] + CONTROLS[:1]


def recording(subject: str, rng: np.random.Generator, sfreq: float, name: str) -> mne.io.RawArray:
    """One recording in volts: noise (a 10 Hz rhythm for patients), Fp1 clipped blinks, the bad nodes of ``name``."""
    times = np.arange(int(SECONDS * sfreq)) / sfreq
    data = rng.normal(0, 15e-6, (len(NODES), times.size))
    if subject.startswith("P"):
        data += 25e-6 * np.sin(2 * np.pi * 10 * times + rng.uniform(0, 2 * np.pi, (len(NODES), 1)))
    blinks = np.zeros(times.size)
    for onset in np.arange(1.0, SECONDS - 2, 8.0):  # a 1.2 s blink every 8 s: 15 % of the samples, half the windows
        blinks += 900e-6 * np.exp(-0.5 * ((times - onset - 0.6) / 0.6) ** 8)
    data[NODES.index("Fp1")] += blinks
    for node, kind in BAD.get(name, {}).items():
        data[NODES.index(node)] = 0.0 if kind == "flat" else rng.normal(0, 0.05e-6 / 6, times.size)
    if name in TOO_MANY:
        for node in NODES[4:16]:
            data[NODES.index(node)] = rng.normal(0, 0.05e-6 / 6, times.size)
    if name == RAILED:
        data[NODES.index("O2")] = np.where(np.arange(times.size) // 10 % 2, 1, -1) * 500e-6
    return mne.io.RawArray(np.clip(data, -RAIL_UV * 1e-6, RAIL_UV * 1e-6), mne.create_info(NODES, sfreq, "eeg"),
                           verbose="error")


def build(root: Path, seed: int = 0) -> Path:
    """Write the cohort into ``root``: ``participants.csv`` and two EDF recordings per subject."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = ["subject,category,age"]
    for index, subject in enumerate(PATIENTS + CONTROLS):
        patient = subject in PATIENTS
        for run in ("a", "b"):
            name = f"{subject}_{run}.edf"
            sfreq = 100.0 if subject in AT_100_HZ else 128.0
            recording(subject, rng, sfreq, name).export(root / name, fmt="edf", physical_range=(-RAIL_UV,
                                                                                                  RAIL_UV),
                                                        verbose="error")
        rows.append(f"{subject},{'Patient' if patient else 'Control'},{(48 if patient else 30) + index % 5}")
    rows += [f"{subject},{'Patient' if subject.startswith('P') else 'Control'},40" for subject in MISSING]
    (root / "participants.csv").write_text("\n".join(rows) + "\n")
    return root
