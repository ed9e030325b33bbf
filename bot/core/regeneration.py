"""Another take: who may ask a persona to answer a message again, and how often.

The person a reply answered, or the persona's owner, may ask (a 🔄 reaction on the reply, or the message command
"Another take"). A reply takes at most :data:`MAX_TAKES` new takes, and one person asks at most once per
:data:`COOLDOWN`, so nobody can keep a persona (and the model) busy re-answering. The sentences a refused person
reads are here, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.errors import DomainError

REGENERATE_EMOJI = "🔄"  # the reaction that asks for another take (never an emotional trigger)
MAX_TAKES = 3  # new takes per reply
COOLDOWN = timedelta(seconds=15)  # between one person's requests, whatever the reply

NOT_A_REPLY = "That message is not a persona's answer to someone, so there is no other take to ask for."
NOT_YOURS = "Only the person this reply answered, or {name}'s owner, can ask for another take."
NO_MORE_TAKES = "This reply has had its {limit} other takes already; write a new message instead."
TOO_SOON = "You asked for another take a moment ago; try again in {seconds} seconds."
BUSY = "{name} is speaking in this channel right now; ask again when it is done."
GONE = "The message this reply answered is gone, so there is nothing to answer again."
NOT_HERE = "{name} does not speak in this channel any more."
MODEL_FAILED = "The model could not give another take right now; the reply stays as it was."


def may_ask(actor_id: int, *, answered_author_id: int | None, owner_id: int) -> bool:
    """Whether ``actor_id`` may ask for another take of a reply to ``answered_author_id`` by a persona of
    ``owner_id``."""
    return actor_id == owner_id or (answered_author_id is not None and actor_id == answered_author_id)


def check_request(
    actor_id: int,
    *,
    answered_author_id: int | None,
    owner_id: int,
    persona_name: str,
    takes: int,
    last_asked: datetime | None,
    now: datetime,
) -> None:
    """Raise the :class:`DomainError` that refuses the request, or return: allowed (permission first, then the
    reply's bound, then the person's cool-down)."""
    if not may_ask(actor_id, answered_author_id=answered_author_id, owner_id=owner_id):
        raise DomainError(NOT_YOURS.format(name=persona_name))
    if takes >= MAX_TAKES:
        raise DomainError(NO_MORE_TAKES.format(limit=MAX_TAKES))
    if last_asked is not None and now - last_asked < COOLDOWN:
        wait = max(1, int((COOLDOWN - (now - last_asked)).total_seconds() + 0.999))
        raise DomainError(TOO_SOON.format(seconds=wait))
