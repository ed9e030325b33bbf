"""The words used in prompts (pure): numbers turned into words, the style sentences of the behaviour settings, and
the fixed phrases the conversation service puts before the model.

The templates in ``prompts/`` arrange these words (:mod:`bot.templating.prompts`); the tools (dates of memories) and
the UI (relationships) use the same ones, so a persona and its owner read the same scale.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.personas import BehaviorSettings

# ----------------------------------------------------------------------------------------------------
# Numbers in words


_AFFINITY_WORDS = (
    (-0.6, "dislike"),
    (-0.2, "are wary of"),
    (0.2, "feel neutral about"),
    (0.6, "like"),
)


def affinity_words(affinity: float) -> str:
    """-1..1 as a verb phrase: dislike, are wary of, feel neutral about, like, are very fond of."""
    for upper, words in _AFFINITY_WORDS:
        if affinity < upper:
            return words
    return "are very fond of"


def strength_words(strength: float) -> str:
    """0..1: a loose, a steady or a strong (bond)."""
    if strength < 1 / 3:
        return "loose"
    if strength < 2 / 3:
        return "steady"
    return "strong"


def messages_words(count: int) -> str:
    """How many messages the persona and a person exchanged, as a clause."""
    if count <= 0:
        return "you have not talked before"
    if count == 1:
        return "you have exchanged one message"
    return f"you have exchanged {count} messages"


def date_in_words(when: datetime, now: datetime) -> str:
    """A past moment in words relative to ``now``: "today", "yesterday", "3 days ago", "2 weeks ago",
    "in March 2024" (the calendar day compares in ``now``'s time zone)."""
    if when.tzinfo is not None and now.tzinfo is not None:
        when = when.astimezone(now.tzinfo)
    days = (now.date() - when.date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    if days < 60:
        return f"{days // 7} weeks ago"
    return f"in {when.strftime('%B %Y')}"


def custom_trait_words(name: str, value: float) -> str | None:
    """A custom trait (0..100) in words ("strong curiosity"), or None in the unremarkable middle (40..60)."""
    if value >= 80:
        return f"very strong {name}"
    if value >= 60:
        return f"strong {name}"
    if value < 20:
        return f"almost no {name}"
    if value < 40:
        return f"little {name}"
    return None


# ----------------------------------------------------------------------------------------------------
# Style


_VERBOSITY = {
    "brief": "Keep replies short: one or two sentences.",
    "balanced": "Keep replies to a short paragraph unless asked for more.",
    "detailed": "Give full, detailed replies when the topic deserves it.",
}
_FORMALITY = {
    "casual": "Speak casually, like a friend in a chat.",
    "neutral": "Speak naturally, neither stiff nor sloppy.",
    "formal": "Speak formally and politely; no slang.",
}
_EMOJI = {
    "none": "Do not use emoji.",
    "some": "Use an emoji now and then, where it fits.",
    "lots": "Use emoji freely.",
}


def style_lines(settings: BehaviorSettings) -> list[str]:
    """The behaviour settings as instructions: verbosity, formality, emoji use."""
    return [_VERBOSITY[settings.verbosity], _FORMALITY[settings.formality], _EMOJI[settings.emoji_use]]


# ----------------------------------------------------------------------------------------------------
# Fixed phrases of the conversation


# The instruction added when one reply answers several messages that waited for the persona's turn.
ANSWER_EVERY_WAITING = (
    "Several messages came for you while you were answering someone: reply to each of them, by name, in "
    "this one message."
)

# Park et al. (2023)'s poignancy question, asked when the model rates how much an exchange matters.
POIGNANCY_PROMPT = (
    "On the scale of 1 to 10, where 1 is purely mundane (e.g., brushing teeth, making bed) and 10 is extremely "
    "poignant (e.g., a break up, college acceptance), rate the likely poignancy of the following piece of memory. "
    "Answer with the number only."
)


def poignancy_question(memory_text: str) -> str:
    """The user message of the poignancy question."""
    return f"Memory: {memory_text}\nRating:"


def exchange_words(author_name: str, said: str, persona_name: str, reply: str | None) -> str:
    """An exchange as the persona remembers it, in its own voice: what the author said and what it answered
    (both already clipped). With no ``reply``, only that it answered."""
    told = f"{author_name} said: “{said}”"
    if reply is None:
        return f"{told} to me ({persona_name}), and I answered them."
    return f"{told} I ({persona_name}) answered: “{reply}”"
