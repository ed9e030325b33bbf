"""Query-string parameters, checked the way Discord checks them (number bounds: :meth:`.FormErrors.out_of_range`).

A query value that is not the documented type, or a number outside the documented range, is refused with
``50035 Invalid Form Body`` naming the parameter (``{"limit": {"_errors": [{"code": "NUMBER_TYPE_MAX", ...}]}}``),
as Discord does for ``GET /channels/{id}/messages?limit=101``. Booleans follow Discord's reference ("Boolean Query
Strings": ``True``, ``true`` or ``1`` for true; ``False``, ``false`` or ``0`` for false).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.sandbox.server.validation.errors import FormErrors

TRUE, FALSE = ("True", "true", "1"), ("False", "false", "0")


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
    return default if errors.out_of_range([name], value, low, high) else value


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
