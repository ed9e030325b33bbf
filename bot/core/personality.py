"""The personality engine: trait validation, custom traits, templates, derived traits, random generation, the
default mood and the words a prompt uses for a personality.

The numbers live in ``data/``: templates in ``templates.toml``; the mood coefficients, derivation weights,
random generation settings, leanings and word bands in ``trait_rules.toml`` (each rule is documented there).

Rules chosen here:

- :func:`validate_traits` requires the Big Five (they define the default mood and derive the rest); any of the
  nine other built-in traits that is missing is filled by :func:`derive_traits`. Unknown names are rejected
  (custom traits have their own list). camelCase names (``technicalFocus``) are accepted and returned in
  snake_case.
- Custom traits: at most ``MAX_CUSTOM_TRAITS``; names 1..40 characters after trimming, unique ignoring case,
  and not the name of a built-in trait; value 0..100; description up to 200 characters; category up to 40; at
  most 10 influences, each with a behaviour of 1..100 characters, a whole-number impact -100..100 and an
  optional context of up to 100 characters. Text is trimmed; an empty context becomes ``None``.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.core import catalog, pad
from bot.core.errors import DomainError, NotFound
from bot.core.traits import (
    ALL_TRAITS,
    BIG_FIVE,
    CAMEL_TO_SNAKE,
    MAX_CUSTOM_TRAITS,
    TRAIT_MAX,
    TRAIT_MIN,
    label,
)

DERIVED_TRAITS: tuple[str, ...] = tuple(t for t in ALL_TRAITS if t not in BIG_FIVE)

MAX_CUSTOM_NAME_LENGTH = 40
MAX_CUSTOM_DESCRIPTION_LENGTH = 200
MAX_CUSTOM_CATEGORY_LENGTH = 40
MAX_INFLUENCES = 10
MAX_BEHAVIOR_LENGTH = 100
MAX_CONTEXT_LENGTH = 100
IMPACT_MIN = -100
IMPACT_MAX = 100

# Centre and half-width of the trait scale: t' = (t - 50) / 50 (SCIENCE.md section 1).
_MID = (TRAIT_MIN + TRAIT_MAX) / 2
_HALF = (TRAIT_MAX - TRAIT_MIN) / 2

_NO_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType({})


def _rules() -> dict[str, Any]:
    return catalog.load("trait_rules")


def _fmt(value: object) -> str:
    """A number as people write it: 120 rather than 120.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- Built-in traits ----------------------------------------------------------------------------------------


def _trait_name(key: object) -> str:
    """The snake_case name of a built-in trait (camelCase accepted), or DomainError."""
    if isinstance(key, str):
        name = CAMEL_TO_SNAKE.get(key.strip(), key.strip())
        if name in ALL_TRAITS:
            return name
    raise DomainError(
        f"There is no trait called {key!r}; the traits are {', '.join(ALL_TRAITS)} "
        "(custom traits go in their own list)."
    )


def _trait_value(trait: str, value: object) -> float:
    """A trait value as a float within 0..100, or DomainError naming the trait."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise DomainError(
            f"{label(trait)} must be a number from {_fmt(TRAIT_MIN)} to {_fmt(TRAIT_MAX)}; got {value!r}."
        )
    number = float(value)
    if not TRAIT_MIN <= number <= TRAIT_MAX:
        raise DomainError(f"{label(trait)} must be from {_fmt(TRAIT_MIN)} to {_fmt(TRAIT_MAX)}; got {_fmt(number)}.")
    return number


def _big_five(traits: Mapping[str, float]) -> dict[str, float]:
    """The five Big-Five values, checked (other keys ignored); a missing one raises DomainError naming it."""
    result: dict[str, float] = {}
    for trait in BIG_FIVE:
        if trait not in traits:
            raise DomainError(f"{label(trait)} is missing: the five Big-Five traits are required.")
        result[trait] = _trait_value(trait, traits[trait])
    return result


def validate_traits(values: Mapping[str, float]) -> dict[str, float]:
    """All fourteen built-in traits, checked, in ``ALL_TRAITS`` order.

    The Big Five are required; a missing AI or domain trait is filled from the Big Five by
    :func:`derive_traits`. Unknown names, a name given twice (snake and camel case), and values that are not
    numbers from 0 to 100 raise :class:`DomainError` naming the trait.
    """
    given: dict[str, float] = {}
    for key, value in values.items():
        trait = _trait_name(key)
        if trait in given:
            raise DomainError(f"{label(trait)} is given twice.")
        given[trait] = _trait_value(trait, value)
    defaults = derive_traits(given)
    return {trait: given.get(trait, defaults[trait]) for trait in ALL_TRAITS}


def derive_traits(big_five: Mapping[str, float]) -> dict[str, float]:
    """All fourteen traits: the Big Five as given, and the nine others derived from them.

    Each derived trait is ``50 + sum(weight_k x (big_five_k - 50))`` clamped to 0..100, with the weights of
    ``[derived.<trait>]`` in ``data/trait_rules.toml``. Only the Big-Five keys are read; a missing one raises
    :class:`DomainError` naming it.
    """
    five = _big_five(big_five)
    weights = _rules()["derived"]
    result: dict[str, float] = dict(five)
    for trait in DERIVED_TRAITS:
        raw = _MID + sum(weight * (five[source] - _MID) for source, weight in weights[trait].items())
        result[trait] = min(TRAIT_MAX, max(TRAIT_MIN, raw))
    return {trait: result[trait] for trait in ALL_TRAITS}


# --- Custom traits ------------------------------------------------------------------------------------------


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
            f"The custom trait '{name}' must have a value from {_fmt(TRAIT_MIN)} to {_fmt(TRAIT_MAX)}; "
            f"got {_fmt(value)}."
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


# --- Templates ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A personality template from ``data/templates.toml``; ``traits`` holds all fourteen built-in traits."""

    id: str
    name: str
    description: str
    emoji: str
    traits: dict[str, float] = field(hash=False)


