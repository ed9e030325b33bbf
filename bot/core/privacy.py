"""Whether a persona may remember what a person says: one rule, applied wherever memories are made.

The rule, in order:
1. A persona whose privacy settings say it does not remember people remembers no one.
2. The person's latest consent record for this persona decides; failing that, their latest record for the whole
   server (a ``/privacy consent`` without a persona).
3. With no record, the server's default decides: ``opt-out`` servers remember people unless the persona asks first
   (then it asks once and remembers nothing until the person answers); ``opt-in`` servers remember no one who has not
   said yes (and a persona that asks first asks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.errors import DomainError

SERVER_DEFAULTS = ("opt-in", "opt-out")


@dataclass(frozen=True)
class ConsentFact:
    """One recorded answer: granted or revoked, for one persona (``persona_id``) or the whole server (None)."""

    granted: bool
    persona_id: int | None
    recorded_at: datetime


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    should_ask: bool
    reason: str


def may_remember(
    *,
    persona_id: int,
    persona_remembers: bool,
    persona_asks_first: bool,
    server_default: str,
    facts: Sequence[ConsentFact],
) -> ConsentDecision:
    """The decision for one person and one persona (see the module's rule)."""
    if server_default not in SERVER_DEFAULTS:
        raise DomainError(f"The server's memory consent default must be one of: {', '.join(SERVER_DEFAULTS)}.")
    if not persona_remembers:
        return ConsentDecision(False, False, "this persona does not remember people")
    for scope in (persona_id, None):
        answers = [fact for fact in facts if fact.persona_id == scope]
        if answers:
            latest = max(answers, key=lambda fact: fact.recorded_at)
            where = "for this persona" if scope is not None else "for this server"
            return ConsentDecision(latest.granted, False, f"consent {'given' if latest.granted else 'refused'} {where}")
    if server_default == "opt-out":
        if persona_asks_first:
            return ConsentDecision(False, True, "the persona asks before remembering anyone")
        return ConsentDecision(True, False, "the server remembers people unless they opt out")
    return ConsentDecision(False, persona_asks_first, "the server remembers only people who opted in")
