"""Fan-out and delivery of follower notifications: the real bot against the sandbox.

Targets (issue 8): for a persona with 10,000 followers, the fan-out is in the outbox within 1 s of the event;
delivery runs at >= 90% of the rate limit the sandbox enforces; the event loop never stalls more than 50 ms
meanwhile (a ticker task measures the lag).

1. A published persona with 10,000 followers (bulk-inserted; the server's notifications channel set), on SQLite and
   on PostgreSQL when configured. The sandbox enforces ``RATE`` posts per second in that channel.
2. One public timeline event through ``timeline.record``: the time until its 10,000 outbox rows are committed.
3. The bot's delivery loop sends them (one post per ``MENTIONS_PER_POST`` followers, mentions limited to them);
   the rate is the steady one (posts after the first window / time from the first post to the last) against the
   limit, and every follower must be mentioned exactly once.
4. A ticker (every 5 ms) records how late it wakes, during the fan-out and the delivery (after ``gc.freeze()`` of
   the set-up's heap, as a long-running server would do after start-up).

Sandbox, gateway and bot share one process, one event loop and one core: the figures are lower bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import Counter
from typing import Any

from sqlalchemy import insert, update

from bench.common import database_kinds, fresh_database, note, percentile, report, running_bot
from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import guild_settings, notifications, personas, profiles, timeline
from bot.services.personas import Actor, PersonaInput

FOLLOWERS = 10_000
RATE = 20  # posts per second the sandbox allows in the notifications channel (10 windows for 200 posts)
ROUTE = "POST /channels/{channel_id}/messages"


class LagMeter:
    """How late a 5 ms ticker wakes: the event loop's stalls."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.period
            await asyncio.sleep(self.period)
            self.samples.append(max(0.0, loop.time() - expected) * 1000)

    def start(self) -> None:
        self.samples = []
        self._task = asyncio.create_task(self._tick())

    async def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.samples


async def _setup(bot: PersonaHubBot, sandbox: Sandbox) -> int:
    owner = Actor(sandbox.alice.id, sandbox.guild.id)
    now = utcnow()
    async with bot.db.transaction() as session:
        persona_id = (await personas.create(session, owner, PersonaInput(name="Nova"), now=utcnow())).id
        await profiles.publish(session, owner, persona_id, profiles.PublishSettings(), now=now)
        await guild_settings.set_channel(
            session,
            guild_id=sandbox.guild.id,
            can_manage_guild=True,
            kind="notifications",
            channel_id=sandbox.personas.id,
            now=now,
        )
    # Followers the sandbox knows (it resolves mentions of known users only).
    fans = [sandbox.state.add_user(f"fan{i}") for i in range(FOLLOWERS)]
    rows = [
        {
            "persona_id": persona_id,
            "user_id": fan.id,
            "guild_id": sandbox.guild.id,
            "notify_new_posts": True,
            "notify_achievements": True,
            "notify_collaborations": False,
            "deliver_by_dm": False,
            "followed_at": now,
        }
        for fan in fans
    ]
    for start in range(0, FOLLOWERS, 1000):
        async with bot.db.transaction() as session:
            await session.execute(insert(models.Follow), rows[start : start + 1000])
    async with bot.db.transaction() as session:
        await session.execute(
            update(models.Persona).where(models.Persona.id == persona_id).values(follower_count=FOLLOWERS)
        )
    return persona_id


async def run(kind: str) -> None:
    async with fresh_database(kind) as database, Sandbox() as sandbox:
        url = database.url if kind == "postgresql" else None
        sandbox.set_rate_limit(ROUTE, RATE, 1.0)
        notifications.DIGEST_WINDOW_SECONDS = 0.0  # measure delivery itself, not the digest wait
        posted: list[float] = []
        mentions: Counter[int] = Counter()
        create_message = sandbox.server.create_message

        def recording(channel: Any, author_id: int, *args: Any, **kwargs: Any) -> Any:
            message = create_message(channel, author_id, *args, **kwargs)
            if channel.id == sandbox.personas.id and author_id == sandbox.bot_user.id:
                posted.append(time.perf_counter())
                mentions.update(message.mention_ids)
            return message

        sandbox.server.create_message = recording  # type: ignore[method-assign]
        async with running_bot(sandbox, url) as bot:
            persona_id = await _setup(bot, sandbox)
            # The set-up's objects (10,000 sandbox users, the sandbox's and the bot's caches) are long-lived: move
            # them out of the collector's way, as a long-running server does after start-up. Without this, full
            # collections over that heap (not the fan-out or the delivery) stall the loop for 50-90 ms.
            gc.collect()
            gc.freeze()
            meter = LagMeter()
            meter.start()
            started = time.perf_counter()
            async with bot.db.transaction() as session:
                recorded = await timeline.record(
                    session, persona_id, "milestone", "A big day", is_public=True, now=utcnow()
                )
            fanned = time.perf_counter() - started
            fan_lag = list(meter.samples)
            assert recorded.fan_out is not None and recorded.fan_out.queued == FOLLOWERS, recorded.fan_out
            expected_posts = -(-FOLLOWERS // notifications.MENTIONS_PER_POST)
            with contextlib.suppress(Exception):  # a shortfall is reported below
                await sandbox.wait_until(lambda: len(mentions) >= FOLLOWERS, expected_posts / RATE * 3 + 30, "all")
            await asyncio.sleep(0.5)
            lag = await meter.stop()
        gc.unfreeze()
        done = len(mentions)
        duplicates = sum(1 for n in mentions.values() if n > 1)
        steady = (len(posted) - RATE) / (posted[-1] - posted[0]) if len(posted) > RATE else float("nan")
        note(
            f"{kind}: {FOLLOWERS} followers; fan-out {fanned * 1000:.0f} ms; {len(posted)} posts at a limit of "
            f"{RATE}/s; {done} followers mentioned, {duplicates} twice"
        )
        report(f"{kind}_fanout_10k_ms", fanned * 1000, "ms")
        report(f"{kind}_delivery_posts_per_s", steady, "posts/s")
        report(f"{kind}_delivery_share_of_rate_limit", 100 * steady / RATE, "%")
        report(f"{kind}_notifications_delivered", done, "followers")
        report(f"{kind}_fanout_loop_lag_max_ms", max(fan_lag or [0.0]), "ms")
        report(f"{kind}_loop_lag_max_ms", max(lag or [0.0]), "ms")
        report(f"{kind}_loop_lag_p99_ms", percentile(lag, 0.99) if lag else 0.0, "ms")
        if done != FOLLOWERS or duplicates:
            raise AssertionError(f"{done} of {FOLLOWERS} delivered, {duplicates} duplicates")


async def main() -> None:
    for kind in database_kinds():
        await run(kind)


if __name__ == "__main__":
    asyncio.run(main())
