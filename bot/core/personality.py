"""The personality engine: trait validation, custom traits, templates, derived traits, random generation, the
default mood and the words a prompt uses for a personality. Custom traits are :mod:`bot.core.custom_traits`
(re-exported here).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.core import catalog, pad
from bot.core.custom_traits import (
    IMPACT_MAX,
    IMPACT_MIN,
    MAX_BEHAVIOR_LENGTH,
    MAX_CONTEXT_LENGTH,
    MAX_CUSTOM_CATEGORY_LENGTH,
    MAX_CUSTOM_DESCRIPTION_LENGTH,
    MAX_CUSTOM_NAME_LENGTH,
    MAX_INFLUENCES,
    CustomTrait,
    TraitInfluence,
    custom_trait_from_dict,
    custom_trait_to_dict,
    validate_custom_traits,
)
from bot.core.custom_traits import (
    plain_number as _fmt,
)
from bot.core.errors import DomainError, NotFound
from bot.core.traits import (
    ALL_TRAITS,
    BIG_FIVE,
    CAMEL_TO_SNAKE,
    TRAIT_MAX,
    TRAIT_MIN,
    label,
)

DERIVED_TRAITS: tuple[str, ...] = tuple(t for t in ALL_TRAITS if t not in BIG_FIVE)


# Centre and half-width of the trait scale: t' = (t - 50) / 50 (SCIENCE.md section 1).
_MID = (TRAIT_MIN + TRAIT_MAX) / 2
_HALF = (TRAIT_MAX - TRAIT_MIN) / 2

_NO_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType({})


def _rules() -> dict[str, Any]:
    return catalog.load("trait_rules")


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


def _folded_name(text: str) -> str:
    """A template's name or id as people may type it: case, spaces, ``_`` and ``-`` aside, emoji dropped."""
    return "".join(c for c in text.casefold() if c.isalnum())


def get_template(template_id: str) -> Template:
    """The template with this id, or with this name as ``/persona templates`` shows it ("Playful Trickster",
    "playful trickster", "🃏 Playful Trickster"); an unknown one raises :class:`NotFound` (a DomainError)."""
    rows = catalog.load("templates")["template"]
    for row in rows:
        if row["id"] == template_id:
            return _template(row)
    wanted = _folded_name(template_id)
    for row in rows:
        if wanted and wanted in (_folded_name(row["name"]), _folded_name(row["id"])):
            return _template(row)
    names = ", ".join(row["name"] for row in rows)
    raise NotFound(f"There is no template called '{template_id}'. The templates are: {names}.")


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


__all__ = [
    "DERIVED_TRAITS",
    "IMPACT_MAX",
    "IMPACT_MIN",
    "MAX_BEHAVIOR_LENGTH",
    "MAX_CONTEXT_LENGTH",
    "MAX_CUSTOM_CATEGORY_LENGTH",
    "MAX_CUSTOM_DESCRIPTION_LENGTH",
    "MAX_CUSTOM_NAME_LENGTH",
    "MAX_INFLUENCES",
    "CustomTrait",
    "Leaning",
    "Template",
    "TraitInfluence",
    "custom_trait_from_dict",
    "custom_trait_to_dict",
    "default_mood",
    "derive_traits",
    "describe_traits",
    "get_template",
    "list_leanings",
    "list_templates",
    "mood_words",
    "random_traits",
    "validate_custom_traits",
    "validate_traits",
]
