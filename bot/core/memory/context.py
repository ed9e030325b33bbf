"""Conversation context in full-text relevance (issue 20; the formula and its sources: ``docs/retrieval.md``).

A memory is a turn of a conversation, and what a question needs is often split over neighbouring turns: the
question's words sit in one turn and the answer in the reply ("what did Caroline research?" / "Researching adoption
agencies"). Three rules, applied to the full-text scores of the candidates before they are ranked:

1. **Neighbours** (relevance propagation, Qin et al. 2005, "A study of relevance propagation for web search"): each
   of the best text matches lends ``follow_share`` of its score to the memory right after it in the same
   conversation and ``lead_share`` to the one right before (both looked up for the best matches only).
2. **Conversation** (passage evidence in document ranking, Callan 1994): each memory that has some score gains
   ``conversation_share`` times the best score in its conversation (the same channel, each memory within
   ``conversation_gap`` of the next).
3. **Speaker** (fielded matching, Robertson et al. 2004's BM25F idea: a name where the speaker stands weighs more
   than the same word in passing): a memory whose speaker ("Alice said: ..." or "Alice: ...") the query names is
   worth ``1 + speaker_boost`` times as much.

Only memories with a text score of their own or lent by a neighbour are relevant; the rest stay at 0, so the rules
never make an irrelevant memory relevant except by adjacency to a match. Pure: numbers in, numbers out; every
constant is ``[retrieval]`` in ``data/memory.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from operator import itemgetter
from typing import NamedTuple

from bot.core.memory.config import table
from bot.core.memory.items import runs

# "Alice said: “…”" (an exchange memory) or "Alice: …" (an imported turn): the speaker, at most 60 characters.
_SPEAKER = re.compile(r"^\s*([^:\n“\"]{1,60}?)(?: said)?:")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class ContextParameters:
    """The ``[retrieval]`` constants of these rules."""

    follow_share: float
    lead_share: float
    conversation_share: float
    speaker_boost: float
    context_matches: int
    conversation_gap: timedelta


@cache
def context_parameters() -> ContextParameters:
    section = table()["retrieval"]
    return ContextParameters(
        follow_share=float(section["follow_share"]),
        lead_share=float(section["lead_share"]),
        conversation_share=float(section["conversation_share"]),
        speaker_boost=float(section["speaker_boost"]),
        context_matches=max(0, int(section["context_matches"])),
        conversation_gap=timedelta(minutes=float(section["conversation_gap_minutes"])),
    )


class ContextTurn(NamedTuple):
    """A candidate memory as these rules see it: its text score (0 when its words do not match), when it was made (in
    minutes since any fixed moment, the same for all), its channel (None: none recorded), and the start of its text
    (where the speaker's name stands). (A named tuple of plain numbers: a few hundred are made per retrieval, on the
    chat path.)"""

    id: int
    score: float
    minute: float
    channel_id: int | None
    head: str = ""


def minute_of(moment: datetime) -> float:
    """``moment`` in minutes since the Unix epoch (a :attr:`ContextTurn.minute`)."""
    return moment.timestamp() / 60.0


def speaker_words(head: str) -> frozenset[str]:
    """The lower-case words of the speaker's name at the start of a memory's text; none when it names nobody."""
    if ":" not in head:
        return frozenset()
    match = _SPEAKER.match(head)
    return frozenset(_WORD.findall(match.group(1).casefold())) if match else frozenset()


def same_conversation(a: ContextTurn, b: ContextTurn, gap: timedelta) -> bool:
    """Whether two memories are neighbours in one conversation: the same channel and made within ``gap``."""
    return a.channel_id == b.channel_id and abs(a.minute - b.minute) <= gap.total_seconds() / 60.0


_BY_TIME = itemgetter(2, 0)  # (minute, id) of a ContextTurn


def _conversations(turns: Sequence[ContextTurn], gap: timedelta) -> list[list[ContextTurn]]:
    by_channel: dict[int | None, list[ContextTurn]] = {}
    for turn in turns:
        by_channel.setdefault(turn.channel_id, []).append(turn)
    minutes = gap.total_seconds() / 60.0
    return [
        run
        for members in by_channel.values()
        for run in runs(sorted(members, key=_BY_TIME), lambda earlier, later: later.minute - earlier.minute > minutes)
    ]


def contextual_scores(
    turns: Sequence[ContextTurn],
    neighbours: Mapping[int, tuple[int | None, int | None]],
    query_words: Iterable[str],
    params: ContextParameters | None = None,
) -> dict[int, float]:
    """Every candidate's text score with its context (module docstring), by id; 0 for a memory no rule reached.

    ``neighbours``: for each of the best matches, the ids of the memory right before and right after it among the
    persona's memories (None at either end); a neighbour counts only when it is among ``turns`` and in the same
    conversation. ``query_words``: the query's words as typed (lower case), for the speaker rule."""
    p = context_parameters() if params is None else params
    by_id = {turn.id: turn for turn in turns}
    scores = {turn.id: max(0.0, turn.score) for turn in turns}
    for memory_id, (before, after) in neighbours.items():
        turn = by_id.get(memory_id)
        if turn is None or turn.score <= 0:
            continue
        for other, share in ((after, p.follow_share), (before, p.lead_share)):
            neighbour = by_id.get(other) if other is not None else None
            if neighbour is not None and same_conversation(turn, neighbour, p.conversation_gap):
                scores[neighbour.id] += share * turn.score
    if p.conversation_share > 0:
        lent = dict(scores)
        for group in _conversations([t for t in turns if lent[t.id] > 0], p.conversation_gap):
            best = max(lent[turn.id] for turn in group)
            for turn in group:
                scores[turn.id] = lent[turn.id] + p.conversation_share * best
    words = {word.casefold() for word in query_words}
    if p.speaker_boost > 0 and words:
        for turn in turns:  # (a text that names no speaker has no colon: most are passed over at once)
            if ":" in turn.head and scores[turn.id] > 0 and speaker_words(turn.head) & words:
                scores[turn.id] *= 1.0 + p.speaker_boost
    return scores
