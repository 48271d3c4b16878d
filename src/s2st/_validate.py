"""One place for checking the numbers users pass as options (private).

``True`` is an ``int`` to Python but never a count, a rate or a duration to a user, so every
check here refuses ``bool``. Each checker returns the value (narrowed) or raises ``error``
(``ConfigurationError`` unless told otherwise) with a message that names the option, the
accepted range and the value given.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import TypedDict, Unpack

from .errors import ConfigurationError, S2STError

__all__ = [
    "check_int",
    "check_number",
    "check_optional_int",
    "check_optional_number",
    "is_int",
    "is_number",
]


def is_int(value: object) -> bool:
    """True for an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """True for an ``int`` or ``float`` that is not a ``bool`` (NaN included: range checks
    refuse it, since every comparison with NaN is false)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str  # "int" or "number"
    low: float | None
    high: float | None
    positive: bool
    allow_none: bool
    unit: str

    def accepts(self, value: object) -> bool:
        if self.kind == "int" and not is_int(value):
            return False
        if not is_number(value) or value != value:
            return False
        number: float = value  # type: ignore[assignment]
        if self.positive:
            return number > 0
        low, high = self.low, self.high
        return (low is None or number >= low) and (high is None or number <= high)

    def message(self, name: str, value: object) -> str:
        kind = self.kind
        article = "an" if kind == "int" else "a"
        if self.positive:
            what = f"a positive {kind}"
        elif self.low is not None and self.high is not None:
            what = f"{article} {kind} from {self.low:g} to {self.high:g}"
        elif self.low is not None:
            what = f"{article} {kind} >= {self.low:g}"
        elif self.high is not None:
            what = f"{article} {kind} <= {self.high:g}"
        else:
            what = f"{article} {kind}"
        suffix = f" ({self.unit})" if self.unit else ""
        none = " or None" if self.allow_none else ""
        return f"{name} must be {what}{suffix}{none}, got {value!r}"


def _check(rule: _Rule, error: type[S2STError], name: str, value: object) -> object:
    if value is None and rule.allow_none:
        return None
    if rule.accepts(value):
        return value
    raise error(rule.message(name, value))


class Bounds(TypedDict, total=False):
    """The range a checked option must be in, and how a refusal is raised."""

    low: float | None  # inclusive
    high: float | None  # inclusive
    positive: bool  # > 0 (instead of low/high)
    error: type[S2STError]  # ConfigurationError unless told
    unit: str  # named in the message, e.g. "ms"


def _rule(kind: str, bounds: Bounds, allow_none: bool) -> tuple[_Rule, type[S2STError]]:
    rule = _Rule(
        kind,
        bounds.get("low"),
        bounds.get("high"),
        bounds.get("positive", False),
        allow_none,
        bounds.get("unit", ""),
    )
    return rule, bounds.get("error", ConfigurationError)


def check_int(name: str, value: object, **bounds: Unpack[Bounds]) -> int:
    """Return ``value`` if it is an int within [low, high] (or > 0 with ``positive``); raise
    ``error`` otherwise."""
    return _check(*_rule("int", bounds, False), name, value)  # type: ignore[return-value]


def check_optional_int(name: str, value: object, **bounds: Unpack[Bounds]) -> int | None:
    """`check_int`, with ``None`` accepted (and named in the message)."""
    return _check(*_rule("int", bounds, True), name, value)  # type: ignore[return-value]


def check_number(name: str, value: object, **bounds: Unpack[Bounds]) -> float:
    """Return ``value`` if it is a real number within [low, high] (or > 0 with ``positive``);
    raise ``error`` otherwise (NaN is always refused)."""
    return _check(*_rule("number", bounds, False), name, value)  # type: ignore[return-value]


def check_optional_number(name: str, value: object, **bounds: Unpack[Bounds]) -> float | None:
    """`check_number`, with ``None`` accepted (and named in the message)."""
    return _check(*_rule("number", bounds, True), name, value)  # type: ignore[return-value]
