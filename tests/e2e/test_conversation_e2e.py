"""Chat end to end: the real bot against the sandbox, a real SQLite file, and models through the fake
OpenAI-compatible server on loopback (or the offline responder when none is configured)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted
from bot.sandbox.state import P
from bot.services import bindings, consent, memories, personas
from bot.services.personas import Actor, PersonaInput
from tests.fakes.model_server import FakeModelServer, hang, reply, status, tool_call
from tests.support.bots import bot_on
from tests.support.reading import count, dms_besides_invitations
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

AVATAR = "https://example.org/ada.png"
FAST = {"cooldown_seconds": 0, "chattiness": 0}


# --------------------------------------------------------------------------------------------------- helpers


async def persona_in(
    bot: PersonaHubBot,
    sandbox: Sandbox,
    name: str = "Ada",
    *,
    channel_id: int | None = None,
    owner_id: int | None = None,
    behavior: dict[str, Any] | None = None,
    **data: Any,
) -> int:
    """A persona of alice (by default), active in #general (by default)."""
    owner = owner_id or sandbox.alice.id
    actor = Actor(owner, sandbox.guild.id)
    async with bot.db.transaction() as session:
        record = await personas.create(
            session,
            actor,
            PersonaInput(name=name, avatar_url=AVATAR, behavior={**FAST, **(behavior or {})}, **data),
            now=utcnow(),
        )
        await bindings.activate(
            session, actor, record.id, channel_id or sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
        )
    return record.id


def persona_posts(sandbox: Sandbox, name: str, channel: Any = None) -> list[Posted]:
    return [p for p in sandbox.history(channel or sandbox.general) if p.author == name and p.webhook_id]


async def answer_from(
    bot: PersonaHubBot, sandbox: Sandbox, name: str = "Ada", *, channel: Any = None, after: Any = None
) -> Posted:
    """The persona's next message, once complete (streamed replies are recorded after their final edit)."""
    first = await sandbox.wait_for_message(channel or sandbox.general, author=name, after=after, timeout=10)
    await eventually(
        lambda: count(bot, models.PersonaMessage, models.PersonaMessage.message_id == first.id),
        "the reply recorded",
        timeout=10,
    )
    return sandbox.posted(sandbox.state.messages[first.id])


def system_prompt(body: dict[str, Any]) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "system")


# --------------------------------------------------------------------------------------------------- speaking


