"""Reply rules (pure): when a persona answers, how a reply is split for Discord, the prompt's token budget, and
whose turn it is when several personas share a channel (:func:`plan_turns`: who speaks, who waits, and why).

Rules chosen here:

- **Whether to reply** (:func:`should_reply`), first rule that applies wins: never its own messages; other bots
  only when ``reply_to_bots``; another persona only while the persona-to-persona exchange is shallower than
  ``max_persona_exchange_depth`` (0: never); a person who mentions, replies to or names the persona is answered
  (each switchable in the behaviour settings) even during the cooldown, because they expect an answer; anything
  else waits for the cooldown to pass and is then answered by chance, ``random_value < chattiness / 100``.
- **Token estimate** (:func:`estimate_tokens`): ``ceil(characters / 4)``, the usual rule of thumb for English
  with BPE tokenisers. It errs high for plain ASCII words and is close enough for budgeting; no tokeniser needed.
- **History budget** (:func:`fit_to_budget`): the newest messages are kept, the oldest dropped first, until the
  estimate fits; a budget too small for anything keeps nothing.
- **Splitting** (:func:`split_message`): parts of at most ``limit`` characters, cut at the strongest boundary in
  the last part of the window (paragraph, line, sentence, word; a hard cut only when a window has no space),
  never inside a code block when the cut can move before it; a code block longer than a part is closed at the
  end of one part and reopened (with its language) at the start of the next. No part is empty.
- **Turns** (:func:`choose_turns`): personas that were addressed answer, in order of who spoke least recently;
  when none was, at most one volunteer answers (the one who spoke least recently). Ties break by a hash of the
  seed and the persona id, so the result depends only on the inputs, not on their order. A persona whose author
  subscribes with priority replies goes first, and its cooldown does not hold it back.
- **Who speaks** (:func:`plan_turns`): :func:`should_reply` for each persona present, then :func:`choose_turns`
  among those that would; a persona already replying in the channel does not answer now, and when the message
  addressed it directly (:data:`DIRECT_REASONS`) the message waits for its turn.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.personas import BehaviorSettings

DISCORD_MESSAGE_LIMIT = 2000
CHARS_PER_TOKEN = 4
_FENCE = "```"


# ----------------------------------------------------------------------------------------------------
# Whether to reply


@dataclass(frozen=True)
class Decision:
    """Whether to reply, and the rule that decided (a short phrase for logs and ``/persona debug``)."""

    reply: bool
    reason: str


def should_reply(
    settings: BehaviorSettings,
    *,
    mentioned: bool,
    named: bool,
    replied_to: bool,
    author_is_bot: bool,
    author_is_self: bool,
    exchange_depth: int,
    random_value: float,
    now: datetime,
    last_reply_at: datetime | None,
    author_is_persona: bool = False,
    reply_to_bots: bool = False,
) -> Decision:
    """Whether the persona answers this message (rules in the module docstring).

    ``exchange_depth`` counts the persona-to-persona messages in a row that led to this one;
    ``random_value`` is a draw from [0, 1); ``author_is_persona`` marks a message by another persona of this bot
    (a webhook, so ``author_is_bot`` may be true as well); ``last_reply_at`` is when this persona last spoke in
    the channel. Datetimes must both be aware or both naive.
    """
    if author_is_self:
        return Decision(False, "its own message")
    if author_is_persona:
        if exchange_depth >= settings.max_persona_exchange_depth:
            return Decision(False, "persona exchange depth reached")
    elif author_is_bot and not reply_to_bots:
        return Decision(False, "another bot")
    direct = (
        (mentioned and settings.reply_when_mentioned, "mentioned"),
        (replied_to and settings.reply_when_replied_to, "replied to"),
        (named and settings.reply_when_named, "addressed by name"),
    )
    in_cooldown = last_reply_at is not None and (now - last_reply_at).total_seconds() < settings.cooldown_seconds
    for applies, reason in direct:
        if applies:
            # People who address the persona expect an answer; bots and personas still wait for the cooldown.
            if in_cooldown and (author_is_bot or author_is_persona):
                return Decision(False, "cooldown")
            return Decision(True, reason)
    if in_cooldown:
        return Decision(False, "cooldown")
    if random_value < settings.chattiness / 100:
        return Decision(True, "chattiness")
    return Decision(False, "not addressed")


_WORD = re.compile(r"\w", re.UNICODE)


def addressed_by_name(text: str, name: str) -> bool:
    """Whether ``text`` names the persona as a word: case-insensitive, whole words only ("Max" is not in
    "Maxwell"), any run of spaces between the words of a name, punctuation in names taken literally."""
    words = name.split()
    if not words or not text:
        return False
    pattern = r"\s+".join(re.escape(word) for word in words)
    # A boundary only matters where the name itself starts or ends with a word character.
    before = r"(?<!\w)" if _WORD.match(words[0][0]) else ""
    after = r"(?!\w)" if _WORD.match(words[-1][-1]) else ""
    return re.search(before + pattern + after, text, flags=re.IGNORECASE | re.UNICODE) is not None


# ----------------------------------------------------------------------------------------------------
# Token budget


def estimate_tokens(text: str) -> int:
    """``ceil(len(text) / 4)``: a tokeniser-free estimate (see the module docstring)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def fit_to_budget(texts: Sequence[str], budget: int) -> int:
    """How many of the newest ``texts`` (oldest first) fit in ``budget`` estimated tokens; the caller keeps
    ``texts[len(texts) - n:]``. Oldest are dropped first; a message is never cut in half."""
    used = 0
    kept = 0
    for text in reversed(texts):
        cost = estimate_tokens(text)
        if used + cost > budget:
            break
        used += cost
        kept += 1
    return kept


