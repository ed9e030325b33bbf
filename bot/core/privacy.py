"""Whether a persona may remember what a person says: one rule, applied wherever memories are made.

The rule, in order:
0. In a server whose admins chose ``never`` (``/admin memory``), no persona remembers anyone, whatever they said.
1. A persona whose privacy settings say it does not remember people remembers no one.
2. A refusal for the whole server (``/privacy consent`` refused without a persona, or ``/privacy forget-me``) beats
   every answer for one persona recorded before it: after forget-me nothing new is remembered about the person
   until they give consent again.
3. Otherwise the person's latest record for this persona decides; failing that, their latest record for the whole
   server.
4. With no record, the server's default decides: ``opt-out`` servers remember people who have not refused;
   ``opt-in`` servers (ask first, the default) remember no one who has not said yes.

**The invitation** (:func:`offer_due`): the first time a persona answers a person in a server, they are
told what is remembered there and asked (yes / not now / never), once: "not now" asks again after
:data:`REOFFER_AFTER`; an answer by command (any consent record in that server) or "never" is never asked again,
and a server that remembers no one asks nobody.

**Who a memory names** (:func:`memory_naming`). Every person a stored memory names by mention must be able to
reach it with their own forget-me and export, so each is linked to it: its author (``source_user_id``) and one
subject (``subject_user_id``). A memory therefore keeps the author's mentions and those of the first other person
named who may be remembered by the persona under this rule; every other mention becomes :data:`UNNAMED`. A person
who never consented or who opted out leaves no trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.errors import DomainError
from bot.core.inputs import parse_id

SERVER_DEFAULTS = ("opt-in", "opt-out", "never")
# What each server mode is called where people read it.
SERVER_MODE_NAMES = {
    "opt-in": "ask first",
    "opt-out": "remember unless people opt out",
    "never": "never remember anyone",
}
OFFER_ANSWERS = ("yes", "later", "never")
REOFFER_AFTER = timedelta(days=30)
# What a mention of a person who may not be remembered becomes in a stored memory.
UNNAMED = "someone"
# Discord's user mention, with or without the nickname mark: <@123> or <@!123> (roles are <@&123>: not people).
# Any run of digits is matched so that an impossible id is recognised as a mention, of nobody (:func:`parse_id`).
_USER_MENTION = re.compile(r"<@!?(\d+)>")


@dataclass(frozen=True)
class ConsentFact:
    """One recorded answer: granted or revoked, for one persona (``persona_id``) or the whole server (None)."""

    granted: bool
    persona_id: int | None
    recorded_at: datetime


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    reason: str


def may_remember(
    *,
    persona_id: int,
    persona_remembers: bool,
    server_default: str,
    facts: Sequence[ConsentFact],
) -> ConsentDecision:
    """The decision for one person and one persona (see the module's rule)."""
    if server_default not in SERVER_DEFAULTS:
        raise DomainError(f"The server's memory consent default must be one of: {', '.join(SERVER_DEFAULTS)}.")
    if server_default == "never":
        return ConsentDecision(False, "this server's admins chose that personas remember no one here")
    if not persona_remembers:
        return ConsentDecision(False, "this persona does not remember people")

    def latest(scope: int | None) -> ConsentFact | None:
        answers = [fact for fact in facts if fact.persona_id == scope]
        return max(answers, key=lambda fact: fact.recorded_at) if answers else None

    own, server = latest(persona_id), latest(None)
    # A server-wide refusal at the same instant as, or after, this persona's latest answer wins (forget-me).
    if server is not None and not server.granted and (own is None or server.recorded_at >= own.recorded_at):
        return ConsentDecision(False, "consent refused for this server")
    if own is not None:
        return ConsentDecision(own.granted, f"consent {'given' if own.granted else 'refused'} for this persona")
    if server is not None:
        return ConsentDecision(True, "consent given for this server")
    if server_default == "opt-out":
        return ConsentDecision(True, "the server remembers people unless they opt out")
    return ConsentDecision(False, "the server remembers only people who opted in")


def offer_due(
    *, server_mode: str, answered: bool, offer_answer: str | None, offered_at: datetime | None, now: datetime
) -> bool:
    """Whether a person is to be invited to choose (see the module's rule): ``answered`` when they have a consent
    record in this server; ``offer_answer`` / ``offered_at`` the last invitation's answer (None: unanswered) and
    when it was sent (None: never invited)."""
    if server_mode == "never" or answered:
        return False
    if offered_at is None:
        return True
    return offer_answer == "later" and now - offered_at >= REOFFER_AFTER


def mentioned_user_ids(text: str) -> list[int]:
    """The ids of the people ``text`` mentions (``<@id>`` or ``<@!id>``), each once, in order of appearance. A
    mention with an id no one can have (past 64 bits: typed by hand) names nobody."""
    found: list[int] = []
    for match in _USER_MENTION.finditer(text or ""):
        user_id = parse_id(match.group(1))
        if user_id is not None and user_id not in found:
            found.append(user_id)
    return found


def redact_mentions(text: str, keep: Callable[[int], bool], *, placeholder: str = UNNAMED) -> str:
    """``text`` with every mention of a person for whom ``keep(id)`` is false replaced by ``placeholder`` (so is a
    mention of an id no one can have)."""

    def replace(match: re.Match[str]) -> str:
        user_id = parse_id(match.group(1))
        return match.group(0) if user_id is not None and keep(user_id) else placeholder

    return _USER_MENTION.sub(replace, text or "")


@dataclass(frozen=True)
class MemoryNaming:
    """A memory's text as it may be stored, and the one other person it names (None: no one)."""

    text: str
    subject_user_id: int | None


def memory_naming(text: str, *, author_id: int | None, rememberable: Callable[[int], bool]) -> MemoryNaming:
    """What a memory written from ``text`` may keep (the module's "who a memory names"): ``rememberable(id)``
    says whether the persona may remember that person (this rule, for them)."""
    subject = next(
        (user_id for user_id in mentioned_user_ids(text) if user_id != author_id and rememberable(user_id)), None
    )
    kept = {author_id, subject} - {None}
    return MemoryNaming(redact_mentions(text, lambda user_id: user_id in kept), subject)
