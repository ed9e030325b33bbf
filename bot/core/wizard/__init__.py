"""The creation wizard's rules (pure): six steps, what each holds, how it validates, and how actions move it.

A wizard is a :class:`WizardState`: the step (1..6) and a JSON-able ``data`` dict, which is all a draft stores, so
any process can continue any wizard. :func:`apply` is the one transition function: it takes an action (what a
button, select, modal or typed DM line asked for) and returns a new state, or raises
:class:`~bot.core.errors.DomainError` with a sentence for the user, leaving the old state as it was.

The rooms: :mod:`.steps` (the steps, a new wizard's data, validation, quiz progress), :mod:`.edits` (how each
action changes ``data``), :mod:`.actions` (:func:`apply` and its table of actions), :mod:`.dm_text` (typed DM
lines: every field by name), :mod:`.dm_help` (what can be typed on each step). Everything callers use is
importable from here.

The shape of ``data``::

    name, description, avatar_url          step 1
    traits (all fourteen, or None)          step 2, with personality = {mode, template, leanings, seed}
    quiz = {instrument, answers, position}  while a questionnaire is running (None otherwise)
    adjust = {trait}                        while traits are being adjusted by hand (None otherwise)
    memory (every MemoryConfig field), memory_preset (a preset name or "custom")   step 3
    behavior (BehaviorSettings)             step 4
    privacy (PrivacySettings), privacy_field (the field the visibility buttons change)   step 5
    character (every field of bot.core.character)   edited from the review (step 6)
    suggestions ([{trait, value, reason}], or absent)   traits suggested by a description (step 2)
"""

from __future__ import annotations

from bot.core.wizard.actions import ACTIONS, apply
from bot.core.wizard.dm_help import dm_help
from bot.core.wizard.dm_text import DM_WORDS, interpret_text
from bot.core.wizard.edits import NUDGES, parse_number, paused_quiz
from bot.core.wizard.steps import (
    CHARACTER_PAGES,
    CHATTINESS_LEVELS,
    DRAFT_TTL,
    GREETING_BOXES,
    MEMORY_MODAL_FIELDS,
    REPLY_WHEN,
    STEP_TITLES,
    TOTAL_STEPS,
    TRAIT_PAGE_SIZE,
    TRAIT_PAGES,
    QuizProgress,
    WizardState,
    data_from_persona,
    first_invalid_step,
    new_data,
    persona_fields,
    quiz_progress,
    validate_step,
)

__all__ = [
    "ACTIONS",
    "CHARACTER_PAGES",
    "CHATTINESS_LEVELS",
    "DM_WORDS",
    "DRAFT_TTL",
    "GREETING_BOXES",
    "MEMORY_MODAL_FIELDS",
    "NUDGES",
    "REPLY_WHEN",
    "STEP_TITLES",
    "TOTAL_STEPS",
    "TRAIT_PAGES",
    "TRAIT_PAGE_SIZE",
    "QuizProgress",
    "WizardState",
    "apply",
    "data_from_persona",
    "dm_help",
    "first_invalid_step",
    "interpret_text",
    "new_data",
    "parse_number",
    "paused_quiz",
    "persona_fields",
    "quiz_progress",
    "validate_step",
]
