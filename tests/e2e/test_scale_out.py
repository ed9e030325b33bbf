"""Two bot processes on one PostgreSQL database, split by Discord shard, against one sandbox (issue 10).

Each process receives only its shards' guilds; a persona made through one is usable through the other; a ceremony
scheduled while process A holds the scheduler runs exactly once after A is killed and B takes over.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.clock import utcnow
from bot.db import models
from bot.db.engine import Database
from bot.db.presence import LOCK_SPACE
from bot.runtime import scheduling
from bot.sandbox import Sandbox
from bot.services import bindings, personas, retirement
from bot.services.personas import Actor, PersonaInput

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SHARDS = 2


def shard_of(guild_id: int) -> int:
    return (guild_id >> 22) % SHARDS


async def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


def guilds_of_shard(sandbox: Sandbox, shard: int) -> set[int]:
    """The guilds the gateway sent to the live session of ``shard`` (GUILD_CREATE)."""
    found: set[int] = set()
    for session in sandbox.server.gateway.live_sessions():
        if session.shard_id != shard:
            continue
        for frame in session.buffer:
            event = json.loads(frame)
            if event.get("t") == "GUILD_CREATE":
                found.add(int(event["d"]["id"]))
    return found


class BotProcess:
    def __init__(self, name: str, shard: int, env: dict[str, str], log: Path) -> None:
        self.name, self.shard, self.env, self.log = name, shard, env, log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        handle = self.log.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--shards", str(self.shard), "--shard-count", str(SHARDS),
            cwd=self.log.parent, env=self.env, stdout=handle, stderr=handle,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def advisory_locks(database: Database) -> int:
    """Scheduler locks held (each process also holds its identity's lock, bot/db/presence.py: not counted)."""
    async with database.engine.connect() as connection:
        query = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            f"AND NOT (objsubid = 2 AND classid = {LOCK_SPACE}) "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return int((await connection.execute(query)).scalar_one())


@pytest.fixture
async def cluster(migrated_postgres: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    sandbox = Sandbox(point=False)
    second, second_channel = sandbox.add_guild_on_shard("Second", 1 - shard_of(sandbox.guild.id), SHARDS)
    await sandbox.start()
    database = Database(migrated_postgres)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "LLM_", "SHARD_"))},
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": sandbox.token,
        "DISCORD_API_URL": sandbox.server.api_url,
        "DATABASE_URL": migrated_postgres,
        "AUTO_MIGRATE": "false",
        "SCHEDULER_ENABLED": "true",
        "SCHEDULER_POLL_SECONDS": "1",
    }
    a = BotProcess("A", shard_of(sandbox.guild.id), env, tmp_path / "a.log")
    b = BotProcess("B", shard_of(second.id), env, tmp_path / "b.log")
    extra: list[BotProcess] = []
    try:
        await a.start()
        await wait_until(lambda: guilds_of_shard(sandbox, a.shard), 60, "process A on the gateway")
        await wait_until_async(lambda: advisory_locks(database), 30, "process A to take the scheduler lock")
        await b.start()
        await wait_until(lambda: guilds_of_shard(sandbox, b.shard), 60, "process B on the gateway")
        yield {"sandbox": sandbox, "a": a, "b": b, "second": second, "second_channel": second_channel,
               "database": database, "extra": extra}  # fmt: skip
    finally:
        for process in (a, b, *extra):
            await process.stop()
        await sandbox.stop()
        from tests.conftest import _empty_all_tables

        await _empty_all_tables(database)
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
        await database.dispose()


async def wait_until_async(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.2)


