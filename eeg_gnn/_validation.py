"""Argument checks that name the bad value and the allowed ones (after MNE's ``_check_option``)."""

from __future__ import annotations

from collections.abc import Iterable
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


def check_positive(parameter: str, value: float, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float if it is positive (or zero when allowed), else raise a ValueError."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{parameter!r} must be a number, got {value!r}.") from exc
    if number < 0 or (number == 0 and not allow_zero) or number != number:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{parameter!r} must be {bound}, got {value!r}.")
    return number
