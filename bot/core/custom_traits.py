"""Custom traits (pure): the traits a person defines beyond the fourteen built-in ones, with the behaviours they
influence, checked and turned to and from plain dicts. The rules are in :mod:`bot.core.personality`'s docstring."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.errors import DomainError
from bot.core.traits import ALL_TRAITS, CAMEL_TO_SNAKE, MAX_CUSTOM_TRAITS, TRAIT_MAX, TRAIT_MIN

MAX_CUSTOM_NAME_LENGTH = 40
MAX_CUSTOM_DESCRIPTION_LENGTH = 200
MAX_CUSTOM_CATEGORY_LENGTH = 40
MAX_INFLUENCES = 10
MAX_BEHAVIOR_LENGTH = 100
MAX_CONTEXT_LENGTH = 100
IMPACT_MIN = -100
IMPACT_MAX = 100


def plain_number(value: object) -> str:
    """A number as people write it: 120 rather than 120.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class TraitInfluence:
    """How a custom trait pushes a behaviour: ``impact`` -100 (suppresses) .. 100 (drives), optionally in a
    context."""

    behavior: str
    impact: int
    context: str | None = None


@dataclass(frozen=True)
class CustomTrait:
    """A user-defined trait (value 0..100) with the behaviours it influences."""

    name: str
    value: float
    description: str = ""
    category: str = ""
    influences: tuple[TraitInfluence, ...] = ()


def _text(value: object, what: str, *, low: int, high: int) -> str:
    """Trimmed text whose length is within low..high characters, or DomainError saying what is wrong."""
    if not isinstance(value, str):
        raise DomainError(f"{what} must be text; got {value!r}.")
    text = value.strip()
    if not low <= len(text) <= high:
        if low:
            raise DomainError(f"{what} must be {low} to {high} characters long; it has {len(text)}.")
        raise DomainError(f"{what} must be at most {high} characters long; it has {len(text)}.")
    return text


def _check_influence(trait_name: str, number: int, influence: object) -> TraitInfluence:
    what = f"Influence {number} of the custom trait '{trait_name}'"
    if isinstance(influence, Mapping):
        influence = _influence_from_mapping(influence, what)
    if not isinstance(influence, TraitInfluence):
        raise DomainError(f"{what} must have a behaviour, an impact and optionally a context.")
    behavior = _text(influence.behavior, f"The behaviour of {what.lower()}", low=1, high=MAX_BEHAVIOR_LENGTH)
    impact = influence.impact
    if (
        isinstance(impact, bool)
        or not isinstance(impact, numbers.Real)
        or not float(impact).is_integer()
        or not IMPACT_MIN <= impact <= IMPACT_MAX
    ):
        raise DomainError(f"{what} has an impact of {impact!r}; impacts are whole numbers from -100 to 100.")
    context = influence.context
    if context is not None:
        context = _text(context, f"The context of {what.lower()}", low=0, high=MAX_CONTEXT_LENGTH) or None
    return TraitInfluence(behavior=behavior, impact=int(impact), context=context)


def _check_custom_trait(position: int, item: object) -> CustomTrait:
    if isinstance(item, Mapping):
        item = _custom_trait_from_mapping(item)
    if not isinstance(item, CustomTrait):
        raise DomainError(f"Custom trait {position} must have a name and a value.")
    name = _text(item.name, f"The name of custom trait {position}", low=1, high=MAX_CUSTOM_NAME_LENGTH)
    if name.casefold().replace(" ", "_") in ALL_TRAITS or name in CAMEL_TO_SNAKE:
        raise DomainError(f"'{name}' is a built-in trait; give the custom trait another name.")
    value = item.value
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or not TRAIT_MIN <= value <= TRAIT_MAX
    ):
        raise DomainError(
            f"The custom trait '{name}' must have a value from {plain_number(TRAIT_MIN)} to {plain_number(TRAIT_MAX)}; "
            f"got {plain_number(value)}."
        )
    description = _text(item.description, f"The description of '{name}'", low=0, high=MAX_CUSTOM_DESCRIPTION_LENGTH)
    category = _text(item.category, f"The category of '{name}'", low=0, high=MAX_CUSTOM_CATEGORY_LENGTH)
    if isinstance(item.influences, str | bytes | Mapping) or not isinstance(item.influences, Iterable):
        raise DomainError(f"The influences of '{name}' must be a list.")
    influences = tuple(item.influences)
    if len(influences) > MAX_INFLUENCES:
        raise DomainError(f"The custom trait '{name}' has {len(influences)} influences; the most is {MAX_INFLUENCES}.")
    return CustomTrait(
        name=name,
        value=float(value),
        description=description,
        category=category,
        influences=tuple(_check_influence(name, n, i) for n, i in enumerate(influences, start=1)),
    )


