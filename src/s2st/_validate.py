"""One place for checking the numbers users pass as options (private).

``True`` is an ``int`` to Python but never a count, a rate or a duration to a user, so every
check here refuses ``bool``. Each checker returns the value (narrowed) or raises ``error``
(``ConfigurationError`` unless told otherwise) with a message that names the option, the
accepted range and the value given.
"""

from __future__ import annotations

from typing import Literal, overload

from .errors import ConfigurationError, S2STError

__all__ = ["check_int", "check_number", "is_int", "is_number"]


def is_int(value: object) -> bool:
    """True for an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """True for an ``int`` or ``float`` that is not a ``bool`` (NaN included: range checks
    refuse it, since every comparison with NaN is false)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _in_range(value: float, low: float | None, high: float | None, positive: bool) -> bool:
    if positive:
        return value > 0
    return (low is None or value >= low) and (high is None or value <= high)


@overload
def check_int(
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    positive: bool = False,
    allow_none: Literal[False] = False,
    error: type[S2STError] = ConfigurationError,
    unit: str = "",
) -> int: ...


@overload
def check_int(
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    positive: bool = False,
    allow_none: Literal[True],
    error: type[S2STError] = ConfigurationError,
    unit: str = "",
) -> int | None: ...


def check_int(
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    positive: bool = False,
    allow_none: bool = False,
    error: type[S2STError] = ConfigurationError,
    unit: str = "",
) -> int | None:
    """Return ``value`` if it is an int within [low, high] (or > 0 with ``positive``), or
    ``None`` with ``allow_none``; raise ``error`` otherwise."""
    if value is None and allow_none:
        return None
    if is_int(value) and _in_range(value, low, high, positive):  # type: ignore[arg-type]
        return value  # type: ignore[return-value]
    raise error(_message(name, value, "int", low, high, positive, allow_none, unit))


@overload
def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
    allow_none: Literal[False] = False,
    error: type[S2STError] = ConfigurationError,
    unit: str = "",
) -> float: ...


@overload
def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
    allow_none: Literal[True],
    error: type[S2STError] = ConfigurationError,
    unit: str = "",
) -> float | None: ...


def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
    allow_none: bool = False,
    error: type[S2STError] = ConfigurationError,
    unit: str = "",
) -> float | None:
    """Return ``value`` if it is a real number within [low, high] (or > 0 with ``positive``),
    or ``None`` with ``allow_none``; raise ``error`` otherwise (NaN is always refused)."""
    if value is None and allow_none:
        return None
    if is_number(value) and value == value and _in_range(value, low, high, positive):  # type: ignore[arg-type]
        return value  # type: ignore[return-value]
    raise error(_message(name, value, "number", low, high, positive, allow_none, unit))


def _message(
    name: str,
    value: object,
    kind: str,
    low: float | None,
    high: float | None,
    positive: bool,
    allow_none: bool,
    unit: str,
) -> str:
    article = "an" if kind == "int" else "a"
    if positive:
        what = f"a positive {kind}"
    elif low is not None and high is not None:
        what = f"{article} {kind} from {low:g} to {high:g}"
    elif low is not None:
        what = f"{article} {kind} >= {low:g}"
    elif high is not None:
        what = f"{article} {kind} <= {high:g}"
    else:
        what = f"{article} {kind}"
    suffix = f" ({unit})" if unit else ""
    none = " or None" if allow_none else ""
    return f"{name} must be {what}{suffix}{none}, got {value!r}"
