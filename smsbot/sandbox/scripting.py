"""What every scripted fault shares: the error that refuses a script, and its field checks."""

from __future__ import annotations

from typing import Any


class FaultSpecError(ValueError):
    """A fault description that cannot be scripted; the message says what to change."""


def int_field(spec: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultSpecError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value
