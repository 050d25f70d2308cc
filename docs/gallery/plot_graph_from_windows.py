"""
From a recording to brain graphs
================================

A recording becomes windows, each window a graph: the 19 electrodes of the 10-20 system are its nodes, their band
powers the node features, and the phase-locking value (PLV) between electrodes in the alpha band its edges. A
generated recording stands in for a real one here (``eeg_gnn.read_recording(path)`` reads EDF, BDF, BrainVision,
EEGLAB, FIF ... the same way).
"""

# %%
# A generated recording: noise plus an alpha rhythm shared by the posterior electrodes.
import matplotlib.pyplot as plt
import mne
import numpy as np

import eeg_gnn

sfreq = 256.0
names = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3", "Pz", "P4", "P8",
         "O1", "O2"]
rng = np.random.default_rng(0)
times = np.arange(int(60 * sfreq)) / sfreq
data = rng.normal(0, 10e-6, (len(names), times.size))
alpha = np.sin(2 * np.pi * 10 * times)
for index, name in enumerate(names):
    if name[0] in "PO":
        data[index] += 20e-6 * alpha
raw = mne.io.RawArray(data, mne.create_info(names, sfreq, "eeg"), verbose="error")

# %%
# Filtered, resampled, average-referenced and cut into 4-s windows, with the nodes in the order of the node set.
steps = eeg_gnn.Preprocessing(l_freq=1.0, h_freq=45.0, resample_sfreq=128.0, window_s=4.0)
windows = eeg_gnn.preprocess(raw, steps, nodes="10-20")
print(windows.n_windows, "windows of", len(windows.node_names), "nodes at", windows.sfreq, "Hz")

# %%
# Node features: log10 band power per node and band, shape (n_windows, n_nodes, n_bands).
features = eeg_gnn.band_power(windows.data, windows.sfreq)
print(features.shape)

# %%
# Edges: alpha-band PLV per window, shape (n_windows, n_nodes, n_nodes), next to the graph of electrode distances
# that every window shares.
plv = eeg_gnn.connectivity(windows.data, windows.sfreq, "plv", fmin=8.0, fmax=13.0)
distance = eeg_gnn.distance_adjacency(eeg_gnn.positions(windows.node_names, kind="scalp"))

fig, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
for ax, matrix, title in ((axes[0], plv.mean(axis=0), "alpha PLV (mean over windows)"),
                          (axes[1], distance, "electrode distance (Gaussian kernel)")):
    image = ax.imshow(matrix, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(windows.node_names)), windows.node_names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(windows.node_names)), windows.node_names, fontsize=7)
    ax.set_title(title)
fig.colorbar(image, ax=axes, shrink=0.8)
plt.show()