async def test_two_processes_split_by_shard_share_state_and_hand_over_the_scheduler(cluster: dict[str, Any]) -> None:
    sandbox: Sandbox = cluster["sandbox"]
    a: BotProcess = cluster["a"]
    b: BotProcess = cluster["b"]
    database: Database = cluster["database"]
    second, second_channel = cluster["second"], cluster["second_channel"]

    # Each process received only its shard's guild.
    assert guilds_of_shard(sandbox, a.shard) == {sandbox.guild.id}
    assert guilds_of_shard(sandbox, b.shard) == {second.id}
    assert await advisory_locks(database) == 1  # one scheduler for the two processes

    # A persona imported through A (its guild) is usable through B (the other guild): the state is shared.
    card = {"spec": "chara_card_v2", "spec_version": "2.0",
            "data": {"name": "Ada", "description": "A patient mathematician.", "personality": "curious"}}  # fmt: skip
    imported = await (await sandbox.slash(
        "persona import", in_channel=sandbox.personas, file=("ada.json", json.dumps(card).encode())
    )).message(timeout=30)  # fmt: skip
    assert "Imported **Ada**" in imported.content
    async with database.session() as session:
        (ada,) = [p.id for p in await personas.list_own(session, sandbox.alice.id, sandbox.guild.id)]
    shown = await (await sandbox.slash("persona show", in_channel=second_channel, persona=str(ada))).message(timeout=30)
    assert shown.embeds[0]["title"] == "Ada"

    # B keeps a copy of who speaks in its channel; a change made elsewhere (here: this process) reaches it by
    # LISTEN/NOTIFY. Scout answering proves B read the channel's cast; Echo, bound afterwards, answers too; renamed,
    # it answers under its new name.
    owner = Actor(sandbox.alice.id, second.id)
    chatty = {"cooldown_seconds": 0, "chattiness": 0}
    async with database.transaction() as session:
        scout = (await personas.create(session, owner, PersonaInput(name="Scout", behavior=chatty), now=utcnow())).id
        await bindings.activate(session, owner, scout, second_channel.id, channel_guild_id=second.id, now=utcnow())
    await sandbox.send(second_channel, "Scout, are you there?")
    await wait_until(lambda: _answers(sandbox, second_channel, "Scout"), 30, "Scout's answer through B")
    async with database.transaction() as session:
        echo = (await personas.create(session, owner, PersonaInput(name="Echo", behavior=chatty), now=utcnow())).id
        await bindings.activate(session, owner, echo, second_channel.id, channel_guild_id=second.id, now=utcnow())
    await sandbox.send(second_channel, "Echo, are you there?")
    await wait_until(lambda: _answers(sandbox, second_channel, "Echo"), 30, "Echo's answer: B heard of the binding")
    async with database.transaction() as session:
        await personas.update(session, owner, echo, PersonaInput(name="Echo Two"), now=utcnow())
    await sandbox.send(second_channel, "Echo Two, and now?")
    await wait_until(lambda: _answers(sandbox, second_channel, "Echo Two"), 30, "an answer under the new name")
    async with database.transaction() as session:
        for persona_id in (scout, echo):
            await personas.delete_persona(session, owner, persona_id)

    # A ceremony in B's guild, scheduled while A holds the scheduler ...
    owner = Actor(sandbox.alice.id, second.id)
    async with database.transaction() as session:
        vale = (await personas.create(session, owner, PersonaInput(name="Vale"), now=utcnow())).id
    when = utcnow() + timedelta(seconds=6)
    async with database.transaction() as session:
        await retirement.plan_retirement(
            session, owner, vale,
            retirement.PlanInput(when=when, ceremony_channel_id=second_channel.id, farewell_message="Farewell, all."),
            now=utcnow(), channel_postable=True,
        )  # fmt: skip
    store = scheduling.build_scheduler(database.url)
    store.start(paused=True)  # writes to the shared job store; runs nothing here
    scheduling.schedule_retirement_ceremony(store, vale, when)
    store.shutdown(wait=False)

    # ... and A dies before it is due. B takes the lock over and runs the ceremony, exactly once.
    await a.stop(signal.SIGKILL)
    farewells = lambda: [  # noqa: E731
        m for m in sandbox.history(second_channel) if m.author == "Vale" and "Farewell" in m.content
    ]
    await wait_until(farewells, 60, "the farewell in B's guild")
    await wait_until_async(lambda: _status(database, vale, "retired"), 30, "Vale to be retired")
    await asyncio.sleep(3)  # a second firing, if there were one, would post again meanwhile
    assert len(farewells()) == 1
    assert await advisory_locks(database) == 1

    # A new process takes A's shard (standing by for the scheduler, which B now runs).
    before = sessions_of_shard(sandbox, a.shard)
    a2 = BotProcess("A2", a.shard, a.env, a.log.with_name("a2.log"))
    cluster["extra"].append(a2)
    await a2.start()
    await wait_until(lambda: sessions_of_shard(sandbox, a.shard) > before, 60, "process A2 on the gateway")

    # 1,000 notifications for guilds on both shards: each delivered once, by the process serving its guild.
    await notify_followers(cluster, {sandbox.guild.id: sandbox.general.id, second.id: second_channel.id}, 500)
    await wait_until_async(lambda: outbox_sent(database, "social.timeline", 1000), 90, "1,000 notifications sent")
    async with database.session() as session:
        rows = (await session.execute(text(
            "SELECT guild_id, claimed_by FROM outbox WHERE kind = 'social.timeline'"
        ))).all()  # fmt: skip
    by_guild = {sandbox.guild.id: f":{a2.pid}", second.id: f":{b.pid}"}
    assert len(rows) == 1000 and all(claimed.endswith(by_guild[guild]) for guild, claimed in rows)
    mentioned = [
        user
        for request in sandbox.requests("POST")
        if request.json and (request.json.get("allowed_mentions") or {}).get("users")
        for user in request.json["allowed_mentions"]["users"]
    ]
    assert len(mentioned) == 1000 and len(set(mentioned)) == 1000  # every follower once, nobody twice

    # A ceremony in A2's guild fired by B's scheduler is handed over through the outbox and held by A2.
    owner = Actor(sandbox.alice.id, sandbox.guild.id)
    async with database.transaction() as session:
        iris = (await personas.create(session, owner, PersonaInput(name="Iris"), now=utcnow())).id
        when = utcnow() + timedelta(seconds=2)
        await retirement.plan_retirement(
            session, owner, iris,
            retirement.PlanInput(when=when, ceremony_channel_id=sandbox.personas.id, farewell_message="Farewell, all."),
            now=utcnow(), channel_postable=True,
        )  # fmt: skip
    store = scheduling.build_scheduler(database.url)
    store.start(paused=True)
    scheduling.schedule_retirement_ceremony(store, iris, when)
    store.shutdown(wait=False)
    goodbyes = lambda: [  # noqa: E731
        m for m in sandbox.history(sandbox.personas) if m.author == "Iris" and "Farewell" in m.content
    ]
    await wait_until(goodbyes, 60, "the farewell in A2's guild")
    await wait_until_async(lambda: _status(database, iris, "retired"), 30, "Iris to be retired")
    async with database.session() as session:
        handed = (await session.execute(text(
            "SELECT claimed_by, status FROM outbox WHERE kind = 'ceremony'"
        ))).all()  # fmt: skip
    assert len(handed) == 1 and handed[0].status == "sent" and f":{a2.pid}:" in handed[0].claimed_by
    await asyncio.sleep(2)
    assert len(goodbyes()) == 1


