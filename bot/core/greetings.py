"""A persona's greeting: which one is posted when it is activated in a channel, its macros, and its parts.

The greeting is a character card's ``first_mes`` (``Persona.greeting``); a card's ``alternate_greetings`` are other
first messages of equal standing, so when there are some one is chosen at random among the greeting and them
(:func:`choose_greeting`, with the random draw passed in). Blank entries are never chosen; a persona with no
greeting says nothing.

Macros (:func:`resolve_macros`) are the prompt's, resolved by the same resolver (:mod:`bot.core.macros`):
``{{char}}`` is the persona (its nickname, or its name) and ``{{user}}`` the person who activated it (also ``<BOT>``
and ``<USER>``, any case); ``{{// ...}}``, ``{{comment:...}}`` and ``{{hidden_key:...}}`` are removed, never posted;
``{{random:A,B}}`` picks one option (``seed`` varies it), and so on.

Length (:func:`greeting_parts`): Discord takes 2,000 characters a message, so the greeting is split on sentence
boundaries (:func:`bot.core.conversation.split_message`); at most :data:`MAX_GREETING_PARTS` messages are posted,
and a greeting longer than that is cut at a sentence and ends with an ellipsis, so nobody mistakes the cut for the
end the author wrote.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import macros
from bot.core.conversation import DISCORD_MESSAGE_LIMIT, split_message
from bot.core.text import ELLIPSIS

MAX_GREETING_PARTS = 3


def greeting_options(greeting: str, alternates: Sequence[object]) -> list[str]:
    """The greetings to choose from: the greeting, then each alternate, blanks (and anything not text) left out."""
    return [text for text in (greeting, *alternates) if isinstance(text, str) and text.strip()]


def choose_greeting(greeting: str, alternates: Sequence[object], draw: float) -> str | None:
    """One greeting among the greeting and its alternates (``draw`` in [0, 1) picks it); None when all are blank."""
    options = greeting_options(greeting, alternates)
    if not options:
        return None
    index = min(int(max(draw, 0.0) * len(options)), len(options) - 1)
    return options[index]


def resolve_macros(text: str, *, char: str, user: str, seed: str = "") -> str:
    """``text`` with its macros resolved as the prompt resolves them (:func:`bot.core.macros.resolve`; a greeting
    has no ``{{original}}``): one pass, so a name that itself looks like a macro stays as it is."""
    return macros.resolve(text, char=char, user=user, seed=seed)


def greeting_parts(text: str, *, limit: int = DISCORD_MESSAGE_LIMIT, max_parts: int = MAX_GREETING_PARTS) -> list[str]:
    """The messages that post ``text``: at most ``max_parts`` of at most ``limit`` characters; when it needs more,
    the last part is cut at a sentence (or a word) and ends with an ellipsis. ``[]`` for blank text."""
    parts = split_message(text, limit)
    if len(parts) <= max_parts:
        return parts
    kept = parts[: max_parts - 1]
    last = split_message(parts[max_parts - 1], limit - len(ELLIPSIS) - 1)[0]
    kept.append(_cut_at_sentence(last) + " " + ELLIPSIS)
    return kept


def _cut_at_sentence(text: str) -> str:
    """``text`` up to its last sentence end, else its last space (if either is in its second half)."""
    for marks in (".!?", " "):
        cut = max(text.rfind(mark) for mark in marks)
        if cut > len(text) // 2:
            return text[: cut + 1].rstrip()
    return text.rstrip()
