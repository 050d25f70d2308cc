"""Plain-language names for settings, measures and levels, as the review shows them to clinicians."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["FEATURE_TEXT", "GRAPH_TEXT", "LEVEL_TEXT", "MEASURE_SHORT", "MEASURE_UNIT", "METRIC_TEXT",
           "cv_text", "preprocessing_steps"]

GRAPH_TEXT = {
    "distance": "electrode distance (nearer electrodes more strongly linked)",
    "knn": "the 4 nearest electrodes",
    "plv": "phase-locking value (PLV)",
    "wpli": "weighted phase-lag index (wPLI)",
    "dwpli": "debiased weighted phase-lag index (squared wPLI, Vinck 2011)",
    "coherence": "coherence",
    "correlation": "amplitude correlation (Pearson)",
}
MEASURE_SHORT = {"plv": "PLV", "wpli": "wPLI", "dwpli": "debiased wPLI", "coherence": "coherence",
                 "correlation": "correlation"}
MEASURE_UNIT = {"plv": "unitless, 0 to 1", "wpli": "unitless, 0 to 1", "dwpli": "unitless, about 0 to 1",
                "coherence": "unitless, 0 to 1", "correlation": "unitless, -1 to 1"}
FEATURE_TEXT = {
    "log_power": "log band power of each electrode",
    "relative_power": "relative band power of each electrode (share of the total power)",
    "differential_entropy": "differential entropy of each band and electrode",
}
MODEL_TEXT = {"gcn": "graph convolutional network (GCN, Kipf & Welling 2017)",
              "cheb": "Chebyshev spectral graph convolutions (ChebNet, Defferrard et al. 2016)",
              "gat": "graph attention network (GAT, Veličković et al. 2018)",
              "gin": "graph isomorphism network (GIN, Xu et al. 2019)"}
#: How each readout of a graph model is named in reviews (see ``eeg_gnn.models.catalog.READOUTS``).
READOUT_TEXT = {"pool": "mean and max over the electrodes", "flatten": "every electrode's embedding in montage order"}
LEVEL_TEXT = {"window": "per window", "recording": "per recording", "subject": "per subject"}
METRIC_TEXT = {"balanced_accuracy": "balanced accuracy", "roc_auc": "ROC AUC", "sensitivity": "sensitivity",
               "specificity": "specificity", "f1": "F1"}
KIND_TEXT = {"graph": "graph model", "control": "control", "baseline": "baseline"}
_CV_TEXT = {
    "group-kfold": "{n}-fold cross-validation with folds by subject (stratified by class)",
    "loso": "leave-one-subject-out cross-validation ({n} folds)",
    "time-blocks": "{n} contiguous time blocks of one patient's recording",
}


def cv_text(cv: str, n_folds: int, fallback: str) -> str:
    """The validation scheme in words; ``fallback`` (the protocol's own description) for registered protocols."""
    return _CV_TEXT[cv].format(n=n_folds) if cv in _CV_TEXT else fallback


_BAD_CHANNELS = {
    "raise": "Refuse a recording in which an electrode is flat, clipped or implausibly small or large.",
    "drop-recording": "Leave out every recording in which an electrode is flat, clipped or implausibly small or "
                      "large.",
    "interpolate": "Rebuild an electrode that is flat, clipped or implausibly small or large from the others "
                   "(spherical-spline interpolation).",
}


def preprocessing_steps(steps: Sequence[Mapping]) -> list[str]:
    """Each preprocessing step (``Preprocessing.steps()``) as a sentence, in order."""
    sentences = []
    for step in steps:
        kind = step.get("step")
        if kind == "pick_nodes":
            sentences.append("Keep the scalp electrodes of the montage, in a fixed order; other channels (ECG, "
                             "ear references, ...) are left out.")
        elif kind == "reject_flat_nodes":
            sentences.append("Refuse a recording in which an electrode is flat (no signal).")
        elif kind == "bad_channels":
            sentences.append(_BAD_CHANNELS.get(step.get("policy"), _BAD_CHANNELS["raise"]))
        elif kind == "bandpass":
            low, high = step.get("l_freq"), step.get("h_freq")
            if low and high:
                sentences.append(f"Band-pass filter, {low:g} to {high:g} Hz.")
            elif low or high:
                sentences.append(f"High-pass filter above {low:g} Hz." if low else f"Low-pass filter below {high:g} Hz.")
        elif kind == "notch":
            sentences.append(f"Notch filter at {step['freq']:g} Hz and its harmonics (mains interference).")
        elif kind == "resample":
            sentences.append(f"Resample to {step['sfreq']:g} Hz.")
        elif kind == "reference":
            sentences.append("Re-reference to the average of the electrodes." if step.get("reference") == "average"
                             else "Keep the reference the recording was made with.")
        elif kind == "windows":
            overlap = step.get("overlap") or 0
            sentences.append(f"Cut into {step['window_s']:g} s windows"
                             + (f" overlapping by {overlap:.0%}." if overlap else ", without overlap."))
        elif kind == "reject_windows":
            reject, flat = step.get("reject_uv"), step.get("flat_uv")
            text = (f"Drop windows in which an electrode exceeds {reject:g} µV peak to peak" if reject
                    else "No rejection of windows by amplitude")
            text += f"; drop windows in which an electrode varies by less than {flat:g} µV (flat)." if flat else "."
            sentences.append(text)
        else:
            details = ", ".join(f"{key} {value}" for key, value in step.items() if key != "step")
            sentences.append(f"{kind}: {details}." if details else f"{kind}.")
    return sentences