def _template(row: Mapping[str, Any]) -> Template:
    given = row["traits"]
    missing = [t for t in ALL_TRAITS if t not in given]
    if missing:
        raise DomainError(f"The template '{row['id']}' does not set {', '.join(missing)}.")
    # A fresh dict per call: the parsed file is cached and shared, callers may change what they get.
    return Template(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        emoji=row["emoji"],
        traits=validate_traits(given),
    )


def list_templates() -> list[Template]:
    """Every template, in the order of ``data/templates.toml``."""
    return [_template(row) for row in catalog.load("templates")["template"]]


def get_template(template_id: str) -> Template:
    """The template with this id; an unknown id raises :class:`NotFound` (a DomainError)."""
    for row in catalog.load("templates")["template"]:
        if row["id"] == template_id:
            return _template(row)
    raise NotFound(f"There is no template called '{template_id}'.")


# --- Random generation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaning:
    """A named preset for random generation: it narrows the range of the traits it names."""

    id: str
    label: str
    ranges: dict[str, tuple[float, float]] = field(hash=False)


def list_leanings() -> list[Leaning]:
    """The leanings of ``[leanings]`` in ``data/trait_rules.toml``, in file order."""
    return [
        Leaning(
            id=key,
            label=row["label"],
            ranges={trait: (float(low), float(high)) for trait, (low, high) in row["ranges"].items()},
        )
        for key, row in _rules()["leanings"].items()
    ]


def _checked_range(trait: str, bounds: object) -> tuple[float, float]:
    problem = DomainError(
        f"The range for {label(trait).lower()} must be two numbers from {_fmt(TRAIT_MIN)} to "
        f"{_fmt(TRAIT_MAX)}, low first; got {bounds!r}."
    )
    if isinstance(bounds, str | bytes) or not isinstance(bounds, Sequence) or len(bounds) != 2:
        raise problem
    low, high = bounds
    for end in (low, high):
        if isinstance(end, bool) or not isinstance(end, numbers.Real) or not math.isfinite(float(end)):
            raise problem
    if not TRAIT_MIN <= low <= high <= TRAIT_MAX:
        raise problem
    return float(low), float(high)


def _draw(generator: random.Random, bounds: tuple[float, float], centre: float, spread: float) -> float:
    """One value: triangular over [centre - spread, centre + spread] cut to bounds, peaking at the centre
    moved into bounds; rounded to a whole number, then kept within bounds (a bound may be fractional)."""
    low, high = bounds
    peak = min(high, max(low, centre))
    value = generator.triangular(max(low, peak - spread), min(high, peak + spread), peak)
    return float(min(high, max(low, round(value))))