def _answers(sandbox: Sandbox, channel: Any, author: str) -> list[Any]:
    return [m for m in sandbox.history(channel) if m.author == author]


def sessions_of_shard(sandbox: Sandbox, shard: int) -> int:
    return sum(1 for session in sandbox.server.gateway.sessions.values() if session.shard_id == shard)


async def outbox_sent(database: Database, kind: str, count: int) -> bool:
    async with database.session() as session:
        sent = (await session.execute(
            text("SELECT count(*) FROM outbox WHERE kind = :kind AND status = 'sent'"), {"kind": kind}
        )).scalar_one()  # fmt: skip
    return int(sent) >= count


async def notify_followers(cluster: dict[str, Any], channels: dict[int, int], followers: int) -> None:
    """A published persona in each guild, ``followers`` followers each, and one public timeline event each."""
    from bot.services import guild_settings, notifications, profiles, timeline

    database: Database = cluster["database"]
    sandbox: Sandbox = cluster["sandbox"]
    # An event on a digest-window boundary is due at once (digests collect what falls in one window).
    now = notifications.digest_due(
        utcnow() - timedelta(seconds=notifications.DIGEST_WINDOW_SECONDS), notifications.DIGEST_WINDOW_SECONDS
    )
    for index, (guild_id, channel_id) in enumerate(channels.items()):
        owner = Actor(sandbox.alice.id, guild_id, can_manage_guild=True)
        async with database.transaction() as session:
            persona_id = (await personas.create(session, owner, PersonaInput(name=f"Star {index}"), now=utcnow())).id
            await profiles.publish(session, owner, persona_id, profiles.PublishSettings(), now=now)
            await guild_settings.set_channel(
                session, guild_id=guild_id, can_manage_guild=True, kind="notifications", channel_id=channel_id, now=now
            )
            await session.execute(
                models.Follow.__table__.insert(),
                [{"persona_id": persona_id, "user_id": 7_000_000_000_000 + index * 10_000 + n, "guild_id": guild_id,
                  "notify_new_posts": True, "notify_achievements": True, "notify_collaborations": False,
                  "deliver_by_dm": False, "followed_at": now} for n in range(followers)],
            )  # fmt: skip
        async with database.transaction() as session:
            await timeline.record(session, persona_id, "milestone", "A milestone", is_public=True, now=now)


async def _status(database: Database, persona_id: int, wanted: str) -> bool:
    async with database.session() as session:
        return (await personas.get(session, persona_id)).status == wanted
