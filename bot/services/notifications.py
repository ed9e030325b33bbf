"""Notifications to followers: fan-out into the outbox, digests, and the plan the delivery loop sends.

**Fan-out.** A public timeline event of a published persona becomes one outbox row per follower who asked for that
kind of event (new posts, achievements, collaborations), written in the event's transaction with one idempotency
key per event and recipient (``timeline:<event>:<user>``). A row goes to the server's notifications channel
(``/admin channel notifications``), or by DM when the follower prefers it or the server has no channel.

**Digests.** Rows are due at the end of a window (``DIGEST_WINDOW_SECONDS``, aligned to the clock), so everything
for one follower within a window is due together, is claimed together, and becomes one message: one DM listing the
events, or one channel post per set of events mentioning (only) the followers who asked for them, at most
``MENTIONS_PER_POST`` per post. The owner hears of new followers the same way, in a slower digest.

**Exactly once.** A message is a *group* of rows. Its composition is frozen into the rows' payloads in the claim's
own transaction (``payload["group"] = {"nonce", "rows"}``) before anything is sent, and Discord's nonce is derived
from it. A delivery that is retried, or taken over after a crash (lease expiry, or :func:`release_claims` for a
dead local process), rebuilds the *same* message from the frozen group, every member included, and sends it with the
same nonce: Discord (``enforce_nonce``) returns the message it already created instead of a second one.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import models
from bot.services import outbox, subscriptions
from bot.services.outbox import OutboxItem

KIND_TIMELINE = "social.timeline"
KIND_NEW_FOLLOWER = "social.new_follower"
KINDS: tuple[str, ...] = (KIND_TIMELINE, KIND_NEW_FOLLOWER)

DIGEST_WINDOW_SECONDS = 60.0  # events for one follower within this window become one message
NEW_FOLLOWER_DIGEST_SECONDS = 900.0  # the owner hears of new followers at most this often
MENTIONS_PER_POST = 50  # followers mentioned in one channel post (50 mentions fit well inside 2,000 characters)
INSERT_CHUNK = 500  # fan-out rows per statement; the loop gets a turn between statements

# Which follow setting a timeline event kind answers to (everything else is a "new post").
TOPIC_BY_KIND: dict[str, str] = {
    "achievement": "achievements",
    "collaboration": "collaborations",
}
_TOPIC_COLUMN = {
    "new_posts": col(models.Follow.notify_new_posts),
    "achievements": col(models.Follow.notify_achievements),
    "collaborations": col(models.Follow.notify_collaborations),
}
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def topic_of(kind: str) -> str:
    """The follow setting (new_posts, achievements, collaborations) that governs timeline events of ``kind``."""
    return TOPIC_BY_KIND.get(kind, "new_posts")


def digest_due(now: datetime, window_seconds: float) -> datetime:
    """The end of the digest window ``now`` falls in (windows aligned to a fixed epoch, so every process agrees)."""
    if window_seconds <= 0:
        return now
    elapsed = (now - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=math.ceil(elapsed / window_seconds) * window_seconds)


@dataclass(frozen=True)
class FanOut:
    """What a fan-out addressed (``channel`` followers in the channel, ``dm`` by DM) and how many rows were new."""

    channel: int
    dm: int
    queued: int
    channel_id: int | None


async def notifications_channel(session: AsyncSession, guild_id: int | None) -> int | None:
    """The server's notifications channel (``/admin channel notifications``), if any."""
    if guild_id is None:
        return None
    query = select(col(models.GuildSettings.notifications_channel_id)).where(
        col(models.GuildSettings.guild_id) == guild_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def fan_out(
    session: AsyncSession,
    *,
    persona_id: int,
    event_id: int,
    kind: str,
    title: str,
    description: str = "",
    subscribers_only: bool = False,
    now: datetime,
) -> FanOut:
    """Queue a timeline event for the persona's followers who asked for its kind, in the caller's transaction.

    Only published personas notify. Idempotent: the same event queues nothing twice.
    """
    persona = (
        await session.execute(
            select(col(models.Persona.name), col(models.Persona.guild_id), col(models.Persona.is_public)).where(
                col(models.Persona.id) == persona_id
            )
        )
    ).first()
    if persona is None or not persona.is_public:
        return FanOut(0, 0, 0, None)
    wanted = _TOPIC_COLUMN[topic_of(kind)]
    query = (
        select(col(models.Follow.user_id), col(models.Follow.deliver_by_dm))
        .where(col(models.Follow.persona_id) == persona_id, wanted.is_(True))
        .order_by(col(models.Follow.user_id))
    )
    followers = (await session.execute(query)).all()
    if subscribers_only:
        allowed = await subscriptions.subscriber_ids(session, persona_id, [f.user_id for f in followers], now=now)
        followers = [f for f in followers if f.user_id in allowed]
    channel_id = await notifications_channel(session, persona.guild_id)
    due = digest_due(now, DIGEST_WINDOW_SECONDS)
    payload = {
        "persona_id": persona_id,
        "persona_name": persona.name,
        "event_id": event_id,
        "event_kind": kind,
        "title": title[:256],
        "description": (description or "")[:500],
    }
    rows: list[dict[str, Any]] = []
    dms = 0
    for follower in followers:
        by_dm = follower.deliver_by_dm or channel_id is None
        dms += by_dm
        rows.append(
            {
                "kind": KIND_TIMELINE,
                "idempotency_key": f"timeline:{event_id}:{follower.user_id}",
                "payload": payload,
                # DMs belong to no guild (shard 0 delivers them, as the outbox's shard rule says).
                "guild_id": None if by_dm else persona.guild_id,
                "channel_id": None if by_dm else channel_id,
                "recipient_user_id": follower.user_id,
                "deliver_after": due,
            }
        )
    new = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        if start:
            await asyncio.sleep(0)  # SQLite runs inline: let the loop breathe between chunks of a big fan-out
        new += await outbox.enqueue_many(session, rows[start : start + INSERT_CHUNK], now=now)
    return FanOut(channel=len(rows) - dms, dm=dms, queued=new, channel_id=channel_id)


async def new_follower(
    session: AsyncSession,
    *,
    follow_id: int,
    persona_id: int,
    persona_name: str,
    owner_id: int,
    follower_id: int,
    now: datetime,
) -> bool:
    """Tell the owner about a new follower, in a digest with the others of the same window (by DM)."""
    if follower_id == owner_id:
        return False
    return await outbox.enqueue(
        session,
        kind=KIND_NEW_FOLLOWER,
        idempotency_key=f"new-follower:{follow_id}",
        payload={"persona_id": persona_id, "persona_name": persona_name, "follower_id": follower_id},
        recipient_user_id=owner_id,
        deliver_after=digest_due(now, NEW_FOLLOWER_DIGEST_SECONDS),
        now=now,
    )


# ----------------------------------------------------------------------------------------------------
# Planning deliveries: groups of rows become messages


@dataclass(frozen=True)
class Entry:
    """One thing a message tells: a timeline event, or a new follower."""

    kind: str
    persona_id: int
    persona_name: str
    event_id: int | None = None
    event_kind: str | None = None
    title: str = ""
    description: str = ""
    follower_id: int | None = None


@dataclass(frozen=True)
class PlannedMessage:
    """One Discord message: to a channel (mentioning ``mentions``) or a DM to ``user_id``.

    ``row_ids`` are all rows the message stands for (some may be held by another worker); ``nonce`` is Discord's.
    """

    nonce: str
    kind: str
    channel_id: int | None
    user_id: int | None
    guild_id: int | None
    row_ids: tuple[int, ...]
    mentions: tuple[int, ...]
    entries: tuple[Entry, ...]

    @property
    def is_dm(self) -> bool:
        return self.channel_id is None

    @property
    def destination(self) -> tuple[str, int]:
        return ("dm", self.user_id or 0) if self.channel_id is None else ("channel", self.channel_id)


def group_nonce(row_ids: Sequence[int]) -> str:
    """Discord's nonce (at most 25 characters) for a message standing for exactly these rows."""
    text = "group:" + ",".join(str(i) for i in sorted(row_ids))
    return hashlib.sha256(text.encode()).hexdigest()[:25]


def _destination(item: OutboxItem) -> tuple[str, int | None, int | None]:
    if item.channel_id is not None:
        return (item.kind, item.channel_id, None)
    return (item.kind, None, item.recipient_user_id)


def group_items(items: Sequence[OutboxItem]) -> list[list[OutboxItem]]:
    """Split rows (without a frozen group) into messages. Pure and deterministic.

    - DMs: everything of one kind for one recipient is one message (the digest).
    - Channel posts: per channel, followers with the same set of events share posts, ``MENTIONS_PER_POST`` each.
    """
    by_destination: dict[tuple[str, int | None, int | None], list[OutboxItem]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i.id):
        by_destination[_destination(item)].append(item)
    groups: list[list[OutboxItem]] = []
    for (_, channel_id, _), rows in by_destination.items():
        if channel_id is None:
            groups.append(rows)
            continue
        per_user: dict[int | None, list[OutboxItem]] = defaultdict(list)
        for row in rows:
            per_user[row.recipient_user_id].append(row)
        by_events: dict[tuple[Any, ...], list[int | None]] = defaultdict(list)
        for user_id, user_rows in per_user.items():
            by_events[tuple(sorted(_entry_key(r.kind, r.id, r.payload) for r in user_rows))].append(user_id)
        for _, users in sorted(by_events.items()):
            users = sorted(users, key=lambda u: u or 0)
            for start in range(0, len(users), MENTIONS_PER_POST):
                chunk = users[start : start + MENTIONS_PER_POST]
                groups.append([row for user in chunk for row in per_user[user]])
    return groups


def _entry_key(kind: str, row_id: int, payload: Mapping[str, Any]) -> str:
    """What makes two rows the same news (for different recipients): the timeline event, else the row itself."""
    if kind == KIND_TIMELINE:
        return f"event:{payload.get('event_id')}"
    return f"row:{row_id}"


def _entry(kind: str, payload: Mapping[str, Any]) -> Entry:
    return Entry(
        kind=kind,
        persona_id=int(payload.get("persona_id") or 0),
        persona_name=str(payload.get("persona_name") or "A persona"),
        event_id=payload.get("event_id"),
        event_kind=payload.get("event_kind"),
        title=str(payload.get("title") or ""),
        description=str(payload.get("description") or ""),
        follower_id=payload.get("follower_id"),
    )


def _message(rows: Sequence[tuple[int, str, int | None, int | None, int | None, Mapping[str, Any]]]) -> PlannedMessage:
    """A message from its rows: (id, kind, guild_id, channel_id, recipient, payload), all of one group."""
    rows = sorted(rows, key=lambda r: r[0])
    first = rows[0]
    entries: dict[Any, Entry] = {}
    for row_id, kind, _, _, _, payload in rows:
        entries.setdefault(_entry_key(kind, row_id, payload), _entry(kind, payload))
    channel_id = first[3]
    return PlannedMessage(
        nonce=group_nonce([r[0] for r in rows]),
        kind=first[1],
        channel_id=channel_id,
        user_id=None if channel_id is not None else first[4],
        guild_id=first[2],
        row_ids=tuple(r[0] for r in rows),
        mentions=tuple(sorted({r[4] for r in rows if r[4] is not None})) if channel_id is not None else (),
        entries=tuple(sorted(entries.values(), key=lambda e: (e.event_id or 0, e.follower_id or 0))),
    )


async def prepare(session: AsyncSession, items: Sequence[OutboxItem]) -> list[PlannedMessage]:
    """The messages for freshly claimed rows; call it in the claim's transaction.

    Rows without a group get one (frozen into their payloads here, before anything is sent); rows with a group are
    sent as that group again, all its members included (those not claimed here are read back), with the same nonce.
    """
    fresh: list[OutboxItem] = []
    frozen: dict[tuple[int, ...], list[OutboxItem]] = defaultdict(list)
    for item in items:
        group = item.payload.get("group")
        if isinstance(group, dict):
            frozen[tuple(sorted(int(i) for i in group["rows"]))].append(item)
        else:
            fresh.append(item)

    updates: list[dict[str, Any]] = []
    messages: list[PlannedMessage] = []
    for group in group_items(fresh):
        ids = [item.id for item in group]
        marker = {"nonce": group_nonce(ids), "rows": ids}
        updates.extend({"row_id": item.id, "new_payload": {**item.payload, "group": marker}} for item in group)
        messages.append(
            _message([(i.id, i.kind, i.guild_id, i.channel_id, i.recipient_user_id, i.payload) for i in group])
        )
    if updates:
        table = outbox.TABLE
        statement = update(table).where(table.c.id == bindparam("row_id")).values(payload=bindparam("new_payload"))
        await session.execute(statement, updates)

    for member_ids, held in frozen.items():
        known = {item.id: item for item in held}
        missing = [i for i in member_ids if i not in known]
        rows = [(i.id, i.kind, i.guild_id, i.channel_id, i.recipient_user_id, i.payload) for i in held]
        if missing:
            message = models.OutboxMessage
            query = select(
                col(message.id),
                col(message.kind),
                col(message.guild_id),
                col(message.channel_id),
                col(message.recipient_user_id),
                col(message.payload),
            ).where(col(message.id).in_(missing))
            rows.extend(tuple(r) for r in (await session.execute(query)).all())
        messages.append(_message(rows))
    return messages


# ----------------------------------------------------------------------------------------------------
# Claims of processes that died


async def claim_holders(session: AsyncSession) -> list[str]:
    """Workers that hold claimed rows right now."""
    table = models.OutboxMessage
    query = (
        select(col(table.claimed_by))
        .distinct()
        .where(col(table.status) == outbox.CLAIMED, col(table.claimed_by).is_not(None))
    )
    return sorted(str(worker) for worker in (await session.execute(query)).scalars().all())


async def release_claims(session: AsyncSession, worker: str, *, now: datetime) -> int:
    """Hand rows claimed by ``worker`` back (it is known to be gone: a dead local process, or ourselves stopping),
    without waiting for their lease. Safe: a re-send reuses the frozen group's nonce."""
    table = models.OutboxMessage
    result = await session.execute(
        update(table)
        .where(col(table.status) == outbox.CLAIMED, col(table.claimed_by) == worker)
        .values(status=outbox.PENDING, claimed_by=None, next_attempt_at=now),
        execution_options={"synchronize_session": False},
    )
    assert isinstance(result, CursorResult)  # an UPDATE answers with a cursor result, which counts its rows
    return int(result.rowcount or 0)