def validate_custom_traits(items: Iterable[CustomTrait | Mapping[str, Any]]) -> tuple[CustomTrait, ...]:
    """The custom traits, checked and trimmed (rules in the module docstring), in the given order.

    Items may be :class:`CustomTrait` objects or dicts in the :func:`custom_trait_to_dict` shape. The first
    broken rule raises :class:`DomainError` naming the trait.
    """
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        raise DomainError("Custom traits must be a list.")
    listed = list(items)
    if len(listed) > MAX_CUSTOM_TRAITS:
        raise DomainError(f"A persona can have at most {MAX_CUSTOM_TRAITS} custom traits; got {len(listed)}.")
    checked = tuple(_check_custom_trait(position, item) for position, item in enumerate(listed, start=1))
    seen: set[str] = set()
    for trait in checked:
        key = trait.name.casefold()
        if key in seen:
            raise DomainError(f"There are two custom traits called '{trait.name}'; names must differ.")
        seen.add(key)
    return checked


def custom_trait_to_dict(trait: CustomTrait) -> dict[str, Any]:
    """A JSON-able dict: name, value, description, category, influences [{behavior, impact, context}]."""
    return {
        "name": trait.name,
        "value": trait.value,
        "description": trait.description,
        "category": trait.category,
        "influences": [{"behavior": i.behavior, "impact": i.impact, "context": i.context} for i in trait.influences],
    }


_TRAIT_KEYS = frozenset({"name", "value", "description", "category", "influences"})
_INFLUENCE_KEYS = frozenset({"behavior", "impact", "context"})


def _influence_from_mapping(data: Mapping[str, Any], what: str) -> TraitInfluence:
    unknown = set(data) - _INFLUENCE_KEYS
    if unknown:
        raise DomainError(f"{what} has unknown fields: {', '.join(sorted(map(str, unknown)))}.")
    if "behavior" not in data or "impact" not in data:
        raise DomainError(f"{what} needs a behavior and an impact.")
    return TraitInfluence(behavior=data["behavior"], impact=data["impact"], context=data.get("context"))


def _custom_trait_from_mapping(data: Mapping[str, Any]) -> CustomTrait:
    """The trait a dict describes, with its shape checked but not yet its values."""
    name = data.get("name", "?")
    unknown = set(data) - _TRAIT_KEYS
    if unknown:
        raise DomainError(f"The custom trait '{name}' has unknown fields: {', '.join(sorted(map(str, unknown)))}.")
    if "name" not in data or "value" not in data:
        raise DomainError("A custom trait needs a name and a value.")
    influences = data.get("influences", ())
    if isinstance(influences, str | bytes | Mapping) or not isinstance(influences, Iterable):
        raise DomainError(f"The influences of '{name}' must be a list.")
    return CustomTrait(
        name=data["name"],
        value=data["value"],
        description=data.get("description", ""),
        category=data.get("category", ""),
        influences=tuple(influences),
    )


def custom_trait_from_dict(data: Mapping[str, Any]) -> CustomTrait:
    """The custom trait a :func:`custom_trait_to_dict` dict describes, checked like
    :func:`validate_custom_traits`.

    ``name`` and ``value`` are required; ``description``, ``category`` (default empty) and ``influences``
    (default none; each needs ``behavior`` and ``impact``, ``context`` is optional) are optional; other keys
    raise :class:`DomainError`.
    """
    if not isinstance(data, Mapping):
        raise DomainError("A custom trait must be an object with a name and a value.")
    return _check_custom_trait(1, _custom_trait_from_mapping(data))