# ----------------------------------------------------------------------------------------------------
# Splitting


_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")
_MIN_LIMIT = 40


def _fence_state(text: str) -> tuple[bool, int, str]:
    """(inside a code block at the end of ``text``, index of the opening fence, its language)."""
    inside = False
    opened_at = -1
    language = ""
    for match in re.finditer(r"```([^\s`]*)", text):
        if inside:
            inside = False
        else:
            inside = True
            opened_at = match.start()
            language = match.group(1)
    return inside, opened_at, language


def _best_cut(text: str, limit: int) -> int:
    """Where to cut ``text`` (longer than ``limit``): an index in 1..limit at the strongest boundary."""
    window = text[:limit]
    floor = limit // 3  # don't make a tiny part just to cut at a strong boundary
    for boundary in ("\n\n", "\n"):
        at = window.rfind(boundary)
        if at >= floor:
            return at + len(boundary)
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() >= floor]
    if ends:
        return ends[-1]
    spaces = [m.end() for m in re.finditer(r"\s+", window) if m.start() > 0]
    if spaces:
        return spaces[-1]
    return limit


def split_message(text: str, limit: int = DISCORD_MESSAGE_LIMIT) -> list[str]:
    """``text`` in parts of at most ``limit`` characters (rules in the module docstring); ``[]`` for blank
    text. ``limit`` must be at least 40 (room to close and reopen a code block)."""
    if limit < _MIN_LIMIT:
        raise ValueError(f"limit must be at least {_MIN_LIMIT}")
    rest = text.strip()
    parts: list[str] = []
    while rest:
        if len(rest) <= limit:
            parts.append(rest)
            break
        cut = _best_cut(rest, limit)
        inside, opened_at, language = _fence_state(rest[:cut])
        if inside and len(_FENCE) + len(language) + 1 >= limit // 2:
            inside = False  # an absurd "language" tag: treat the fence as text rather than loop on it
        if inside and rest[:opened_at].strip():
            # Move the cut before the code block, so the block starts the next part whole.
            cut = opened_at
            inside = False
        if inside:
            # The block itself is longer than a part: close it here and reopen it in the next part.
            closing = "\n" + _FENCE
            room = limit - len(closing)
            body_start = opened_at + len(_FENCE) + len(language) + 1  # after the opening line
            cut = _best_cut(rest, room)
            line_end = rest[:cut].rfind("\n")
            if line_end > body_start:
                cut = line_end + 1  # prefer whole lines of code
            if cut <= body_start:
                cut = room  # one enormous line: cut it where it must be
            head = rest[:cut].rstrip("\n")
            parts.append(head + closing)
            rest = f"{_FENCE}{language}\n" + rest[cut:].lstrip("\n")
            continue
        head = rest[:cut].rstrip()
        if head:
            parts.append(head)
        rest = rest[cut:].lstrip()
    return parts


# ----------------------------------------------------------------------------------------------------
# Turns


@dataclass(frozen=True)
class TurnCandidate:
    """A persona in the channel that would answer this message: addressed directly, or by chance."""

    persona_id: int
    addressed: bool
    last_spoke_at: datetime | None = None
    # The author subscribes to this persona with priority replies: it goes first.
    priority: bool = False


def _tiebreak(seed: int, persona_id: int) -> str:
    return hashlib.sha256(f"{seed}:{persona_id}".encode()).hexdigest()


