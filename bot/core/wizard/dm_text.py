"""What a message typed in a DM means for the wizard (pure): :func:`interpret_text` turns a line into an action.

The wizard can be done entirely by typing: every field has a name that ``<field>: <value>`` sets on any step (the
same actions, so the same validation, as the buttons and forms), and each step reads some bare words of its own
(the name on step 1, a template on step 2, a preset on step 3, an answer while the questionnaire runs). The words
of :data:`DM_WORDS` (next, skip, back, cancel, create, help, ...) work anywhere. :mod:`.dm_help` explains them.
"""

from __future__ import annotations

import re
from typing import Any

from bot.core import memory as memory_rules
from bot.core import personality, quiz
from bot.core.character import TEXT_FIELDS
from bot.core.errors import DomainError
from bot.core.personas import PRIVACY_FIELDS, BehaviorSettings
from bot.core.traits import ALL_TRAITS, label
from bot.core.wizard.steps import WizardState

Action = tuple[str, str | None, Any]

DM_WORDS = {
    "next": "next",
    "skip": "next",
    "continue": "next",
    "back": "back",
    "previous": "back",
    "cancel": "cancel",
    "quit": "cancel",
    "create": "create",
    "save": "create",
    "finish": "create",
    "help": "help",
    "?": "help",
    "show": "show",
    "where am i": "show",
}


def key_of(text: str) -> str:
    """A field's name as typed, made comparable: ``Example_Dialogue``, ``example-dialogue`` -> ``example dialogue``."""
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


# The names a field may be typed by, for each kind of field.
BASIC_KEYS = {"name": "name", "description": "description", "avatar": "avatar_url", "avatar url": "avatar_url"}
CHARACTER_KEYS = {
    **{key_of(name): name for name in TEXT_FIELDS},
    **{key_of(words.removeprefix("The ")): name for name, words in TEXT_FIELDS.items()},
    "first message": "greeting",
    "examples": "example_dialogue",
    "creator notes": "creator_notes",
}
GREETING_KEYS = frozenset({"alternate greetings", "alternate greeting", "greetings"})
TRAIT_KEYS = {**{key_of(t): t for t in ALL_TRAITS}, **{key_of(label(t)): t for t in ALL_TRAITS}, "humour": "humor"}
MEMORY_KEYS = {
    **{key_of(f): f for f in memory_rules.CONFIG_FIELDS if f != "shareable"},
    "encrypt": "encrypt_sensitive",
    "encryption": "encrypt_sensitive",
}
BEHAVIOR_KEYS = {
    **{key_of(f): f for f in BehaviorSettings().to_dict()},
    "emoji": "emoji_use",
    "threads": "reply_in_threads",
    "cooldown": "cooldown_seconds",
    "exchange depth": "max_persona_exchange_depth",
    "mood reactions": "react_with_mood",
}
PRIVACY_KEYS = {
    **{f"{field} visibility": field for field in PRIVACY_FIELDS},
    "remember people": "remember_people",
    "remember": "remember_people",
    "shareable": "shareable",
}
REPLY_WORDS = {
    "mentioned": "mentioned",
    "mention": "mentioned",
    "mentions": "mentioned",
    "named": "named",
    "name": "named",
    "by name": "named",
    "replied": "replied",
    "replied to": "replied",
    "reply": "replied",
    "replies": "replied",
}
NO_REPLY_WORDS = frozenset({"never", "none", "nothing", "no"})
_GOTO = re.compile(r"(?:go ?to )?step (\d{1,2})|go ?to (\d{1,2})")
_TRAIT_PAIR = re.compile(r"([a-z][a-z _'-]*?)\s*[:=]?\s*([-+]?\d+(?:\.\d+)?)")
_LIST = re.compile(r"\s*(?:,|;|\band\b)\s*")


def interpret_text(state: WizardState, text: str, image_url: str | None = None) -> Action:
    """What a message typed in a DM means for the wizard, as ``(action, arg, values)`` for
    :func:`bot.core.wizard.apply`, or ``cancel`` / ``create`` / ``show`` (handled by the service), ``help`` (the
    step's help, :func:`bot.core.wizard.dm_help.dm_help`) or ``describe`` (values: the description to read, or None
    for the persona's description: the caller asks for suggestions and applies them as ``suggested``).

    An image sets the avatar. Anything that cannot be read raises :class:`DomainError` saying what can be typed.
    """
    cleaned = (text or "").strip()
    word = key_of(cleaned) if len(cleaned) <= 40 else ""
    if image_url and not cleaned:
        return "basics", None, {"avatar_url": image_url}
    running = state.data.get("quiz") if state.step == 2 else None
    if running:
        found = _quiz_answer(word, cleaned, int(running.get("position", 0)))
        if found is not None:
            return found
    if word in DM_WORDS or cleaned in DM_WORDS:
        return DM_WORDS.get(word) or DM_WORDS[cleaned], None, None
    goto = _GOTO.fullmatch(word)
    if goto:
        return "goto", goto.group(1) or goto.group(2), None
    found = _field(cleaned) or _trait_pairs(cleaned.lower()) or _bare(state, cleaned, word, image_url)
    if found is not None:
        return found
    raise DomainError(_hint(state))


def _quiz_answer(word: str, cleaned: str, position: int) -> Action | None:
    if cleaned.isascii() and cleaned.lstrip("+-").isdigit():  # any number: the answer's own rule says 1 to 5
        return "answer", cleaned, None
    if word in ("back", "previous"):
        return ("quiz-back", None, None) if position > 0 else ("quiz-stop", None, None)
    if word in ("stop", "stop quiz", "stop questionnaire"):
        return "quiz-stop", None, None
    return None


