"""eeg-gnn: scalp EEG recordings as brain graphs, classified by graph neural networks."""

__version__ = "0.1.0"