def choose_turns(candidates: Sequence[TurnCandidate], *, seed: int, max_speakers: int = 2) -> list[int]:
    """The ids of the personas that answer, in speaking order (rules in the module docstring).

    ``seed`` is any number tied to the message (its id), so the same message gives the same turns.
    A persona listed twice counts once (addressed if any entry is).
    """
    if max_speakers < 1:
        return []
    merged: dict[int, TurnCandidate] = {}
    for candidate in candidates:
        known = merged.get(candidate.persona_id)
        if known is None:
            merged[candidate.persona_id] = candidate
        else:
            spoke = [t for t in (known.last_spoke_at, candidate.last_spoke_at) if t is not None]
            merged[candidate.persona_id] = TurnCandidate(
                candidate.persona_id,
                known.addressed or candidate.addressed,
                max(spoke) if spoke else None,
                known.priority or candidate.priority,
            )

    def order(candidate: TurnCandidate) -> tuple[bool, bool, float, str]:
        spoke = candidate.last_spoke_at
        return (
            not candidate.priority,
            spoke is not None,
            spoke.timestamp() if spoke else 0.0,
            _tiebreak(seed, candidate.persona_id),
        )

    addressed = sorted((c for c in merged.values() if c.addressed), key=order)
    if addressed:
        return [c.persona_id for c in addressed[:max_speakers]]
    volunteers = sorted(merged.values(), key=order)
    return [volunteers[0].persona_id] if volunteers else []


# ----------------------------------------------------------------------------------------------------
# Who speaks


DIRECT_REASONS = ("mentioned", "replied to", "addressed by name")  # the reasons that mean "addressed directly"
BUSY = "already replying here"
NOT_YOUR_TURN = "another persona's turn"


@dataclass(frozen=True)
class HeardMessage:
    """A message as the turn rules see it, and what the channel says about it."""

    message_id: int
    content: str
    mentions_bot: bool = False
    author_is_bot: bool = False
    author_persona_id: int | None = None  # a persona of this bot wrote it
    replied_persona_id: int | None = None  # the persona whose message it replies to
    answer_bots: bool = False  # the server lets personas answer other bots
    exchange_depth: int = 0  # persona messages in a row that led to it
    random_value: float = 1.0  # a draw from [0, 1) for chattiness


@dataclass(frozen=True)
class PresentPersona:
    """A persona that speaks in the message's channel, and what bears on its turn."""

    persona_id: int
    name: str
    behavior: BehaviorSettings
    last_spoke_at: datetime | None = None
    priority: bool = False  # the author subscribes with priority replies: answered during its cooldown, and first
    busy: bool = False  # already replying in this channel


@dataclass(frozen=True)
class Turns:
    """Who answers (in speaking order), every decision by persona id, and who waits for its turn (with why)."""

    speakers: tuple[int, ...] = ()
    decisions: Mapping[int, str] = field(default_factory=dict)
    waiting: Mapping[int, str] = field(default_factory=dict)


def plan_turns(message: HeardMessage, present: Sequence[PresentPersona], *, now: datetime, max_speakers: int) -> Turns:
    """Who answers ``message`` among ``present`` (rules in the module docstring)."""
    decisions: dict[int, str] = {}
    waiting: dict[int, str] = {}
    candidates: list[TurnCandidate] = []
    for persona in present:
        pid = persona.persona_id
        decision = should_reply(
            persona.behavior,
            mentioned=message.mentions_bot,
            named=addressed_by_name(message.content, persona.name),
            replied_to=message.replied_persona_id == pid,
            author_is_bot=message.author_is_bot,
            author_is_self=message.author_persona_id == pid,
            exchange_depth=message.exchange_depth,
            random_value=message.random_value,
            now=now,
            last_reply_at=None if persona.priority else persona.last_spoke_at,
            author_is_persona=message.author_persona_id is not None,
            reply_to_bots=message.answer_bots,
        )
        addressed = decision.reason in DIRECT_REASONS
        decisions[pid] = decision.reason
        if persona.busy:
            decisions[pid] = BUSY
            if decision.reply and addressed:
                waiting[pid] = decision.reason
        elif decision.reply:
            candidates.append(TurnCandidate(pid, addressed, persona.last_spoke_at, persona.priority))
    chosen = choose_turns(candidates, seed=message.message_id, max_speakers=max_speakers)
    for candidate in candidates:
        if candidate.persona_id not in chosen:
            decisions[candidate.persona_id] = NOT_YOUR_TURN
    return Turns(tuple(chosen), decisions, waiting)
