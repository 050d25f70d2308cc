"""Graph classifiers, the non-graph baselines, training of one fold, and attribution."""
