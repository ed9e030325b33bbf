"""Conversations rolled up into summary memories (pure): which exchanges make a session, and the extractive summary.

A **session** is one person's exchanges with a persona in one channel, each within :data:`SESSION_GAP` of the one
before; it is summarised once it is over (its last exchange at least a gap before now) and holds at least
:data:`MIN_TURNS` exchanges. Only plain exchange memories join a session: not pinned ones, not encrypted ones (their
words stay sealed) and not ones about someone else (a summary belongs to the person who spoke, so their forget-me
takes it; words about a second person stay in the memory that names them).

The **extractive summary** (no model needed) keeps what the person said, not the persona's answers: the
:data:`MAX_QUOTES` most informative quotes, in the order they were said. A quote's weight is the summed session
frequency of its content words (a word said in several exchanges is what the conversation was about, after Luhn
1958), divided by the square root of its length in words, plus its memory's importance; quotes under
:data:`MIN_QUOTE_WORDS` content words are left out unless nothing else is left.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.memory.duplicates import normalise_text
from bot.core.memory.items import runs

SESSION_GAP = timedelta(minutes=30)
MIN_TURNS = 3
MAX_QUOTES = 4
MIN_QUOTE_WORDS = 2
QUOTE_CHARS = 160
SUMMARY_CATEGORY = "summary"
# Words that say nothing about what a conversation was about (left out of the weights).
_FUNCTION_WORDS = frozenset(
    """a an and are as at be but by can did do does for from had has have he her hers him his how i i'm if in is it
    its just me my no not of on or our out she so that the their them then there they this to too up us was we were
    what when where which who why will with would you your yours yes ok oh hi hey really very much well im
    dont""".split()
)
# What an exchange memory's words look like (bot.core.prompt_words.exchange_words): "Alice said: “…”".
_SAID = re.compile(r"^(?P<who>.+?) said: “(?P<said>.*?)”", re.DOTALL)


@dataclass(frozen=True)
class Turn:
    """One exchange memory that may join a session."""

    memory_id: int
    person_id: int
    channel_id: int | None
    content: str
    importance: int
    created_at: datetime


def sessions(turns: Sequence[Turn], *, gap: timedelta = SESSION_GAP) -> list[list[Turn]]:
    """The turns grouped into sessions (module docstring), each in time order; sessions ordered by their start."""
    by_place: dict[tuple[int, int | None], list[Turn]] = {}
    for turn in sorted(turns, key=lambda t: (t.created_at, t.memory_id)):
        by_place.setdefault((turn.person_id, turn.channel_id), []).append(turn)
    found = [
        run
        for ordered in by_place.values()
        for run in runs(ordered, lambda earlier, later: later.created_at - earlier.created_at > gap)
    ]
    return sorted(found, key=lambda s: (s[0].created_at, s[0].memory_id))


def ready(session: Sequence[Turn], now: datetime, *, gap: timedelta = SESSION_GAP) -> bool:
    """Whether a session is over and long enough to be summarised."""
    return len(session) >= MIN_TURNS and session[-1].created_at <= now - gap


def said(content: str) -> tuple[str | None, str]:
    """Who spoke and what they said, from an exchange memory's words (None, all of it: not an exchange)."""
    found = _SAID.match(content)
    if found is None:
        return None, content.strip()
    return found.group("who").strip(), found.group("said").strip()


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


def quotes(session: Sequence[Turn]) -> list[str]:
    """The session's most informative quotes (module docstring), in the order they were said."""
    spoken = [(turn, said(turn.content)[1]) for turn in session]
    words = [[w for w in normalise_text(text) if w not in _FUNCTION_WORDS] for _, text in spoken]
    frequency = Counter(word for found in words for word in set(found))

    def weight(index: int) -> float:
        found = words[index]
        if not found:
            return float(spoken[index][0].importance) / 10
        return sum(frequency[w] for w in found) / math.sqrt(len(found)) + spoken[index][0].importance / 10

    usable = [i for i, found in enumerate(words) if len(found) >= MIN_QUOTE_WORDS] or list(range(len(spoken)))
    best = sorted(usable, key=lambda i: (-weight(i), i))[:MAX_QUOTES]
    return [_clip(spoken[i][1]) for i in sorted(best) if spoken[i][1]]


def extractive_summary(session: Sequence[Turn], *, person: str, when: str) -> str:
    """A summary memory's words without a model: who, when, how many exchanges, and what they said most about."""
    picked = "; ".join(f"“{quote}”" for quote in quotes(session))
    count = len(session)
    return f"Summary of a conversation with {person} {when} ({count} exchanges): {person} said {picked}."


def person_of(session: Sequence[Turn]) -> str:
    """How the session's exchanges name the person (the name they were remembered under)."""
    names = [said(turn.content)[0] for turn in session]
    known = [name for name in names if name]
    return Counter(known).most_common(1)[0][0] if known else "someone"


def summary_importance(session: Sequence[Turn]) -> int:
    """A summary matters as much as the most important exchange it stands for."""
    return max((turn.importance for turn in session), default=5)
