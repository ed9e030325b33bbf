"""Query-string parameters and bounded numbers, checked the way Discord checks them.

A query value that is not the documented type, or a number outside the documented range, is refused with
``50035 Invalid Form Body`` naming the parameter (``{"limit": {"_errors": [{"code": "NUMBER_TYPE_MAX", ...}]}}``),
as Discord does for ``GET /channels/{id}/messages?limit=101``. Booleans follow Discord's reference ("Boolean Query
Strings": ``True``, ``true`` or ``1`` for true; ``False``, ``false`` or ``0`` for false).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.sandbox.server.validation.errors import FormErrors, Path

TRUE, FALSE = ("True", "true", "1"), ("False", "false", "0")


def number_in_range(errors: FormErrors, path: Path, value: object, low: int | None, high: int | None) -> bool:
    """Refuses an integer below ``low`` or above ``high`` (either may be None); says whether it was refused."""
    if value is None:
        return False
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        return True
    if low is not None and value < low:
        errors.add(path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {low}.")
        return True
    if high is not None and value > high:
        errors.add(path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {high}.")
        return True
    return False


def int_param(query: Mapping[str, str], name: str, errors: FormErrors, *, low: int, high: int, default: int) -> int:
    """The integer query parameter ``name`` (``default`` when absent), refused outside ``low..high``."""
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.add([name], "NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.')
        return default
    return default if number_in_range(errors, [name], value, low, high) else value


def snowflake_param(query: Mapping[str, str], name: str, errors: FormErrors) -> int | None:
    """The snowflake query parameter ``name`` (None when absent)."""
    raw = query.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) >= 1 << 64:
        errors.add([name], "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')
        return None
    return int(raw)


def bool_param(query: Mapping[str, str], name: str, errors: FormErrors, *, default: bool) -> bool:
    """The boolean query parameter ``name`` (``default`` when absent)."""
    raw = query.get(name)
    if raw is None:
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    errors.add([name], "BOOLEAN_TYPE_COERCE", f'Value "{raw}" is not a valid boolean.')
    return default


def timestamp_param(query: Mapping[str, str], name: str, errors: FormErrors) -> datetime | None:
    """The ISO8601 timestamp query parameter ``name`` (None when absent)."""
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        errors.add([name], "DATE_TYPE_COERCE", f'Value "{raw}" is not a valid ISO8601 timestamp.')
        return None


def choice_param(
    query: Mapping[str, str], name: str, errors: FormErrors, allowed: tuple[int, ...], default: int
) -> int:
    """The integer query parameter ``name`` that must be one of ``allowed`` (``default`` when absent)."""
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.add([name], "NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.')
        return default
    return default if errors.choices([name], value, allowed) else value
