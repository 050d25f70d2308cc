"""The review of an event-locked (motor imagery) run: event-related desynchronisation and synchronisation (ERD/ERS)
per class on labelled head maps, the contrast of the two classes, and whether the model's node importance peaks
near the sensorimotor electrodes C3/C4.

ERD/ERS (Pfurtscheller & Lopes da Silva 1999, *Clin. Neurophysiol.* 110:1842-1857): the band power of each cue
window relative to the rest window before it in the same recording, ``100 * (cue - rest) / rest`` per electrode and
band (negative: desynchronisation). The rest window is locked to the last rest annotation (eegmmidb's ``T0``)
before the cue, with the run's epoch. Each subject's mean per class, then the mean over subjects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from eeg_gnn.data.datasets import Dataset
from eeg_gnn.signal.events import read_annotations
from eeg_gnn.signal.features import band_power
from eeg_gnn.signal.montage import positions
from eeg_gnn.signal.preprocessing import Preprocessing, preprocess
from eeg_gnn.utils.files import write_json_atomic

#: The annotation of the rest between cues (eegmmidb, BCI2000).
REST_EVENT = "T0"
#: The electrodes over the hand areas of the sensorimotor cortex.
HAND_AREAS = ("C3", "C4")


def erd_per_subject(dataset: Dataset, preprocessing: Preprocessing, nodes, bands: dict[str, tuple[float, float]],
                    classes: Sequence[str], rest_event: str = REST_EVENT) -> dict[str, dict[str, np.ndarray]]:
    """ERD/ERS of every subject and class, in % of the rest before each cue.

    Returns
    -------
    dict of subject to (dict of class to ndarray, shape (n_nodes, n_bands))
        Only the classes a subject has cues of, with a rest window before them.
    """
    sums: dict[str, dict[str, list[np.ndarray]]] = {}
    locked = replace(preprocessing, events=tuple(dict.fromkeys((*preprocessing.events, rest_event))))
    tmin = preprocessing.epoch[0]
    for recording in dataset.recordings:
        annotations = read_annotations(recording.path)
        rest_onsets = np.array([onset for onset, description in zip(annotations.onset, annotations.description)
                                if str(description).strip() == rest_event])
        windows = preprocess(recording.read(), locked, nodes)
        power = 10 ** band_power(windows.data, windows.sfreq, bands, "log_power")
        events = windows.onsets - tmin
        is_rest = np.array([np.any(np.abs(rest_onsets - event) <= 1e-3) for event in events], dtype=bool)
        for index, event in enumerate(events):
            label = next((label for label, start, _ in recording.intervals if abs(start - event) <= 1e-3), None)
            earlier = np.flatnonzero(is_rest[:index])
            if label not in classes or is_rest[index] or not len(earlier):
                continue
            rest = power[earlier[-1]]
            sums.setdefault(recording.subject, {}).setdefault(label, []).append(100 * (power[index] - rest) / rest)
    return {subject: {label: np.mean(values, axis=0) for label, values in per_class.items()}
            for subject, per_class in sums.items()}


def class_means(per_subject: dict[str, dict[str, np.ndarray]], classes: Sequence[str]) -> dict[str, np.ndarray]:
    """Mean over subjects of each class's ERD/ERS, shape (n_nodes, n_bands) per class."""
    return {label: np.mean([maps[label] for maps in per_subject.values() if label in maps], axis=0)
            for label in classes if any(label in maps for maps in per_subject.values())}


def importance_peak(node_importance: np.ndarray, node_names: Sequence[str]) -> dict:
    """Where the model's node importance peaks, and how far that is from the nearest hand area (C3/C4).

    Returns
    -------
    dict
        ``node``, ``nearest`` (C3 or C4), ``distance_mm`` (scalp MNI), ``near`` (within 40 mm, about two
        10-10 steps), ``rank_c3``/``rank_c4`` (1 = most important; None without that electrode).
    """
    names = list(node_names)
    peak = names[int(np.argmax(node_importance))]
    xyz = positions(names, kind="scalp")
    hands = [h for h in HAND_AREAS if h in names]
    distances = {h: float(np.linalg.norm(xyz[names.index(peak)] - xyz[names.index(h)])) for h in hands}
    nearest = min(distances, key=distances.get) if distances else None
    order = list(np.argsort(-np.asarray(node_importance)))
    ranks = {f"rank_{h.lower()}": (order.index(names.index(h)) + 1 if h in names else None) for h in HAND_AREAS}
    return {"node": peak, "nearest": nearest, "distance_mm": distances.get(nearest),
            "near": bool(nearest is not None and distances[nearest] <= 40.0), **ranks}


def imagery_section(run, dataset: Dataset, node_importance: np.ndarray, figure: Path) -> dict:
    """The review section of an event-locked run: ERD/ERS maps per class and their contrast, and the importance
    peak. ``figure`` is the PNG to write (in ``<review>/figures/``); the values go to ``<review>/imagery.json``."""
    from eeg_gnn.review.figures import topomap_grid_png

    config = run.config
    classes = list(run.classes)
    preprocessing = config.preprocessing()
    per_subject = erd_per_subject(dataset, preprocessing, dataset.nodes, config.bands, classes)
    means = class_means(per_subject, classes)
    peak = importance_peak(node_importance, run.node_names)
    where = (f"The model's electrode importance peaks at {peak['node']}, {peak['distance_mm']:.0f} mm from "
             f"{peak['nearest']} ({'near' if peak['near'] else 'not near'} the hand areas; C3 ranks "
             f"{peak['rank_c3']}, C4 ranks {peak['rank_c4']} of {len(run.node_names)})."
             if peak["nearest"] else f"The model's electrode importance peaks at {peak['node']}.")
    blocks = [{"kind": "paragraph", "text":
               "Event-related band-power change (ERD/ERS): each cue window's power relative to the rest window "
               f"({REST_EVENT}) before it in the same recording, in %, per electrode and band; negative values "
               "(blue) are desynchronisation. Mean over subjects of each subject's mean per class"
               + (f"; the last row is {classes[0]} minus {classes[1]}, where imagery of one hand should "
                  "desynchronise the opposite hemisphere (C4 for the left hand, C3 for the right)."
                  if len(means) == 2 else ".") + f" {where}"}]
    if means:
        difference = means[classes[0]] - means[classes[1]] if len(means) == 2 else None
        path = topomap_grid_png(means, list(config.bands), run.node_names, figure,
                                title=f"ERD/ERS per class ({len(per_subject)} subjects)", difference=difference,
                                difference_label=f"{classes[0]} - {classes[1]}" if difference is not None else "",
                                colorbar_label="% change from rest", overwrite=True)
        blocks.append({"kind": "figures", "items": [{"path": path, "caption": "ERD/ERS per class and band, head "
                                                     "seen from above (nose up, left on the left)", "wide": True}]})
    summary = {"importance_peak": peak, "n_subjects": len(per_subject),
               "erd_percent": {label: values.tolist() for label, values in means.items()},
               "bands": list(config.bands), "node_names": list(run.node_names)}
    write_json_atomic(figure.parent.parent / "imagery.json", summary)
    return {"id": "imagery", "title": "Motor imagery: ERD/ERS", "blocks": blocks}
