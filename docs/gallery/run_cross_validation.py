"""
The whole pipeline: ``run_cv`` and the saved run
================================================

``eeg-gnn train`` is :func:`eeg_gnn.run_cv`: it reads the dataset, extracts and caches the features, trains the
graph model, its controls and the baselines on the same folds by subject, and writes a run directory. This example
needs the EEGMAT recordings (``$EEG_GNN_DATA/eegmat``) and about a minute, so it is shown without being run.
"""

# %%
import pandas as pd

import eeg_gnn

config = eeg_gnn.TrainConfig(task="workload", folds=5, epochs=60, out="runs", progress=False)
results = eeg_gnn.run_cv(config)
print(results.summary())

# %%
# What the run saved: its settings (as the experiment file that reruns it) and its scores per subject, in the long
# form that concatenates across runs (see :doc:`/guide/results`).
run = eeg_gnn.load_run(results.run_dir)
print(run.config.to_toml())
scores = pd.read_csv(results.run_dir / "scores.csv")
print(scores[scores.metric == "balanced_accuracy"].groupby(["pipeline", "level"]).score.mean())
