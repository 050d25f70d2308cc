"""Locate the data tables the project owns (``montages/``, ``datasets/``) in a checkout or an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def resource_dir(name: str) -> Path:
    """Return the folder of a top-level table directory, e.g. ``'montages'`` or ``'datasets'``.

    In a source checkout (and an editable install) this is the folder beside ``eeg_gnn/``; in a wheel the
    same files are installed as the package ``eeg_gnn._<name>``.
    """
    local = _CHECKOUT / name
    if local.is_dir():
        return local
    return Path(str(resources.files(f"eeg_gnn._{name}")))