def _field(text: str) -> Action | None:
    """``<field>: <value>`` for any field of any step, or None when the text does not start with a field's name."""
    key, sep, rest = text.partition(":")
    if not sep or "\n" in key:
        return None
    key, value = key_of(key), rest.strip()
    if key in BASIC_KEYS:
        return "basics", None, {BASIC_KEYS[key]: value}
    if key in CHARACTER_KEYS:
        return "character", None, {CHARACTER_KEYS[key]: value}
    if key in GREETING_KEYS:
        return "greetings", None, {"greetings_0": value}
    if key in TRAIT_KEYS:
        return "traits", None, {TRAIT_KEYS[key]: value}
    return _setting(key, value) or _choice(key, value)


def _setting(key: str, value: str) -> Action | None:
    """Memory, behaviour and privacy settings by name."""
    if key in ("memory", "preset", "memory preset"):
        return "memory-preset", value.lower(), None
    if key in MEMORY_KEYS:
        return "memory", None, {MEMORY_KEYS[key]: value}
    if key == "reply when":
        chosen = [] if key_of(value) in NO_REPLY_WORDS else [key_of(v) for v in _LIST.split(value) if v.strip()]
        return "reply-when", None, [REPLY_WORDS.get(v, v) for v in chosen]
    if key in ("chattiness", "verbosity", "formality"):
        return key, None, [value.lower().removesuffix("%").strip()]
    if key in BEHAVIOR_KEYS:
        return "behavior", None, {BEHAVIOR_KEYS[key]: value}
    if key in PRIVACY_KEYS:
        return "privacy", None, {PRIVACY_KEYS[key]: value}
    return None


def _choice(key: str, value: str) -> Action | None:
    """The personality's choices by name: a template, leanings, a questionnaire, a description to read."""
    if key == "template":
        return "template", template_id(value) or value.strip().lower(), None
    if key in ("leanings", "leaning"):
        return "leanings", None, [leaning_id(v) for v in _LIST.split(value) if v.strip()]
    if key in ("quiz", "questionnaire"):
        return "quiz", instrument_id(value) or value.strip().lower(), None
    if key in ("describe", "suggest"):
        return "describe", None, value or None
    if key in ("step", "go to"):
        return "goto", value, None
    return None


def _trait_pairs(text: str) -> Action | None:
    """``curiosity 80, humor 30``: traits set to numbers, or None when not every part is a trait and a number."""
    values: dict[str, str] = {}
    for part in _LIST.split(text):
        if not part.strip():
            continue
        pair = _TRAIT_PAIR.fullmatch(part.strip())
        if pair is None or key_of(pair.group(1)) not in TRAIT_KEYS:
            return None
        values[TRAIT_KEYS[key_of(pair.group(1))]] = pair.group(2)
    return ("traits", None, values) if values else None


def _bare(state: WizardState, cleaned: str, word: str, image_url: str | None) -> Action | None:
    """The words a step reads without a field's name."""
    if state.step == 1 and cleaned:
        fields: dict[str, Any] = {"avatar_url": image_url} if image_url else {}
        fields["name" if not state.data.get("name") else "description"] = cleaned
        return "basics", None, fields
    if image_url:
        return "basics", None, {"avatar_url": image_url}
    if state.step == 2:
        if word == "random":
            return "random", None, None
        if word in ("describe", "suggest"):
            return "describe", None, None
        found = template_id(word)
        if found:
            return "template", found, None
        found = instrument_id(word)
        if found:
            return "quiz", found, None
    if state.step == 3:
        if word in memory_rules.preset_names():
            return "memory-preset", word, None
        if word in ("encrypt", "encryption"):
            return "encrypt", None, None
    return None


def template_id(typed: str) -> str | None:
    """The template a person typed (its id or name, any case), or None."""
    wanted = key_of(typed)
    for template in personality.list_templates():
        if wanted in (key_of(template.id), key_of(template.name)):
            return template.id
    return None


def leaning_id(typed: str) -> str:
    """The leaning a person typed (its id or label), or what was typed (the action then says it is unknown)."""
    wanted = key_of(typed)
    for leaning in personality.list_leanings():
        if wanted in (key_of(leaning.id), key_of(leaning.label)):
            return leaning.id
    return typed.strip()


def instrument_id(typed: str) -> str | None:
    """The questionnaire a person typed (its id or name; ``quiz`` and ``questionnaire`` mean the first), or None."""
    wanted = key_of(typed)
    offered = quiz.instruments()
    if wanted in ("quiz", "questionnaire") and offered:
        return offered[0].id
    for instrument in offered:
        if wanted in (key_of(instrument.id), key_of(instrument.name)):
            return instrument.id
    return None


def _hint(state: WizardState) -> str:
    hint = {
        1: "type the name (then the description), or 'name: ...', 'description: ...', 'avatar: <link>'",
        2: "type a template's name or 'random', 'quiz', 'describe: <a few sentences>' or 'curiosity 80'",
        3: f"type a preset ({', '.join(memory_rules.preset_names())}) or '<setting>: <value>'",
    }.get(state.step, "type '<field>: <value>'")
    return f"On this step, {hint}; 'help' lists everything. 'next', 'back', 'cancel' and 'create' work anywhere."
