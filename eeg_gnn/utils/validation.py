"""Argument checks that name the bad value and the allowed ones (after MNE's ``_check_option``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any


def check_option(parameter: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError that lists them."""
    allowed = tuple(allowed)
    if value in allowed:
        return value
    listed = ", ".join(repr(a) for a in allowed)
    raise ValueError(
        f"Invalid value for the {parameter!r} parameter. Allowed values are {listed}, but got {value!r} instead."
    )


def check_real(parameter: str, value: Any) -> float:
    """Return ``value`` as float if it is a finite real number (not a bool or a string), else raise."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{parameter!r} must be a number, got {value!r} of type {type(value).__name__}.")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{parameter!r} must be finite, got {number}.")
    return number


def check_positive(parameter: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float if it is positive (or zero when allowed), else raise a ValueError."""
    number = check_real(parameter, value)
    if number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{parameter!r} must be {bound}, got {value!r}.")
    return number


def check_integer(parameter: str, value: Any, low: int, high: int) -> int:
    """Return ``value`` as int if it is a whole number in [low, high], else raise."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{parameter!r} must be an integer, got {value!r} of type {type(value).__name__}.")
    if not low <= value <= high:
        raise ValueError(f"{parameter} must be between {low} and {high}, got {parameter}={value}.")
    return int(value)


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def require_extra(module: str, extra: str, feature: str) -> Any:
    """Import ``module`` for ``feature``, or raise :class:`MissingExtraError` naming ``pip install eeg-gnn[extra]``.

    Parameters
    ----------
    module : str
        The module to import, e.g. ``'mne_bids'``.
    extra : str
        The eeg-gnn extra that installs it, e.g. ``'bids'``.
    feature : str
        What needs it, in words (the message starts with it).

    Returns
    -------
    module
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{feature} needs the {module} package, which is not installed: "
                                f"pip install eeg-gnn[{extra}]") from exc
