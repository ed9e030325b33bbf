"""The creation wizard's steps (pure): the six steps, what each holds, how a new wizard starts, how each step
validates, and where a running questionnaire is.

A wizard is a :class:`WizardState`: the step (1..6) and a JSON-able ``data`` dict, which is all a draft stores, so
any process can continue any wizard. How actions move it is :mod:`bot.core.wizard.actions`.

The shape of ``data``::

    name, description, avatar_url          step 1
    traits (all fourteen, or None)          step 2, with personality = {mode, template, leanings, seed}
    quiz = {instrument, answers, position}  while a questionnaire is running (None otherwise)
    adjust = {trait}                        while traits are being adjusted by hand (None otherwise)
    memory (every MemoryConfig field), memory_preset (a preset name or "custom")   step 3
    behavior (BehaviorSettings)             step 4
    privacy (PrivacySettings), privacy_field (the field the visibility buttons change)   step 5
    character (every field of bot.core.character; absent in drafts older than it: then saving keeps the
    persona's)                              edited from the review (step 6)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.core import memory as memory_rules
from bot.core import personality, quiz
from bot.core.character import CHARACTER_FIELDS, empty_character, validate_character
from bot.core.errors import DomainError
from bot.core.personas import (
    PRIVACY_FIELDS,
    BehaviorSettings,
    PrivacySettings,
    validate_avatar_url,
    validate_description,
    validate_name,
)
from bot.core.traits import ALL_TRAITS
from bot.core.wizard.edits import apply_template, memory_dict, preset_matching

TOTAL_STEPS = 6
STEP_TITLES: tuple[str, ...] = ("Basic info", "Personality", "Memory", "Behaviour", "Privacy & consent", "Review")
DRAFT_TTL = timedelta(hours=24)

# Manual adjustment: the trait pages of the modal (the nudges are in bot.core.wizard.edits).
TRAIT_PAGE_SIZE = 5
TRAIT_PAGES: tuple[tuple[str, ...], ...] = tuple(
    ALL_TRAITS[i : i + TRAIT_PAGE_SIZE] for i in range(0, len(ALL_TRAITS), TRAIT_PAGE_SIZE)
)
# When to reply (step 4): the select's values and the behaviour flags they set.
REPLY_WHEN: dict[str, str] = {
    "mentioned": "reply_when_mentioned",
    "named": "reply_when_named",
    "replied": "reply_when_replied_to",
}
CHATTINESS_LEVELS: tuple[int, ...] = (0, 5, 10, 25, 50, 75, 100)
# The advanced memory modal: at most five text fields (Discord's limit for a modal).
MEMORY_MODAL_FIELDS: tuple[str, ...] = (
    "hot_memory_size",
    "warm_memory_size",
    "cold_memory_retention_days",
    "decay_function",
    "decay_rate",
)
# The character forms (at most five boxes each, Discord's limit): the story, then the notes; and how many boxes
# the alternate greetings' form has.
CHARACTER_PAGES: tuple[tuple[str, ...], ...] = (
    ("scenario", "greeting", "example_dialogue", "system_prompt", "post_history_instructions"),
    ("personality_text", "creator_notes", "nickname"),
)
GREETING_BOXES = 5


@dataclass(frozen=True)
class WizardState:
    """Where a wizard is (``step``, 1..6) and everything chosen so far (``data``, JSON-able)."""

    step: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QuizProgress:
    """The question on screen: "Question ``number`` of ``total``", and the answer given to it before, if any."""

    instrument: str
    instrument_name: str
    number: int
    total: int
    text: str
    previous_answer: int | None


# --------------------------------------------------------------------------------------------------- building


def new_data(template_id: str | None = None) -> dict[str, Any]:
    """A fresh wizard's data: defaults everywhere, and the template's traits when one is named."""
    data: dict[str, Any] = {
        "name": "",
        "description": "",
        "avatar_url": None,
        "traits": None,
        "personality": {"mode": None, "template": None, "leanings": [], "seed": None},
        "quiz": None,
        "adjust": None,
        "memory": memory_dict(memory_rules.default_config()),
        "memory_preset": _default_preset_name(),
        "behavior": BehaviorSettings().to_dict(),
        "privacy": PrivacySettings().to_dict(),
        "privacy_field": PRIVACY_FIELDS[0],
        "character": empty_character(),
    }
    if template_id:
        apply_template(data, template_id)
    return data


def _default_preset_name() -> str:
    default = memory_rules.default_config()
    for name in memory_rules.preset_names():
        if memory_rules.preset(name) == default:
            return name
    return "custom"


def data_from_persona(
    *,
    name: str,
    description: str,
    avatar_url: str | None,
    traits: Mapping[str, float],
    behavior: Mapping[str, Any],
    privacy: Mapping[str, Any],
    memory: Mapping[str, Any],
    character: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The data of an edit wizard: a persona's current values, step by step (``character``: its character
    fields, by name)."""
    data = new_data()
    config = {k: memory[k] for k in memory_rules.CONFIG_FIELDS if k in memory}
    data.update(
        name=name,
        description=description,
        avatar_url=avatar_url,
        traits={t: float(traits[t]) for t in ALL_TRAITS},
        behavior=BehaviorSettings.from_dict(behavior).to_dict(),
        privacy=PrivacySettings.from_dict(privacy).to_dict(),
    )
    data["personality"]["mode"] = "current"
    data["character"] = {**empty_character(), **{k: v for k, v in (character or {}).items() if k in CHARACTER_FIELDS}}
    if set(config) == set(memory_rules.CONFIG_FIELDS):
        data["memory"] = memory_dict(memory_rules.validate_config(config))
        data["memory_preset"] = preset_matching(data["memory"])
    return data


