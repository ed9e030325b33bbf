"""A persona's character (pure): the Character Card fields it holds as its own, and their limits.

The fields keep the columns' names (``models.Persona``): ``personality_text`` (a card's ``personality``),
``scenario``, ``example_dialogue`` (``mes_example``), ``greeting`` (``first_mes``), ``alternate_greetings``,
``system_prompt``, ``post_history_instructions``, ``creator_notes`` and ``nickname``. Empty text (an empty list)
means none.

The limits are generous on purpose, and they are the only ones: what a persona may hold is the same whether it was
typed (the wizard, ``/persona edit``), cloned, imported from a Character Card (``bot.core.card_reading`` reads a card
within them) or from a native export, so whatever one way stored, the others accept. They bound what one persona
may store, not what the model reads (the prompt's token budget decides that, trimming the least important parts
first). Every text field (and the description, ``bot.core.personas``) holds up to :data:`TEXT_MAX` characters; there
are up to :data:`ALTERNATE_GREETINGS_MAX` alternate greetings of up to :data:`TEXT_MAX` characters each and together;
the nickname, a name the persona goes by, up to :data:`NICKNAME_MAX`; the name up to :data:`NAME_MAX` (a card's full
name; Discord is given a display name of at most 80 where it needs one). Text longer than a Discord form box is
left out of the form and kept as it is. Text follows :func:`bot.core.inputs.require_storable`.

Text fields are kept as they were written (only surrounding whitespace is trimmed): line breaks and spacing in
example dialogue and greetings matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.errors import DomainError
from bot.core.inputs import require_storable

TEXT_MAX = 100_000  # a real card's longest text is a few thousand words
ALTERNATE_GREETINGS_MAX = 100  # real cards carry up to a few dozen
NICKNAME_MAX = 200
NAME_MAX = 200  # the persona's name (a card's full name); the column holds this many

# The text fields, in the order forms and summaries show them, with the words a person reads.
TEXT_FIELDS: dict[str, str] = {
    "scenario": "The scenario",
    "greeting": "The greeting",
    "example_dialogue": "The example dialogue",
    "system_prompt": "The system prompt",
    "post_history_instructions": "The post-history instructions",
    "personality_text": "The personality summary",
    "creator_notes": "The creator's notes",
    "nickname": "The nickname",
}
CHARACTER_FIELDS: tuple[str, ...] = (*TEXT_FIELDS, "alternate_greetings")
# Between two alternate greetings in a form: a line holding only this.
GREETING_SEPARATOR = "---"


def empty_character() -> dict[str, Any]:
    """Every character field, empty."""
    return {**dict.fromkeys(TEXT_FIELDS, ""), "alternate_greetings": []}


def _within(what: str, text: str, limit: int) -> str:
    if len(text) > limit:
        raise DomainError(f"{what} is {len(text):,} characters long; the limit is {limit:,}.")
    return text


def validate_text(name: str, value: Any, *, as_written: bool = False) -> str:
    """One text field (``name`` from :data:`TEXT_FIELDS`), trimmed, within its limit. ``as_written``: checked
    but not trimmed (a card's text is kept exactly)."""
    what = TEXT_FIELDS[name]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DomainError(f"{what} must be text.")
    text = require_storable(value if as_written else value.strip(), what)
    if name == "nickname" and not as_written:
        text = " ".join(text.split())
    return _within(what, text, NICKNAME_MAX if name == "nickname" else TEXT_MAX)


def validate_alternate_greetings(value: Any, *, as_written: bool = False) -> list[str]:
    """Up to :data:`ALTERNATE_GREETINGS_MAX` greetings of up to :data:`TEXT_MAX` characters each and together;
    blank ones are dropped (``as_written``: kept, and none is trimmed)."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise DomainError("The alternate greetings must be a list of texts.")
    greetings: list[str] = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise DomainError(f"Alternate greeting {number} must be text.")
        what = f"Alternate greeting {number}"
        text = _within(what, require_storable(item if as_written else item.strip(), what), TEXT_MAX)
        if text or as_written:
            greetings.append(text)
    if len(greetings) > ALTERNATE_GREETINGS_MAX:
        raise DomainError(
            f"That is {len(greetings)} alternate greetings; a persona can have at most {ALTERNATE_GREETINGS_MAX}."
        )
    total = sum(len(greeting) for greeting in greetings)
    if total > TEXT_MAX:
        raise DomainError(f"The alternate greetings are {total:,} characters long together; the limit is {TEXT_MAX:,}.")
    return greetings


def validate_character(values: Mapping[str, Any], *, as_written: bool = False) -> dict[str, Any]:
    """The given character fields (a value of None is left out: "keep" on update), each validated. An unknown
    field is refused. ``as_written``: checked against the same limits but kept exactly (a card's import)."""
    unknown = sorted(set(values) - set(CHARACTER_FIELDS))
    if unknown:
        raise DomainError(f"Unknown character field: {', '.join(unknown)}.")
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name == "alternate_greetings":
            cleaned[name] = validate_alternate_greetings(value, as_written=as_written)
        else:
            cleaned[name] = validate_text(name, value, as_written=as_written)
    return cleaned


def split_greetings(text: str) -> list[str]:
    """Alternate greetings typed in a form: separated by lines holding only ``---`` (a greeting may have
    paragraphs of its own). Blank ones are dropped."""
    parts: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip() == GREETING_SEPARATOR:
            parts.append([])
        else:
            parts[-1].append(line)
    return [joined for joined in ("\n".join(part).strip() for part in parts) if joined]


def join_greetings(greetings: Sequence[str]) -> str:
    """The greetings as a form shows them (the inverse of :func:`split_greetings`)."""
    return f"\n{GREETING_SEPARATOR}\n".join(greetings)


def pack_greetings(greetings: Sequence[str], boxes: int, box_max: int) -> list[str] | None:
    """The greetings spread over at most ``boxes`` form boxes of ``box_max`` characters each, in order (a greeting
    is never split across boxes); None when they do not fit."""
    packed: list[str] = []
    for greeting in greetings:
        if len(greeting) > box_max:
            return None
        if packed and len(packed[-1]) + len(GREETING_SEPARATOR) + 2 + len(greeting) <= box_max:
            packed[-1] = join_greetings([packed[-1], greeting])
        else:
            packed.append(greeting)
    return packed if len(packed) <= boxes else None


def character_summary(values: Mapping[str, Any]) -> list[str]:
    """Short lines saying what a character has ("Greeting: 120 characters", "Alternate greetings: 3"), for the
    wizard's review and the profile; nothing for empty fields."""
    lines = []
    for name, what in TEXT_FIELDS.items():
        text = str(values.get(name) or "")
        if text and name != "nickname":
            lines.append(f"{what.removeprefix('The ').capitalize()}: {len(text):,} characters")
    greetings = list(values.get("alternate_greetings") or [])
    if greetings:
        lines.append(f"Alternate greetings: {len(greetings)}")
    return lines
