"""Saving what a fold trained in formats that cannot run code when a run directory is opened.

A run directory may come from someone else (shared with a paper, downloaded). A pickle, and so ``joblib.load`` or
``torch.load(weights_only=False)``, runs whatever code the file names, so nothing here writes or reads one:

* graph-model checkpoints hold tensors and plain values only (dicts, lists, strings, numbers) and are read with
  ``torch.load(weights_only=True)``, which refuses anything else;
* fitted scikit-learn baselines are saved with skops, and read only if every type the file names is one that
  scikit-learn, NumPy and SciPy provide (skops' own trusted list) or one listed in :data:`TRUSTED_TYPES`.

Both are written through :func:`eeg_gnn.utils.files.atomic_write`, so a full disk leaves nothing half-written.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from eeg_gnn.utils.files import atomic_write

#: Types beyond skops' defaults that a saved baseline (or ``tangent_graph`` model) may contain (their own steps and
#: pyriemann's).
TRUSTED_TYPES = frozenset({
    "eeg_gnn.models.baselines.BandTangentSpace",
    "eeg_gnn.models.baselines.CSPLDA",
    "eeg_gnn.models.baselines.SummedBands",
    "pyriemann.spatialfilters.CSP",
    "eeg_gnn.models.baselines.TunedLogisticRegression",
    "eeg_gnn.models.graph_tangent.GraphTangentSpace",
    "pyriemann.estimation.Covariances",
    "pyriemann.estimation.Shrinkage",
    "pyriemann.tangentspace.TangentSpace",
})


def _write_bytes(path: Path, content: bytes) -> Path:
    def write(temp: Path) -> None:
        with open(temp, "xb") as stream:
            stream.write(content)

    return atomic_write(path, write)


def save_checkpoint(payload: dict[str, Any], path: str | Path) -> Path:
    """Write a checkpoint that :func:`load_checkpoint` can read without unpickling code.

    Parameters
    ----------
    payload : dict
        Tensors (a ``state_dict``, feature statistics) and plain values only.
    path : str | Path

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        ``payload`` holds an object that a weights-only load would refuse (it names the object's type).
    OSError
        The folder cannot be written or the disk is full; nothing is left behind.
    """
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    content = buffer.getvalue()
    try:
        torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TypeError(f"A checkpoint may hold tensors and plain values only; this one does not ({exc}).") from exc
    return _write_bytes(Path(path), content)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, refusing any file that would need to run code.

    Raises
    ------
    ValueError
        The file is not a weights-only checkpoint (a pickle naming other objects, or a damaged file).
    """
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"Refusing to load {path}: it is not a checkpoint of tensors and plain values ({_refusal(exc)}). "
            "Loading it could run code it contains; eeg-gnn never writes such files, so retrain, or do not trust "
            "this run directory."
        ) from exc
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{path} holds a {type(checkpoint).__name__}, not a checkpoint written by eeg-gnn.")
    return checkpoint


def save_estimator(estimator: Any, path: str | Path) -> Path:
    """Write a fitted scikit-learn estimator with skops (not a pickle)."""
    import skops.io as sio

    return _write_bytes(Path(path), sio.dumps(estimator))


def load_estimator(path: str | Path) -> Any:
    """Read an estimator written by :func:`save_estimator`, refusing types outside the trusted list.

    Raises
    ------
    ValueError
        The file names a type that is neither trusted by skops nor in :data:`TRUSTED_TYPES`, or is not a skops
        file; nothing in it is run.
    """
    import skops.io as sio

    path = Path(path)
    content = path.read_bytes()
    try:
        untrusted = sio.get_untrusted_types(data=content)
    except Exception as exc:
        raise ValueError(f"{path} is not a saved estimator (skops format): {_first_line(exc)}.") from exc
    unknown = sorted(set(untrusted) - TRUSTED_TYPES)
    if unknown:
        raise ValueError(
            f"Refusing to load {path}: it names {', '.join(unknown)}, which eeg-gnn never saves in a baseline; "
            "loading it could run code. Retrain, or do not trust this run directory."
        )
    try:
        return sio.loads(content, trusted=untrusted)
    except Exception as exc:
        raise ValueError(f"{path} could not be read as a saved estimator: {_first_line(exc)}.") from exc


def _refusal(exc: BaseException) -> str:
    """What a weights-only load refused, without torch's advice to load the file unsafely."""
    for line in str(exc).splitlines():
        if "GLOBAL" in line:
            return line.strip().rstrip(".")
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