async def test_a_persona_answers_under_its_name_and_avatar_and_remembers_a_consenting_author(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.script(reply("Lovely to meet you, Alice."))
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        async with bot.db.transaction() as session:
            await consent.record(
                session, user_id=sandbox.alice.id, guild_id=sandbox.guild.id, granted=True,
                recorded_by=sandbox.alice.id, now=utcnow(),
            )  # fmt: skip
        await sandbox.send(sandbox.general, "Hello Ada, my name is Alice and I love sailing!")
        answer = await answer_from(bot, sandbox)
        assert answer.content == "Lovely to meet you, Alice."
        assert answer.webhook_id is not None and answer.avatar_url == AVATAR
        # The webhook is stored, the message is the persona's, and the exchange became a memory.
        async with bot.db.session() as session:
            hook = await session.get(models.ChannelWebhook, sandbox.general.id)
        assert hook is not None and hook.webhook_id == answer.webhook_id
        await eventually(
            lambda: count(bot, models.Memory, models.Memory.persona_id == persona_id),
            "the exchange's memory",
            timeout=5,
        )
        assert await count(bot, models.PersonaMessage, models.PersonaMessage.message_id == answer.id) == 1
        async with bot.db.session() as session:
            memory = (await session.execute(select(models.Memory))).scalar_one()
            tie = (await session.execute(select(models.PersonRelationship))).scalar_one()
            persona = await session.get(models.Persona, persona_id)
        assert "sailing" in memory.content and memory.source_user_id == sandbox.alice.id
        assert memory.importance >= 7  # addressed, self-disclosure, feeling
        assert tie.user_id == sandbox.alice.id and tie.messages_exchanged == 2 and tie.affinity > 0
        assert persona is not None and persona.interaction_count == 1
        # The prompt carried the persona and the message.
        body = model_server.requests[-1]
        assert "You are Ada" in system_prompt(body)
        asked = [m for m in body["messages"] if m["role"] == "user"][-1]
        assert asked["content"].startswith("Alice: Hello Ada") and asked["name"] == "Alice"


async def test_streaming_edits_the_message_at_most_once_a_second_and_ends_complete(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    words = [f"word{i} " for i in range(30)]
    full = "".join(words).strip()
    model_server.script(reply(full, chunks=words, chunk_delay=0.1))
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        started = asyncio.get_running_loop().time()
        await sandbox.send(sandbox.general, "Ada, count for me")
        first = await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)
        await sandbox.wait_until(
            lambda: sandbox.state.messages[first.id].content == full, 15, "the final text in the streamed message"
        )
        elapsed = asyncio.get_running_loop().time() - started
    route = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
    edits = sandbox.requests("PATCH", route)
    assert edits, "the streamed message was never edited"
    assert all(r.json.get("allowed_mentions") == {"parse": []} for r in edits)
    assert edits[-1].json["content"] == full
    assert len(edits) <= elapsed + 2  # at most about one a second (plus the final edit)
    gaps = [b.at - a.at for a, b in itertools.pairwise(edits[:-1])]
    assert all(gap >= 0.9 for gap in gaps), gaps
    assert model_server.requests[-1]["stream"] is True
    assert len(persona_posts(sandbox, "Ada")) == 1
    assert sandbox.requests("POST", "/channels/{channel_id}/typing")  # typing shown while the model worked


async def test_a_model_reply_with_everyone_and_a_role_mention_pings_no_one(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    role = sandbox.add_role("Moderators")
    text = f"@everyone look! <@&{role.id}> and <@{sandbox.bob.id}> come here"
    model_server.script(reply(text))
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, shout something")
        answer = await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)
        await sandbox.wait_until(lambda: sandbox.state.messages[answer.id].content == text, 10, "the final text")
    executions = sandbox.requests("POST", "/webhooks/{webhook_id}/{webhook_token}")
    assert executions
    for record in executions + sandbox.requests(
        "PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
    ):
        mentions = record.json["allowed_mentions"]
        assert mentions == {"parse": []} and "roles" not in mentions and "users" not in mentions
    message = sandbox.state.messages[answer.id]
    assert not message.mention_everyone and not message.mention_role_ids and not message.mention_ids


async def test_the_model_down_or_slow_gives_an_in_character_apology_and_the_bot_keeps_serving(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.script(status(500), status(500), status(500), hang())
    async with bot_on(sandbox, database_file, model_server, llm_timeout_seconds=1.5) as bot:
        await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, are you there?")
        sorry = await answer_from(bot, sandbox)
        assert "can't answer right now" in sorry.content and "Traceback" not in sorry.content
        about = await (await sandbox.slash("about")).message(timeout=5)
        assert about.embeds
        await sandbox.send(sandbox.general, "Ada, hello again?")
        again = await answer_from(bot, sandbox, after=sorry.id)  # the hang: the deadline ends it
        assert "can't answer right now" in again.content
        # The owner hears why, once per kind of error.
        await sandbox.wait_until(
            lambda: dms_besides_invitations(sandbox, sandbox.alice), 5, "a direct message to the owner"
        )
        notes = [p.content for p in dms_besides_invitations(sandbox, sandbox.alice)]
        assert any("failing" in n or "cannot be reached" in n for n in notes), notes
        assert any("in time" in n for n in notes), notes
        model_server.script(reply("Back again!"))
        await sandbox.send(sandbox.general, "Ada?")
        back = await answer_from(bot, sandbox, after=again.id)
        assert back.content == "Back again!"


async def test_an_opted_out_author_is_never_stored(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox, privacy={"ask_before_remembering": False})
        async with bot.db.transaction() as session:
            settings = models.GuildSettings(guild_id=sandbox.guild.id, memory_consent_default="opt-out")
            session.add(settings)
            await consent.record(
                session, user_id=sandbox.bob.id, guild_id=sandbox.guild.id, granted=False,
                recorded_by=sandbox.bob.id, now=utcnow(),
            )  # fmt: skip
        await sandbox.send(sandbox.general, "Ada, my secret is that I love pineapple pizza", author=sandbox.bob)
        first = await answer_from(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, I moved to Lisbon last week!", author=sandbox.alice)
        await sandbox.wait_for_message(sandbox.general, author="Ada", after=first.id, timeout=10)
        await eventually(
            lambda: count(bot, models.Memory, models.Memory.persona_id == persona_id), "alice's memory", timeout=5
        )
        await asyncio.sleep(0.2)
        assert await count(bot, models.Memory, models.Memory.source_user_id == sandbox.bob.id) == 0
        async with bot.db.session() as session:
            contents = list((await session.execute(select(models.Memory.content))).scalars())
        assert len(contents) == 1 and "Lisbon" in contents[0] and "pineapple" not in " ".join(contents)


async def test_retrieval_puts_the_memory_the_formula_prefers_first_in_the_prompt(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        now = utcnow()
        async with bot.db.transaction() as session:
            # Equally relevant to "lighthouse"; the first is important and fresh, the second trivial and stale.
            for content, importance, age in (
                ("Alice loves the old lighthouse by the harbour", 9, timedelta(hours=1)),
                ("Someone mentioned a lighthouse once", 2, timedelta(days=20)),
            ):
                memory = await memories.capture(
                    session, persona_id, content=content, category="conversation", importance=importance,
                    source_user_id=None, source_channel_id=None, source_message_id=None, now=now - age,
                )  # fmt: skip
                assert memory.id is not None
        await sandbox.send(sandbox.general, "Ada, tell me about the lighthouse")
        await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)
        prompt = system_prompt(model_server.requests[-1])
        preferred = prompt.index("Alice loves the old lighthouse")
        other = prompt.index("Someone mentioned a lighthouse")
        assert preferred < other

        async def both_recalled() -> bool:
            async with bot.db.session() as session:
                query = select(models.Memory.access_count).where(
                    models.Memory.persona_id == persona_id, models.Memory.content.contains("lighthouse")
                )
                return list((await session.execute(query)).scalars()) == [1, 1]

        # The memories the reply drew on are marked recalled once the exchange is recorded (after the reply).
        await eventually(both_recalled, "the retrieved memories to be marked recalled", timeout=5)


async def test_a_webhook_deleted_by_a_moderator_is_recreated_and_stored(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, hi")
        first = await answer_from(bot, sandbox)
        old = first.webhook_id
        assert old is not None
        del sandbox.state.webhooks[old]  # a moderator deleted it
        await sandbox.send(sandbox.general, "Ada, still there?")
        second = await sandbox.wait_for_message(sandbox.general, author="Ada", after=first.id, timeout=10)
        assert second.webhook_id not in (None, old) and second.webhook_id in sandbox.state.webhooks
        async with bot.db.session() as session:
            stored = await session.get(models.ChannelWebhook, sandbox.general.id)
        assert stored is not None and stored.webhook_id == second.webhook_id


async def test_two_personas_in_one_channel_stop_after_the_exchange_depth(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.default = reply("Interesting! What do you think?")
    async with bot_on(sandbox, database_file, model_server) as bot:
        chatty = {"chattiness": 100, "max_persona_exchange_depth": 3}
        await persona_in(bot, sandbox, "Ada", behavior=chatty)
        await persona_in(bot, sandbox, "Grace", owner_id=sandbox.bob.id, behavior=chatty)
        await sandbox.send(sandbox.general, "What a day.")
        await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)
        await asyncio.sleep(2.0)
        posts = [p for p in sandbox.history(sandbox.general) if p.webhook_id]
        # One volunteer answers the person; then persona messages in a row stop at the depth (3 in all).
        assert len(posts) == 3, [str(p) for p in posts]
        authors = [p.author for p in posts]
        assert all(a != b for a, b in itertools.pairwise(authors))  # they take turns
        assert await count(bot, models.PersonaMessage) == 3


async def test_the_offline_responder_answers_with_no_model_configured(sandbox: Sandbox, database_file: Path) -> None:
    async with bot_on(sandbox, database_file) as bot:
        await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Hello Ada!")
        answer = await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)
        assert answer.content and answer.webhook_id is not None


async def test_the_offline_responder_names_a_remembered_cat_and_answers_from_the_description(
    sandbox: Sandbox, database_file: Path
) -> None:
    description = "Ada is a retired lighthouse keeper from Cornwall. She tends a greenhouse full of ferns."
    async with bot_on(sandbox, database_file) as bot:
        persona_id = await persona_in(bot, sandbox, description=description)
        async with bot.db.transaction() as session:
            await consent.record(
                session, user_id=sandbox.alice.id, guild_id=sandbox.guild.id, granted=True,
                recorded_by=sandbox.alice.id, now=utcnow(),
            )  # fmt: skip
            for content in ("Alice loves sailing on Sundays", "Alice said: “My cat Biscuit keeps stealing my socks!”"):
                await memories.capture(
                    session, persona_id, content=content, category="conversation", importance=8,
                    source_user_id=sandbox.alice.id, source_channel_id=sandbox.general.id, source_message_id=None,
                    now=utcnow() - timedelta(days=2),
                )  # fmt: skip
        await sandbox.send(sandbox.general, "Ada, do you remember my cat?")
        cat = await answer_from(bot, sandbox)
        assert "Biscuit" in cat.content and "sailing" not in cat.content
        await sandbox.send(sandbox.general, "what is your favourite plant, Ada?")
        plant = await answer_from(bot, sandbox, after=cat.id)
        assert "I tend a greenhouse full of ferns." in plant.content


async def test_a_tool_call_round_trips(sandbox: Sandbox, database_file: Path, model_server: FakeModelServer) -> None:
    model_server.script(tool_call(("roll_dice", {"notation": "2d6"})), reply("You rolled it: see above!"))
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox, plugins=["roll_dice"])
        await sandbox.send(sandbox.general, "Ada, roll 2d6 for me")
        answer = await answer_from(bot, sandbox)
    assert answer.content == "You rolled it: see above!"
    first, second = model_server.requests[-2:]
    assert [t["function"]["name"] for t in first["tools"]] == ["roll_dice"]
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert tool_messages and tool_messages[0]["content"].startswith("Rolled 2d6: [")


async def test_without_manage_webhooks_the_bot_speaks_for_the_persona_and_tells_the_owner_once(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    sandbox.set_permissions(sandbox.general, sandbox.bot_role, deny=P.MANAGE_WEBHOOKS)
    model_server.default = reply("I am here.")
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, hello")
        first = await answer_from(bot, sandbox, name=sandbox.bot_user.global_name or sandbox.bot_user.username)
        assert first.author_id == sandbox.bot_user.id and first.webhook_id is None
        assert first.embeds[0]["author"]["name"] == "Ada" and first.embeds[0]["description"] == "I am here."
        await sandbox.send(sandbox.general, "Ada, hello again")
        await answer_from(bot, sandbox, name=first.author, after=first.id)
        await sandbox.wait_until(lambda: dms_besides_invitations(sandbox, sandbox.alice), 5, "the owner told")
        await asyncio.sleep(0.3)
        notes = dms_besides_invitations(sandbox, sandbox.alice)
        assert len(notes) == 1 and "Manage Webhooks" in notes[0].content
        assert await count(bot, models.PersonaMessage, models.PersonaMessage.persona_id == persona_id) == 2
    assert not sandbox.requests("POST", "/channels/{channel_id}/webhooks")


async def test_a_reply_longer_than_2000_characters_is_split_on_sentence_boundaries(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    sentence = "This sentence is one of many in a very long answer. "
    text = (sentence * 70).strip()  # about 3,600 characters
    model_server.script(reply(text, chunks=[text[:1800], text[1800:]]))
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, tell me everything")
        await sandbox.wait_until(lambda: len(persona_posts(sandbox, "Ada")) >= 2, 10, "two parts")
        await asyncio.sleep(0.3)
        parts = [p.content for p in persona_posts(sandbox, "Ada")]
    assert len(parts) == 2 and all(len(p) <= 2000 for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == text


async def test_in_a_thread_the_persona_speaks_through_the_channel_webhook(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.default = reply("Threads are cosy.")
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox, behavior={"reply_in_threads": True})
        thread = await sandbox.create_thread(sandbox.general, "chat")
        await sandbox.send(thread, "Ada, do you like threads?")
        answer = await answer_from(bot, sandbox, channel=thread)
        assert answer.content == "Threads are cosy." and answer.webhook_id is not None
        assert sandbox.state.webhooks[answer.webhook_id].channel_id == sandbox.general.id


async def test_the_persona_ignores_other_bots_unless_the_server_allows(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    other = sandbox.add_user("otherbot")
    other.bot = True
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, beep boop", author=other)
        await asyncio.sleep(0.5)
        assert not persona_posts(sandbox, "Ada")
        async with bot.db.transaction() as session:
            session.add(models.GuildSettings(guild_id=sandbox.guild.id, answer_bots=True))
        await sandbox.send(sandbox.general, "Ada, beep boop again", author=other)
        await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)
        async with bot.db.transaction() as session:
            await session.execute(update(models.GuildSettings).values(answer_bots=False))
