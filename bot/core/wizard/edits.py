"""The wizard's edits (pure): how each action changes a wizard's ``data`` in place, section by section.

Each function here takes the ``data`` dict of a :class:`~bot.core.wizard.WizardState` (already a deep copy: see
:func:`bot.core.wizard.apply`) and changes it, or raises :class:`~bot.core.errors.DomainError` with a sentence for
the user. The quiz, the traits (templates, random, by hand), memory, behaviour, privacy and the character, in that
order.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core import memory as memory_rules
from bot.core import personality, quiz, trait_suggestions
from bot.core.character import (
    TEXT_FIELDS,
    empty_character,
    split_greetings,
    validate_alternate_greetings,
    validate_text,
)
from bot.core.errors import DomainError
from bot.core.inputs import whole_number
from bot.core.personas import PRIVACY_FIELDS, VISIBILITY, BehaviorSettings, PrivacySettings
from bot.core.traits import ALL_TRAITS, BIG_FIVE, label

# Manual adjustment: the nudges a button can make (custom_id-safe names).
NUDGES: dict[str, int] = {"m10": -10, "m1": -1, "p1": 1, "p10": 10}
# Yes and no as people type them (a switch set by typing rather than by its button).
YES_WORDS = frozenset({"yes", "y", "on", "true", "enable", "enabled", "1"})
NO_WORDS = frozenset({"no", "n", "off", "false", "disable", "disabled", "0"})


def yes_no(value: Any, what: str) -> bool:
    """A switch typed by a person ("yes", "off", ...), or DomainError with the settings' own sentence."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in YES_WORDS or word in NO_WORDS:
        return word in YES_WORDS
    raise DomainError(f"{what} must be yes or no.")


# --------------------------------------------------------------------------------------------------- memory values


def memory_dict(config: memory_rules.MemoryConfig) -> dict[str, Any]:
    return memory_rules.config_to_dict(config)


def preset_matching(values: Mapping[str, Any]) -> str:
    for name in memory_rules.preset_names():
        if memory_dict(memory_rules.preset(name)) == dict(values):
            return name
    return "custom"


# --------------------------------------------------------------------------------------------------- quiz


def start_quiz(data: dict[str, Any], instrument: str) -> None:
    """Start the questionnaire, or go on with it where it was paused (:func:`pause_quiz`): no answer is lost."""
    items = quiz.questions(instrument)  # an unknown instrument raises here
    if not items:
        raise DomainError("That questionnaire has no questions.")
    chosen = instrument.strip().lower()
    paused = data.get("quiz_paused")
    if paused and paused.get("instrument") == chosen:
        data["quiz"] = paused
    else:
        data["quiz"] = {"instrument": chosen, "answers": [], "position": 0}
    data["quiz_paused"] = None
    data["adjust"] = None


def pause_quiz(data: dict[str, Any]) -> None:
    """Leave the questionnaire, keeping its answers for when it is started again (none given: nothing to keep)."""
    running = data.get("quiz")
    if running and running.get("answers"):
        data["quiz_paused"] = running
    data["quiz"] = None


def paused_quiz(data: dict[str, Any]) -> tuple[str, int] | None:
    """The paused questionnaire's instrument and how many answers it keeps, or None."""
    paused = data.get("quiz_paused")
    if not paused or not paused.get("answers"):
        return None
    return str(paused["instrument"]), len(paused["answers"])


def answer_question(data: dict[str, Any], value: str | None) -> None:
    running = data.get("quiz")
    if not running:
        raise DomainError("No questionnaire is running; start one from the personality step.")
    answer = whole_number(value or "")
    if answer is None or not quiz.LOWEST_ANSWER <= answer <= quiz.HIGHEST_ANSWER:
        raise DomainError("Answers go from 1 (very inaccurate) to 5 (very accurate).")
    total = len(quiz.questions(running["instrument"]))
    answers = list(running.get("answers") or [])
    position = int(running.get("position", 0))
    if position < len(answers):
        answers[position] = answer
    else:
        answers.append(answer)
    position += 1
    if position >= total:
        big_five = quiz.score(running["instrument"], answers)
        data["traits"] = personality.derive_traits(big_five)
        data["personality"] = {**data["personality"], "mode": "quiz", "template": None, "quiz": running["instrument"]}
        data["quiz"] = None
        data["quiz_paused"] = None
        data.pop("suggestions", None)
        return
    data["quiz"] = {**running, "answers": answers, "position": position}


