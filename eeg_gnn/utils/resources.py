"""Locate the data tables the project owns (``montages/``, ``datasets/``) in a checkout or an installed wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


def resource_dir(name: str) -> Path:
    """Return the folder of a top-level table directory, e.g. ``'montages'`` or ``'datasets'``.

    In a source checkout (and an editable install) this is the folder beside ``eeg_gnn/``; in a wheel the
    same files are installed as the package ``eeg_gnn._<name>``.
    """
    local = _CHECKOUT / name
    if local.is_dir():
        return local
    spec = importlib.util.find_spec(f"eeg_gnn._{name}")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"eeg-gnn's {name}/ tables are missing from this installation; reinstall eeg-gnn.")
    return Path(next(iter(spec.submodule_search_locations)))
