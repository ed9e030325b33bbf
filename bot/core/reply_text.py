"""A model's reply made the persona's own words (pure): its own name label stripped, and the reply cut where it starts
speaking for someone else. Used for whole replies (:func:`clean_reply`) and streamed ones (:class:`ReplyCleaner`,
which gives the same text piece by piece).

- A **label** is, at the start of a line, a name followed by a colon: ``Alice:``, ``**Alice**:``, ``Alice (you):``,
  ``> Alice:``; case-insensitive, spaces around the colon allowed.
- The persona's **own label** (its name or nickname) at the very start of the reply is removed (once).
- The reply is **cut** before the first line that starts with another speaker's label (the people and personas of
  the conversation) or a role label (:data:`~bot.core.prompt_parts.ROLE_LABELS`: ``User:``...). A reply whose first
  line already speaks for someone else is empty: the caller treats it as no answer.
- Streaming: the text after the last newline is held back while it could still become a label (it is a prefix of
  one), so nothing shown is ever taken back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.prompt_parts import ROLE_LABELS, label_name

_LEAD = r"^[ \t>*_]*"
_TAIL = r"(?:[ \t]*\((?:you|me)\))?[*_]*[ \t]*:"


def _names(names: Sequence[str]) -> list[str]:
    cleaned = {label_name(n) for n in names}
    return sorted((n for n in cleaned if n), key=len, reverse=True)  # longest first: "Ada Lovelace" before "Ada"


def _pattern(names: Sequence[str]) -> re.Pattern[str] | None:
    usable = _names(names)
    if not usable:
        return None
    alternatives = "|".join(r"\s+".join(re.escape(word) for word in n.split()) for n in usable)
    return re.compile(_LEAD + r"[*_]*(?:" + alternatives + r")" + _TAIL, re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Labels:
    """Whose labels matter: the persona's own names, and everyone else's (role labels are added)."""

    own: tuple[str, ...]
    others: tuple[str, ...]
    own_pattern: re.Pattern[str] | None = field(init=False, compare=False, repr=False)
    other_pattern: re.Pattern[str] | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        own = {label_name(n).lower() for n in self.own}
        others = [n for n in (*self.others, *ROLE_LABELS) if label_name(n).lower() not in own]
        object.__setattr__(self, "own_pattern", _pattern(self.own))
        object.__setattr__(self, "other_pattern", _pattern(others))

    def could_be_label(self, line: str) -> bool:
        """Whether an unfinished line may still turn into someone's label."""
        text = line.lstrip(" \t>*_").lower()
        if not text:
            return bool(line)
        for name in (*self.own, *self.others, *ROLE_LABELS):
            label = label_name(name).lower()
            if label and (label.startswith(text) or (text.startswith(label) and ":" not in text)):
                return len(text) <= len(label) + 12  # "Alice (you):", "**Alice** :"
        return False


def clean_reply(text: str, labels: Labels) -> tuple[str, bool]:
    """The reply without its own leading label, cut before the first line that speaks for someone else (module
    docstring); and whether it was cut there."""
    if labels.own_pattern is not None:
        match = labels.own_pattern.match(text.lstrip())
        if match is not None:
            text = text.lstrip()[match.end() :].lstrip(" \t")
    if labels.other_pattern is not None:
        match = labels.other_pattern.search(text)
        if match is not None:
            return text[: match.start()].rstrip(), True
    return text, False


@dataclass
class ReplyCleaner:
    """:func:`clean_reply` for a stream: :meth:`feed` each delta and show what it returns; stop reading once
    :attr:`done`; :meth:`finish` gives what was held back at the end."""

    labels: Labels
    raw: str = ""
    shown: str = ""
    done: bool = False

    def feed(self, delta: str) -> str:
        """The new text safe to show after ``delta`` (may be empty)."""
        if self.done:
            return ""
        self.raw += delta
        text, cut = clean_reply(self.raw, self.labels)
        if cut:
            self.done = True
            return self._advance(text)
        line_start = text.rfind("\n") + 1
        if self.labels.could_be_label(text[line_start:]) or (not self.shown and not text.strip()):
            text = text[:line_start]
        return self._advance(text.rstrip())  # trailing spaces wait for what follows them

    def finish(self) -> str:
        """The rest of the reply once the stream ended."""
        if self.done:
            return ""
        self.done = True
        return self._advance(clean_reply(self.raw, self.labels)[0].rstrip())

    def _advance(self, text: str) -> str:
        if not text.startswith(self.shown):
            return ""  # never take back what was shown
        piece = text[len(self.shown) :]
        self.shown = text
        return piece
