"""
A BIDS dataset
==============

:func:`eeg_gnn.load_bids` lists the EEG recordings of a BIDS dataset with their subjects, sessions and classes,
and reads each one with its sidecars (channel types, bad channels, electrode positions) through MNE-BIDS
(``pip install eeg-gnn[bids]``). The dataset here is a placeholder path, so this example is shown without being
run; ``eeg-gnn train --dataset bids --data-dir ROOT`` is the same from the command line.
"""

# %%
import eeg_gnn

dataset = eeg_gnn.load_bids("path/to/bids_root", task_label="task")
print(dataset.subjects, dataset.classes, dataset.label_level)
raw = dataset.recordings[0].read()  # mne.io.Raw with the types and bads of channels.tsv

# %%
# Training on it: the run's ``scores.csv`` has one row per subject and session.
config = eeg_gnn.TrainConfig(dataset="bids", data_dir="path/to/bids_root", task_label="task", out="runs")
print(eeg_gnn.run_cv(config).summary())
