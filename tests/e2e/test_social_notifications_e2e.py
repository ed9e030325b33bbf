"""Following and notifications end to end: the real bot against the sandbox.

- /admin channel, /follow (with settings, the seed's errors), an achievement reaching exactly the followers who
  asked for it: one channel post mentioning only them (``allowed_mentions`` limited to them), and a DM;
  /timeline, /achievements, /following, /unfollow.
- Five events for one follower within the digest window: one DM.
- ``python -m bot run`` killed with SIGKILL in the middle of delivering 2,000 notifications, then started again:
  every notification arrives exactly once (message nonces with ``enforce_nonce``; the sandbox enforces them).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.clock import utcnow
from bot.db import migrate, models
from bot.db.engine import Database, make_engine
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted
from bot.services import achievements, follows, guild_settings, notifications, outbox, personas, profiles, timeline
from bot.services.follows import NotificationSettings
from bot.services.personas import Actor, PersonaInput
from tests.support.follows import follow_rows
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
MENTION = re.compile(r"<@!?(\d+)>")


async def _published(database: Database, owner: int, guild: int, name: str = "Nova") -> int:
    actor = Actor(user_id=owner, guild_id=guild)
    async with database.transaction() as session:
        record = await personas.create(session, actor, PersonaInput(name=name), now=utcnow())
        await profiles.publish(session, actor, record.id, profiles.PublishSettings(), now=utcnow())
    return record.id


def _no_follower_achievements(session: Any, persona_id: int) -> None:
    """Follows announce nothing of their own in these tests (the follower achievements are already had)."""
    for key in ("first_follower", "followers_10", "followers_100"):
        session.add(models.AchievementAward(persona_id=persona_id, achievement_key=key, awarded_at=utcnow()))


def _bot_posts(sandbox: Sandbox, channel: Any, text: str) -> list[Posted]:
    return [p for p in sandbox.history(channel) if p.is_bot and text in p.content]


async def test_an_achievement_reaches_the_followers_who_asked_in_the_channel_and_by_dm(
    sandbox: Sandbox, running_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "DIGEST_WINDOW_SECONDS", 0.0)  # deliver at once in this test
    db: Database = running_bot.db
    carol, dave, erin = sandbox.add_user("carol"), sandbox.add_user("dave"), sandbox.add_user("erin")
    nova = await _published(db, sandbox.alice.id, sandbox.guild.id)
    quiet_actor = Actor(sandbox.alice.id, sandbox.guild.id)
    async with db.transaction() as session:
        quiet = (await personas.create(session, quiet_actor, PersonaInput(name="Quiet"), now=utcnow())).id
        _no_follower_achievements(session, nova)

    set_channel = await sandbox.slash("admin channel", kind="notifications", channel=sandbox.personas)
    assert "now go to" in (await set_channel.message()).content

    answer = await (await sandbox.slash("follow", as_user=sandbox.bob, persona=str(nova))).message()
    assert "You now follow **Nova**" in answer.content and answer.ephemeral
    await (await sandbox.slash("follow", as_user=carol, persona=str(nova), achievements=False)).message()
    await (await sandbox.slash("follow", as_user=dave, persona=str(nova), by_dm=True)).message()
    await (await sandbox.slash("follow", as_user=erin, persona=str(nova))).message()

    again = await (await sandbox.slash("follow", as_user=sandbox.bob, persona=str(nova))).message()
    assert "You already follow this persona" in again.content
    refused = await (await sandbox.slash("follow", as_user=sandbox.bob, persona=str(quiet))).message()
    assert "This persona is not public" in refused.content
    async with db.session() as session:
        assert (await personas.get(session, nova)).follower_count == 4 == await follow_rows(session, nova)

    # The persona's first conversation: an achievement, announced on the timeline, told to its followers.
    async with db.transaction() as session:
        await session.execute(update(models.Persona).where(models.Persona.id == nova).values(interaction_count=1))
        awarded = await achievements.check(session, nova, utcnow(), inputs_changed={"conversations"})
    assert [a.key for a in awarded] == ["first_conversation"]

    post = await sandbox.wait_for_message(
        sandbox.personas, predicate=lambda p: "First conversation" in p.content, timeout=10
    )
    assert sorted(post.message.mention_ids) == sorted([sandbox.bob.id, erin.id])  # carol opted out, dave uses DMs
    request = next(
        r
        for r in sandbox.requests("POST", "/channels/{channel_id}/messages")
        if "First conversation" in (r.json or {}).get("content", "")
    )
    allowed = request.json["allowed_mentions"]
    assert sorted(int(u) for u in allowed["users"]) == sorted([sandbox.bob.id, erin.id])
    assert allowed["parse"] == [] and not allowed.get("roles")
    assert request.json.get("enforce_nonce") is True and request.json.get("nonce")

    await sandbox.wait_until(
        lambda: any("First conversation" in p.content for p in sandbox.dms(dave)), 10, "the DM to dave"
    )
    assert not any("First conversation" in p.content for p in sandbox.dms(carol))
    assert len(_bot_posts(sandbox, sandbox.personas, "First conversation")) == 1

    shown = await (await sandbox.slash("timeline", as_user=carol, persona=str(nova))).message()
    assert any("First conversation" in f["name"] for f in shown.embeds[0]["fields"])
    listed = await (await sandbox.slash("achievements", as_user=carol, persona=str(nova))).message()
    assert any("First conversation" in f["name"] for f in listed.embeds[0]["fields"])

    changed = await (await sandbox.slash("follow", as_user=carol, persona=str(nova), achievements=True)).message()
    assert "Updated your notifications" in changed.content
    mine = await (await sandbox.slash("following", as_user=carol)).message()
    assert "achievements: **on**" in mine.embeds[0]["fields"][0]["value"]
    left = await (await sandbox.slash("unfollow", as_user=erin, persona=str(nova))).message()
    assert "no longer follow" in left.content
    async with db.session() as session:
        assert (await personas.get(session, nova)).follower_count == 3 == await follow_rows(session, nova)


async def test_five_events_for_one_follower_within_the_window_are_one_dm(
    sandbox: Sandbox, running_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = 2.0
    monkeypatch.setattr(notifications, "DIGEST_WINDOW_SECONDS", window)
    db: Database = running_bot.db
    nova = await _published(db, sandbox.alice.id, sandbox.guild.id)
    async with db.transaction() as session:
        _no_follower_achievements(session, nova)
        await follows.follow(
            session, user_id=sandbox.bob.id, persona_id=nova, now=utcnow(), settings=NotificationSettings(by_dm=True)
        )
    # Start right after a window opens, so all five land in the same one.
    opened = notifications.digest_due(utcnow(), window)
    await asyncio.sleep(max(0.0, (opened - utcnow()).total_seconds()) + 0.05)
    for index in range(5):
        async with db.transaction() as session:
            await timeline.record(session, nova, "post", f"Post number {index}", is_public=True, now=utcnow())

    await sandbox.wait_until(
        lambda: any("Post number" in p.content for p in sandbox.dms(sandbox.bob)), window + 5, "the digest"
    )
    await asyncio.sleep(1.0)  # anything else would have arrived by now
    digests = [p for p in sandbox.dms(sandbox.bob) if "Post number" in p.content]
    assert len(digests) == 1
    assert all(f"Post number {i}" in digests[0].content for i in range(5))


# --------------------------------------------------------------------------------------------------- SIGKILL


def _delivered_pairs(sandbox: Sandbox, channel_id: int, titles: list[str]) -> Counter[tuple[str, int]]:
    """(event title, user) for every notification that reached someone: a mention in a channel post, or a DM."""
    pairs: Counter[tuple[str, int]] = Counter()
    for message in sandbox.state.messages.values():
        if message.author_id != sandbox.bot_user.id or message.deleted:
            continue
        said = [t for t in titles if t in message.content]
        if message.channel_id == channel_id:
            users = list(message.mention_ids)
        else:
            channel = sandbox.state.channels[message.channel_id]
            users = [u for u in channel.recipients if u != sandbox.bot_user.id]
        for title in said:
            for user in users:
                pairs[(title, user)] += 1
    return pairs


async def _start(sandbox: Sandbox, tmp_path: Path, database: Path) -> asyncio.subprocess.Process:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "LLM_"))},
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": sandbox.token,
        "DISCORD_API_URL": sandbox.server.api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "SCHEDULER_ENABLED": "false",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.slow
async def test_a_sigkill_mid_delivery_then_a_restart_delivers_every_notification_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "DIGEST_WINDOW_SECONDS", 0.0)
    followers, dm_followers, titles = 950, 50, ["Spring concert", "Summer fair"]
    async with Sandbox(point=False) as sandbox:
        channel = sandbox.personas
        # Slow enough to be killed mid-way: 10 posts a second in the notifications channel.
        sandbox.set_rate_limit("POST /channels/{channel_id}/messages", 10, 1.0)
        users = [sandbox.state.add_user(f"fan{i}") for i in range(followers + dm_followers)]

        path = tmp_path / "bot.db"
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()
        database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            nova = await _published(database, sandbox.alice.id, sandbox.guild.id)
            now = utcnow()
            async with database.transaction() as session:
                await guild_settings.set_channel(
                    session,
                    guild_id=sandbox.guild.id,
                    can_manage_guild=True,
                    kind="notifications",
                    channel_id=channel.id,
                    now=now,
                )
                _no_follower_achievements(session, nova)
            async with database.transaction() as session:
                for index, user in enumerate(users):
                    settings = NotificationSettings(by_dm=index >= followers)
                    await follows.follow(session, user_id=user.id, persona_id=nova, now=now, settings=settings)
                for title in titles:
                    await timeline.record(session, nova, "milestone", title, is_public=True, now=now)
            async with database.session() as session:
                queued = (await outbox.counts(session)).get("pending", 0)
        finally:
            await database.dispose()
        expected = {(title, user.id) for title in titles for user in users}
        assert len(expected) == 2_000 and queued >= 2_000

        # SIGKILL the bot the moment the sandbox has created its 13th channel post, before answering it: that
        # post is on Discord but its rows are not marked sent, the worst moment (other sends are in flight too).
        first = await _start(sandbox, tmp_path, path)
        create_message = sandbox.server.create_message

        def create_and_kill(c: Any, author_id: int, *args: Any, **kwargs: Any) -> Any:
            created = create_message(c, author_id, *args, **kwargs)
            if c.id == channel.id and len(_bot_posts(sandbox, channel, "")) == 13 and first.returncode is None:
                first.send_signal(signal.SIGKILL)
            return created

        sandbox.server.create_message = create_and_kill  # type: ignore[method-assign]
        try:
            await eventually(
                lambda: first.returncode is not None, "the first deliveries and the kill", timeout=60, interval=0.05
            )
            await first.wait()
        finally:
            sandbox.server.create_message = create_message  # type: ignore[method-assign]
            if first.returncode is None:
                first.kill()
                await first.wait()
        before = _delivered_pairs(sandbox, channel.id, titles)
        assert 0 < sum(before.values()) < 2_000

        second = await _start(sandbox, tmp_path, path)
        try:
            await eventually(
                lambda: set(_delivered_pairs(sandbox, channel.id, titles)) >= expected,
                "every notification",
                timeout=90,
                interval=0.05,
            )
            await asyncio.sleep(1.5)  # a duplicate, if any, would arrive now
            delivered = _delivered_pairs(sandbox, channel.id, titles)
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
        assert b"Traceback" not in stderr, stderr.decode()[-3000:]
        # The killed post was sent again after the restart with the same nonce, and Discord returned it.
        nonces = Counter(
            (r.json or {}).get("nonce") for r in sandbox.requests("POST", "/channels/{channel_id}/messages")
        )
        assert max(nonces.values()) >= 2
        assert set(delivered) == expected
        assert max(delivered.values()) == 1, [pair for pair, n in delivered.items() if n > 1][:5]
        assert sum(delivered.values()) == 2_000

    check = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with check.session() as session:
            query = select(models.OutboxMessage.status, func.count()).where(
                models.OutboxMessage.kind == notifications.KIND_TIMELINE
            )
            statuses = dict((await session.execute(query.group_by(models.OutboxMessage.status))).all())
    finally:
        await check.dispose()
    assert statuses == {"sent": 2_000}


async def test_the_sandbox_enforces_message_nonces(sandbox: Sandbox, discord_client: Any) -> None:
    client = await discord_client()
    channel = client.get_channel(sandbox.general.id)
    first = await channel.send("once", nonce="n-1")  # discord.py sends enforce_nonce with a nonce
    again = await channel.send("twice?", nonce="n-1")
    other = await channel.send("another", nonce="n-2")
    assert again.id == first.id and again.content == "once"
    assert other.id != first.id
    assert [p.content for p in sandbox.history(sandbox.general)] == ["once", "another"]