def persona_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the wizard made, as the keyword fields of a persona (name, description, avatar_url, traits,
    behavior, privacy, memory, and the character fields when the draft has them); every step is validated first."""
    for step in range(1, TOTAL_STEPS):
        validate_step(step, data)
    memory = dict(data["memory"])
    memory["shareable"] = bool(data["privacy"].get("shareable", False))
    character = validate_character(data["character"]) if data.get("character") is not None else {}
    return {
        **character,
        "name": validate_name(data["name"]),
        "description": validate_description(data.get("description")),
        "avatar_url": validate_avatar_url(data.get("avatar_url")),
        "traits": personality.validate_traits(data["traits"]),
        "behavior": BehaviorSettings.from_dict(data["behavior"]).to_dict(),
        "privacy": PrivacySettings.from_dict(data["privacy"]).to_dict(),
        "memory": memory,
    }


# --------------------------------------------------------------------------------------------------- validation


def validate_step(step: int, data: Mapping[str, Any]) -> None:
    """Raise :class:`DomainError` saying what is missing or wrong in ``step``; return when it is complete."""
    if step == 1:
        validate_name(data.get("name") or "")
        validate_description(data.get("description"))
        validate_avatar_url(data.get("avatar_url"))
    elif step == 2:
        progress = quiz_progress(data)
        if progress is not None:
            raise DomainError(
                f"Finish the questionnaire first (question {progress.number} of {progress.total}), or stop it."
            )
        if data.get("traits") is None:
            raise DomainError("Choose a personality first: a template, a questionnaire, random, or by hand.")
        personality.validate_traits(data["traits"])
    elif step == 3:
        memory_rules.validate_config(data.get("memory") or {})
    elif step == 4:
        BehaviorSettings.from_dict(data.get("behavior"))
    elif step == 5:
        PrivacySettings.from_dict(data.get("privacy"))
    elif step == 6:
        for earlier in range(1, TOTAL_STEPS):
            validate_step(earlier, data)
    else:
        raise DomainError(f"There is no step {step}; the wizard has {TOTAL_STEPS}.")


def first_invalid_step(data: Mapping[str, Any], before: int = TOTAL_STEPS) -> int | None:
    """The first step before ``before`` that does not validate, or None."""
    for step in range(1, before):
        try:
            validate_step(step, data)
        except DomainError:
            return step
    return None


# --------------------------------------------------------------------------------------------------- quiz


def quiz_progress(data: Mapping[str, Any]) -> QuizProgress | None:
    """The running questionnaire's current question, or None when no questionnaire is running."""
    running = data.get("quiz")
    if not running:
        return None
    instrument = running["instrument"]
    items = quiz.questions(instrument)
    position = int(running.get("position", 0))
    answers = list(running.get("answers") or [])
    name = next((i.name for i in quiz.instruments() if i.id == instrument), instrument)
    return QuizProgress(
        instrument=instrument,
        instrument_name=name,
        number=position + 1,
        total=len(items),
        text=items[position].text,
        previous_answer=int(answers[position]) if position < len(answers) else None,
    )