def quiz_back(data: dict[str, Any]) -> None:
    running = data.get("quiz")
    if not running:
        raise DomainError("No questionnaire is running.")
    position = int(running.get("position", 0))
    if position == 0:
        raise DomainError("This is the first question; there is nothing before it.")
    data["quiz"] = {**running, "position": position - 1}


# --------------------------------------------------------------------------------------------------- traits


def apply_template(data: dict[str, Any], template_id: str) -> None:
    template = personality.get_template(template_id)
    data["traits"] = dict(template.traits)
    data["personality"] = {**data["personality"], "mode": "template", "template": template.id}
    data["quiz"] = None
    data.pop("suggestions", None)


def randomise(data: dict[str, Any], seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DomainError("A random personality needs a whole-number seed.")
    leanings = list(data["personality"].get("leanings") or [])
    data["traits"] = personality.random_traits(seed, leanings)
    data["personality"] = {**data["personality"], "mode": "random", "template": None, "seed": seed}
    data["quiz"] = None
    data.pop("suggestions", None)


def apply_suggestions(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Traits suggested by a description (:meth:`bot.core.trait_suggestions.Suggestions.to_values`), checked; the
    suggestions and their reasons are kept to show until the traits come from elsewhere."""
    traits, rows, source = trait_suggestions.check_values(values)
    data["traits"] = traits
    data["suggestions"] = rows
    data["personality"] = {**data["personality"], "mode": "described", "template": None, "source": source}
    data["quiz"] = None
    data["adjust"] = None


def set_leanings(data: dict[str, Any], values: Sequence[str]) -> None:
    known = {leaning.id for leaning in personality.list_leanings()}
    chosen = [str(v) for v in values]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise DomainError(f"There is no leaning called '{unknown[0]}'.")
    # Leanings that contradict each other are found now, not when Random is pressed.
    personality.random_traits(0, chosen)
    data["personality"] = {**data["personality"], "leanings": chosen}


def current_traits(data: Mapping[str, Any]) -> dict[str, float]:
    traits = data.get("traits")
    if traits is None:
        return personality.derive_traits(dict.fromkeys(BIG_FIVE, 50.0))
    return {t: float(traits[t]) for t in ALL_TRAITS}


def to_manual(data: dict[str, Any]) -> None:
    data["traits"] = current_traits(data)
    data["personality"] = {**data["personality"], "mode": "manual", "template": None}


def parse_number(text: Any, what: str, low: float | None = None, high: float | None = None) -> float:
    """A number typed by a person ("42", " 3.5 "), or DomainError naming ``what``."""
    try:
        number = float(str(text).strip().replace(",", "."))
    except ValueError:
        raise DomainError(f"{what} must be a number; got '{str(text).strip()[:40]}'.") from None
    if not math.isfinite(number):
        raise DomainError(f"{what} must be a number; got '{str(text).strip()[:40]}'.")
    if low is not None and high is not None and not low <= number <= high:
        raise DomainError(f"{what} must be from {low:g} to {high:g}; got {number:g}.")
    return number


def set_traits(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    current = current_traits(data)
    for key, text in values.items():
        if key not in ALL_TRAITS:
            raise DomainError(f"There is no trait called '{key}'.")
        current[key] = parse_number(text, label(key), 0, 100)
    data["traits"] = personality.validate_traits(current)
    data["personality"] = {**data["personality"], "mode": "manual", "template": None}


def nudge_trait(data: dict[str, Any], how: str | None) -> None:
    if how not in NUDGES:
        raise DomainError("That adjustment is not one of -10, -1, +1, +10.")
    adjust = data.get("adjust") or {}
    trait = adjust.get("trait") or ALL_TRAITS[0]
    current = current_traits(data)
    current[trait] = float(min(100.0, max(0.0, current[trait] + NUDGES[how])))
    data["traits"] = current
    data["personality"] = {**data["personality"], "mode": "manual", "template": None}


# --------------------------------------------------------------------------------------------------- memory


def set_memory_preset(data: dict[str, Any], name: str) -> None:
    config = memory_rules.preset(name)
    data["memory"] = {
        **memory_dict(config),
        "encrypt_sensitive": bool(data["memory"].get("encrypt_sensitive", False)),
    }
    data["memory_preset"] = name.strip().lower()


def set_memory_values(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    merged = dict(data["memory"])
    for key, text in values.items():
        if key not in memory_rules.CONFIG_FIELDS:
            raise DomainError(f"There is no memory setting called {key}.")
        if isinstance(text, str) and isinstance(merged.get(key), bool):
            merged[key] = yes_no(text, f"The memory setting {key}")
        elif isinstance(text, str) and key in ("decay_function", "decay_schedule"):
            merged[key] = text.strip().lower()
        elif isinstance(text, str):
            number = parse_number(text, key.replace("_", " ").capitalize())
            merged[key] = int(number) if number.is_integer() and key != "decay_rate" else number
        else:
            merged[key] = text
    data["memory"] = memory_dict(memory_rules.validate_config(merged))
    data["memory_preset"] = preset_matching(data["memory"])


# --------------------------------------------------------------------------------------------------- behaviour


def change_behavior(data: dict[str, Any], changes: Mapping[str, Any]) -> None:
    data["behavior"] = BehaviorSettings.from_dict({**data["behavior"], **changes}).to_dict()


def set_behavior(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Behaviour settings as typed (``{"emoji_use": "none", "reply_in_threads": "yes", "cooldown_seconds": "30"}``):
    switches read as yes/no, numbers as numbers, the rest as words; :class:`BehaviorSettings` checks them all."""
    defaults = BehaviorSettings().to_dict()
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in defaults:
            raise DomainError(f"Unknown behaviour setting: {key}.")
        what = key.replace("_", " ").capitalize()
        if not isinstance(value, str):
            changes[key] = value
        elif isinstance(defaults[key], bool):
            changes[key] = yes_no(value, what)
        elif isinstance(defaults[key], int):
            number = parse_number(value, what)
            changes[key] = int(number) if number.is_integer() else number
        else:
            changes[key] = value.strip().lower()
    change_behavior(data, changes)


def cycle(options: Sequence[str], current: str) -> str:
    return options[(list(options).index(current) + 1) % len(options)] if current in options else options[0]


# --------------------------------------------------------------------------------------------------- privacy


def set_visibility(data: dict[str, Any], level: str | None) -> None:
    if level not in VISIBILITY:
        raise DomainError(f"Visibility is one of {', '.join(VISIBILITY)}.")
    target = data.get("privacy_field") or PRIVACY_FIELDS[0]
    privacy = copy.deepcopy(data["privacy"])
    privacy["visibility"][target] = level
    data["privacy"] = PrivacySettings.from_dict(privacy).to_dict()


def set_privacy(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Privacy settings as typed: a field's visibility (``{"mood": "public"}``) or a switch
    (``{"shareable": "yes"}``); :class:`PrivacySettings` checks them all."""
    privacy = copy.deepcopy(data["privacy"])
    for key, value in values.items():
        if key in PRIVACY_FIELDS:
            privacy["visibility"][key] = str(value).strip().lower()
        elif key in ("remember_people", "shareable"):
            privacy[key] = yes_no(value, key.replace("_", " ").capitalize())
        else:
            raise DomainError(f"Unknown privacy setting: {key}.")
    data["privacy"] = PrivacySettings.from_dict(privacy).to_dict()


def toggle_privacy(data: dict[str, Any], key: str) -> None:
    data["privacy"] = PrivacySettings.from_dict({**data["privacy"], key: not data["privacy"].get(key, False)}).to_dict()


# --------------------------------------------------------------------------------------------------- character


def set_character(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    """The character text fields a form sent (others are kept), each validated; one refused changes nothing."""
    unknown = sorted(set(values) - set(TEXT_FIELDS))
    if unknown:
        raise DomainError(f"There is no character field called {unknown[0]}.")
    checked = {name: validate_text(name, value) for name, value in values.items()}
    data["character"] = {**empty_character(), **(data.get("character") or {}), **checked}


def set_greetings(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    """The alternate greetings from a form's boxes (read in the boxes' order, greetings separated by lines of
    ``---``): all of them are replaced."""
    boxes = [str(values[key]) for key in sorted(values) if key.startswith("greetings")]
    if len(boxes) != len(values):
        raise DomainError("That form does not hold alternate greetings.")
    greetings = validate_alternate_greetings([g for box in boxes for g in split_greetings(box)])
    data["character"] = {**empty_character(), **(data.get("character") or {}), "alternate_greetings": greetings}