def random_traits(
    seed: int,
    leanings: Sequence[str] = (),
    ranges: Mapping[str, tuple[float, float]] = _NO_RANGES,
) -> dict[str, float]:
    """A random personality, all fourteen traits, the same for the same arguments.

    The Big Five are drawn first, then the nine others around the values :func:`derive_traits` gives for them
    (the distributions and settings are documented in ``[random]`` of ``data/trait_rules.toml``). ``leanings``
    name presets of ``[leanings]`` that narrow trait ranges; ``ranges`` gives inclusive (low, high) per trait.
    All of them intersect, and every value lands within the result. An unknown leaning, a bad range or ranges
    that leave a trait no possible value raise :class:`DomainError`.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DomainError(f"The seed must be a whole number; got {seed!r}.")
    if isinstance(leanings, str):
        leanings = (leanings,)
    rules = _rules()
    presets = rules["leanings"]

    allowed: dict[str, tuple[float, float]] = {t: (TRAIT_MIN, TRAIT_MAX) for t in ALL_TRAITS}
    reasons: dict[str, list[str]] = {t: [] for t in ALL_TRAITS}

    def narrow(trait: str, bounds: tuple[float, float], reason: str) -> None:
        low = max(allowed[trait][0], bounds[0])
        high = min(allowed[trait][1], bounds[1])
        reasons[trait].append(f"{reason} ({_fmt(bounds[0])}-{_fmt(bounds[1])})")
        if low > high:
            raise DomainError(f"No {label(trait).lower()} value fits both {' and '.join(reasons[trait])}.")
        allowed[trait] = (low, high)

    for leaning in leanings:
        key = leaning.strip().lower() if isinstance(leaning, str) else None
        if key not in presets:
            raise DomainError(f"There is no leaning called {leaning!r}; choose from {', '.join(presets)}.")
        for trait, bounds in presets[key]["ranges"].items():
            narrow(trait, (float(bounds[0]), float(bounds[1])), f"the leaning '{key}'")
    for key, bounds in ranges.items():
        trait = _trait_name(key)
        narrow(trait, _checked_range(trait, bounds), "your range")

    settings = rules["random"]
    generator = random.Random(seed)
    result = {
        trait: _draw(generator, allowed[trait], settings["big_five_centre"], settings["big_five_spread"])
        for trait in BIG_FIVE
    }
    centres = derive_traits(result)
    for trait in DERIVED_TRAITS:
        result[trait] = _draw(generator, allowed[trait], centres[trait], settings["derived_spread"])
    return {trait: result[trait] for trait in ALL_TRAITS}


# --- Mood and words -----------------------------------------------------------------------------------------


def default_mood(traits: Mapping[str, float]) -> pad.PAD:
    """The default mood (pleasure, arousal, dominance), each in [-1, 1], from the Big Five (Mehrabian 1996).

    Traits are centred, ``t' = (t - 50) / 50``, emotional stability ``S' = (50 - N) / 50``; each axis is the
    sum of the coefficients of ``[mood]`` in ``data/trait_rules.toml`` times the centred values, clamped to
    [-1, 1]. Keys other than the Big Five are ignored; a missing Big-Five key raises :class:`DomainError`
    naming it. The result is a :class:`~bot.core.pad.PAD`, which is a tuple.
    """
    five = _big_five(traits)
    centred = {trait: (five[trait] - _MID) / _HALF for trait in BIG_FIVE}
    centred["emotional_stability"] = (_MID - five["neuroticism"]) / _HALF
    coefficients = _rules()["mood"]
    axes = tuple(
        sum(weight * centred[term] for term, weight in coefficients[axis].items())
        for axis in ("pleasure", "arousal", "dominance")
    )
    return pad.clamp_pad((axes[0], axes[1], axes[2]))


def describe_traits(traits: Mapping[str, float]) -> list[str]:
    """Short words for a prompt, one per built-in trait outside the middle band, in ``ALL_TRAITS`` order.

    The bands and words are ``[words]`` in ``data/trait_rules.toml`` (under 20 very low, under 40 low, under
    60 said nothing of, under 80 high, then very high). camelCase names are accepted; keys that are not
    built-in traits (custom traits) are ignored; a value outside 0..100 raises :class:`DomainError`.
    """
    words = _rules()["words"]
    edges: list[float] = words["band_edges"]
    names: list[str] = words["band_names"]
    present: dict[str, float] = {}
    for key, value in traits.items():
        name = CAMEL_TO_SNAKE.get(key, key)
        if name in ALL_TRAITS:
            present[name] = _trait_value(name, value)
    result = []
    for trait in ALL_TRAITS:
        if trait not in present:
            continue
        band = names[sum(1 for edge in edges if present[trait] >= edge)]
        word = words[trait].get(band)
        if word:
            result.append(word)
    return result


def mood_words(traits: Mapping[str, float]) -> str:
    """The default mood in words, e.g. "moderately relaxed" (:func:`bot.core.pad.describe`)."""
    return pad.describe(default_mood(traits))
