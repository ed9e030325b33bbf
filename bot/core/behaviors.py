"""Custom behaviours (pure): a trigger and an action, validated, and matched against a message.

A rule is stored as four columns (``CustomBehavior``): ``trigger_kind`` + ``trigger_config`` and ``action_kind`` +
``action_config``. The shapes, and the rules chosen here:

Triggers
    - ``keywords``: ``{"words": ["hello", "good morning"], "match": "any" | "all"}``; 1..20 words or phrases of
      1..50 characters; matched as whole words, ignoring case, any run of spaces between a phrase's words.
    - ``emoji``: ``{"emoji": "🎉"}``; matches a reaction with that emoji, or the emoji in the message text
      (variation selectors and skin tones ignored; a custom emoji ``<:name:id>`` matches by name).
    - ``emotion``: ``{"emotion": "joy", "min_intensity": 50}``; matches while that emotion is active at an
      intensity at or above ``min_intensity`` (0..100, default 50).
    - ``time``: ``{"start": "22:00", "end": "06:00", "timezone": "Europe/Paris", "days": ["sat", "sun"]}``; matches
      when the local time is in [start, end) (a window past midnight wraps; start == end is the whole day) on one
      of ``days`` (all days when absent; for a wrapping window, the day it started).

Actions
    - ``instruction``: ``{"text": "..."}`` (1..500 characters): a sentence added to the system prompt.
    - ``reply``: ``{"template": "..."}`` (1..1,000 characters): a fixed reply rendered in a sandbox
      (:mod:`bot.templating.behavior_templates`) instead of asking the model.
    - ``emotion``: ``{"trigger": "praise"}``: an emotional trigger of ``data/triggers.toml`` applied to the persona.
    - ``reaction``: ``{"emoji": "👍"}``: the persona reacts to the message with this emoji.

On a *reaction* (an emoji trigger fired by someone reacting on one of the persona's messages) the emotion and reaction
actions apply, and a reply template answers the reaction within bounds (:mod:`bot.core.reaction_answers`); an
instruction cannot apply, since no model reply is made for a reaction (:func:`describe_action` says so).

Unknown keys are refused, so a typo never becomes a rule that silently does nothing.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core import emotions as emotion_rules
from bot.core.errors import DomainError

TRIGGER_KINDS = ("keywords", "emoji", "emotion", "time")
ACTION_KINDS = ("instruction", "reply", "emotion", "reaction")
NAME_MAX = 80
MAX_KEYWORDS = 20
KEYWORD_MAX = 50
INSTRUCTION_MAX = 500
REPLY_TEMPLATE_MAX = 1000
EMOJI_MAX = 100
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_BEHAVIORS_PER_PERSONA = 25
# A persona answers reactions with a reply template at most once per this long in a channel (bot.core.reaction_answers).
REACTION_ANSWER_COOLDOWN = timedelta(seconds=20)
INSTRUCTION_NOT_ON_REACTIONS = "a reaction adds no instruction: no model reply is made for a reaction"
REPLY_ON_REACTIONS = (
    "a reaction with it on one of the persona's messages is answered too, in reply to that message: the first "
    f"reaction per message only, at most one such answer every {REACTION_ANSWER_COOLDOWN.seconds} seconds per channel"
)

_SKIP = frozenset({0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)})
_CUSTOM_EMOJI = re.compile(r"^<a?:([A-Za-z0-9_~-]{1,32}):\d{1,25}>$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class KeywordsTrigger:
    words: tuple[str, ...]
    match: str = "any"  # any | all


@dataclass(frozen=True)
class EmojiTrigger:
    emoji: str


@dataclass(frozen=True)
class EmotionTrigger:
    emotion: str
    min_intensity: float = 50.0


@dataclass(frozen=True)
class TimeTrigger:
    start: time
    end: time
    timezone: str
    days: tuple[str, ...] = DAYS


@dataclass(frozen=True)
class InstructionAction:
    text: str


@dataclass(frozen=True)
class ReplyAction:
    template: str


@dataclass(frozen=True)
class EmotionAction:
    trigger: str


@dataclass(frozen=True)
class ReactionAction:
    emoji: str


Trigger = KeywordsTrigger | EmojiTrigger | EmotionTrigger | TimeTrigger
Action = InstructionAction | ReplyAction | EmotionAction | ReactionAction


@dataclass(frozen=True)
class Behavior:
    """A validated custom behaviour (build it with :func:`validate_behavior`)."""

    name: str
    trigger: Trigger
    action: Action
    enabled: bool = True
    id: int | None = None

    @property
    def trigger_kind(self) -> str:
        return _TRIGGER_KIND[type(self.trigger)]

    @property
    def action_kind(self) -> str:
        return _ACTION_KIND[type(self.action)]


_TRIGGER_KIND: dict[type, str] = {
    KeywordsTrigger: "keywords",
    EmojiTrigger: "emoji",
    EmotionTrigger: "emotion",
    TimeTrigger: "time",
}
_ACTION_KIND: dict[type, str] = {
    InstructionAction: "instruction",
    ReplyAction: "reply",
    EmotionAction: "emotion",
    ReactionAction: "reaction",
}


# ----------------------------------------------------------------------------------------------------
# Validation


def _keys(config: Any, what: str, required: Iterable[str], optional: Iterable[str] = ()) -> Mapping[str, Any]:
    if not isinstance(config, Mapping):
        raise DomainError(f"The {what} settings must be a set of named values.")
    required = tuple(required)
    allowed = set(required) | set(optional)
    unknown = sorted(str(key) for key in config if key not in allowed)
    if unknown:
        raise DomainError(f"The {what} has unknown settings: {', '.join(unknown)} (it takes {', '.join(allowed)}).")
    missing = [key for key in required if key not in config]
    if missing:
        raise DomainError(f"The {what} needs {', '.join(missing)}.")
    return config


def _text(value: Any, what: str, high: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError(f"{what} cannot be blank.")
    text = value.strip()
    if len(text) > high:
        raise DomainError(f"{what} is {len(text)} characters long; the limit is {high}.")
    return text


def normalise_emoji(emoji: str) -> str:
    """An emoji as compared: a custom emoji by ``:name:``, a Unicode one without variation selectors or skin
    tones."""
    text = emoji.strip()
    custom = _CUSTOM_EMOJI.match(text)
    if custom:
        return f":{custom.group(1)}:"
    return "".join(ch for ch in text if ord(ch) not in _SKIP)


def _emoji(value: Any, what: str) -> str:
    text = _text(value, what, EMOJI_MAX)
    if _CUSTOM_EMOJI.match(text):
        return text
    if any(ch.isspace() for ch in text) or any(ch.isascii() and ch.isalnum() for ch in text):
        raise DomainError(f"{what} must be one emoji, such as 🎉 or a server emoji like <:party:123>.")
    return text


def _parse_time(value: Any, what: str) -> time:
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise DomainError(f"{what} must be a time of day like 07:30 or 22:00; got {value!r}.")
    return time(int(match.group(1)), int(match.group(2)))


def _trigger(kind: Any, config: Any) -> Trigger:
    if kind == "keywords":
        config = _keys(config, "keyword trigger", ["words"], ["match"])
        words = config["words"]
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, Sequence) or not words:
            raise DomainError("The keyword trigger needs at least one word or phrase.")
        if len(words) > MAX_KEYWORDS:
            raise DomainError(f"The keyword trigger has {len(words)} words; the most is {MAX_KEYWORDS}.")
        cleaned: list[str] = []
        for word in words:
            text = " ".join(_text(word, "A keyword", KEYWORD_MAX).split())
            if text.casefold() not in (w.casefold() for w in cleaned):
                cleaned.append(text)
        match = config.get("match", "any")
        if match not in ("any", "all"):
            raise DomainError("The keyword trigger's match must be 'any' or 'all'.")
        return KeywordsTrigger(tuple(cleaned), match)
    if kind == "emoji":
        config = _keys(config, "emoji trigger", ["emoji"])
        return EmojiTrigger(_emoji(config["emoji"], "The trigger emoji"))
    if kind == "emotion":
        config = _keys(config, "emotion trigger", ["emotion"], ["min_intensity"])
        emotion = config["emotion"]
        if emotion not in emotion_rules.emotion_types():
            raise DomainError(
                f"'{emotion}' is not an emotion; choose one of {', '.join(emotion_rules.emotion_types())}."
            )
        level = config.get("min_intensity", 50)
        if (
            isinstance(level, bool)
            or not isinstance(level, numbers.Real)
            or not math.isfinite(float(level))
            or not 0 <= float(level) <= 100
        ):
            raise DomainError(f"The emotion trigger's intensity must be a number from 0 to 100; got {level!r}.")
        return EmotionTrigger(emotion, float(level))
    if kind == "time":
        config = _keys(config, "time trigger", ["start", "end", "timezone"], ["days"])
        zone = config["timezone"]
        try:
            if not isinstance(zone, str) or not zone.strip() or zone.startswith(("/", ".")) or ".." in zone:
                raise ValueError
            ZoneInfo(zone.strip())
        except (ValueError, ZoneInfoNotFoundError):
            raise DomainError(f"'{zone}' is not a time zone; use a name like Europe/Paris or UTC.") from None
        days_given = config.get("days", DAYS)
        if isinstance(days_given, str) or not isinstance(days_given, Sequence) or not days_given:
            raise DomainError(f"The time trigger's days must be a list of {', '.join(DAYS)}.")
        days = []
        for day in days_given:
            key = str(day).strip().lower()[:3]
            if key not in DAYS:
                raise DomainError(f"'{day}' is not a day; use {', '.join(DAYS)}.")
            if key not in days:
                days.append(key)
        ordered = tuple(day for day in DAYS if day in days)
        return TimeTrigger(
            _parse_time(config["start"], "The start time"),
            _parse_time(config["end"], "The end time"),
            zone.strip(),
            ordered,
        )
    raise DomainError(f"'{kind}' is not a kind of trigger; choose one of {', '.join(TRIGGER_KINDS)}.")


def _action(kind: Any, config: Any, check_template: Callable[[str], None] | None) -> Action:
    if kind == "instruction":
        config = _keys(config, "instruction", ["text"])
        return InstructionAction(_text(config["text"], "The instruction", INSTRUCTION_MAX))
    if kind == "reply":
        config = _keys(config, "reply", ["template"])
        source = config["template"]
        if not isinstance(source, str) or not source.strip():
            raise DomainError("The reply template cannot be blank.")
        if len(source) > REPLY_TEMPLATE_MAX:
            raise DomainError(
                f"The reply template is {len(source)} characters long; the limit is {REPLY_TEMPLATE_MAX}."
            )
        if check_template is not None:
            check_template(source)
        return ReplyAction(source)
    if kind == "emotion":
        config = _keys(config, "emotional trigger", ["trigger"])
        name = config["trigger"]
        if name not in emotion_rules.trigger_names():
            raise DomainError(
                f"'{name}' is not an emotional trigger; choose one of {', '.join(emotion_rules.trigger_names())}."
            )
        return EmotionAction(name)
    if kind == "reaction":
        config = _keys(config, "reaction", ["emoji"])
        return ReactionAction(_emoji(config["emoji"], "The reaction emoji"))
    raise DomainError(f"'{kind}' is not a kind of action; choose one of {', '.join(ACTION_KINDS)}.")


def validate_behavior(
    name: Any,
    trigger_kind: Any,
    trigger_config: Any,
    action_kind: Any,
    action_config: Any,
    *,
    enabled: bool = True,
    id: int | None = None,
    check_template: Callable[[str], None] | None = None,
) -> Behavior:
    """A checked :class:`Behavior` from the stored shape (module docstring), or :class:`DomainError` saying
    what is wrong. ``check_template`` checks a reply template's syntax and safety (the sandbox in
    :mod:`bot.templating.behavior_templates` passes its own; core does not parse templates)."""
    cleaned_name = " ".join(_text(name, "A behaviour's name", NAME_MAX).split())
    return Behavior(
        name=cleaned_name,
        trigger=_trigger(trigger_kind, trigger_config),
        action=_action(action_kind, action_config, check_template),
        enabled=bool(enabled),
        id=id,
    )


def behavior_to_columns(behavior: Behavior) -> dict[str, Any]:
    """The stored shape: ``name``, ``trigger_kind``, ``trigger_config``, ``action_kind``, ``action_config``,
    ``enabled`` (what :func:`validate_behavior` takes back)."""
    trigger = behavior.trigger
    if isinstance(trigger, KeywordsTrigger):
        trigger_config: dict[str, Any] = {"words": list(trigger.words), "match": trigger.match}
    elif isinstance(trigger, EmojiTrigger):
        trigger_config = {"emoji": trigger.emoji}
    elif isinstance(trigger, EmotionTrigger):
        trigger_config = {"emotion": trigger.emotion, "min_intensity": trigger.min_intensity}
    else:
        trigger_config = {
            "start": trigger.start.strftime("%H:%M"),
            "end": trigger.end.strftime("%H:%M"),
            "timezone": trigger.timezone,
            "days": list(trigger.days),
        }
    action = behavior.action
    if isinstance(action, InstructionAction):
        action_config: dict[str, Any] = {"text": action.text}
    elif isinstance(action, ReplyAction):
        action_config = {"template": action.template}
    elif isinstance(action, EmotionAction):
        action_config = {"trigger": action.trigger}
    else:
        action_config = {"emoji": action.emoji}
    return {
        "name": behavior.name,
        "trigger_kind": behavior.trigger_kind,
        "trigger_config": trigger_config,
        "action_kind": behavior.action_kind,
        "action_config": action_config,
        "enabled": behavior.enabled,
    }


# ----------------------------------------------------------------------------------------------------
# Matching


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = phrase.split()
    body = r"\s+".join(re.escape(word) for word in words)
    before = r"(?<!\w)" if re.match(r"\w", words[0][0]) else ""
    after = r"(?!\w)" if re.match(r"\w", words[-1][-1]) else ""
    return re.compile(before + body + after, re.IGNORECASE)


def _in_window(trigger: TimeTrigger, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(trigger.timezone))
    clock = local.time().replace(tzinfo=None)
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local.weekday() - 1) % 7]
    start, end = trigger.start, trigger.end
    if start == end:
        return today in trigger.days
    if start < end:
        return start <= clock < end and today in trigger.days
    # Past midnight: the evening part counts for today, the morning part for the day the window opened.
    if clock >= start:
        return today in trigger.days
    return clock < end and yesterday in trigger.days


def trigger_matches(
    trigger: Trigger,
    message_text: str,
    emoji: str | Iterable[str] | None,
    emotions_now: Mapping[str, float],
    now: datetime,
) -> bool:
    """Whether one trigger fires (rules in the module docstring). ``now`` must be timezone-aware."""
    if isinstance(trigger, KeywordsTrigger):
        found = [_phrase_pattern(word).search(message_text or "") is not None for word in trigger.words]
        return all(found) if trigger.match == "all" else any(found)
    if isinstance(trigger, EmojiTrigger):
        wanted = normalise_emoji(trigger.emoji)
        given = [emoji] if isinstance(emoji, str) else list(emoji or ())
        if any(normalise_emoji(e) == wanted for e in given):
            return True
        text = message_text or ""
        if wanted.startswith(":") and _CUSTOM_EMOJI.match(trigger.emoji):
            return re.search(rf"<a?{re.escape(wanted)}\d+>", text) is not None
        return bool(wanted) and wanted in normalise_emoji(text)
    if isinstance(trigger, EmotionTrigger):
        return float(emotions_now.get(trigger.emotion, 0.0)) >= trigger.min_intensity
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return _in_window(trigger, now)


def matching_behaviors(
    behaviors: Iterable[Behavior],
    message_text: str,
    emoji: str | Iterable[str] | None,
    emotions: Mapping[str, float],
    now: datetime,
) -> list[Behavior]:
    """The enabled behaviours whose trigger fires, in the given order.

    ``emoji`` is the reaction's emoji (or several, or None); emoji in ``message_text`` count too. ``emotions``
    maps active emotion types to their current intensity (0..100). ``now`` is timezone-aware.
    """
    return [b for b in behaviors if b.enabled and trigger_matches(b.trigger, message_text, emoji, emotions, now)]


def describe_action(behavior: Behavior) -> str:
    """What the action does, in words (for ``/behavior add``, ``list`` and ``test``). On an emoji trigger it says
    what happens on a reaction: a reply template answers it (:mod:`bot.core.reaction_answers`), an instruction
    cannot apply (no model reply is made for a reaction)."""
    action = behavior.action
    on_emoji = isinstance(behavior.trigger, EmojiTrigger)
    if isinstance(action, InstructionAction):
        said = f"adds to its instructions: “{action.text}”"
        return f"{said} when the emoji is in a message ({INSTRUCTION_NOT_ON_REACTIONS})" if on_emoji else said
    if isinstance(action, ReplyAction):
        said = "answers with its reply template instead of asking the model"
        return f"{said}; {REPLY_ON_REACTIONS}" if on_emoji else said
    if isinstance(action, EmotionAction):
        return f"feels the emotional trigger '{action.trigger}'"
    return f"reacts with {action.emoji}"
