"""The conversation, behaviours, relationships and webhooks services on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from bot.core.errors import DomainError, PermissionDenied
from bot.db import models
from bot.db.engine import Database
from bot.services import (
    achievements,
    behaviors,
    bindings,
    consent,
    conversation,
    memories,
    personas,
    relationships,
    subscriptions,
    webhooks,
)
from bot.services.conversation import ChannelLine, Incoming
from bot.services.personas import Actor, PersonaInput
from tests.conftest import _empty_all_tables

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD, CHANNEL, THREAD = 100, 200, 300
ALICE, BOB = 11, 12


async def remember(database: Database, persona_id: int, content: str) -> None:
    """A conversation memory of two days ago."""
    async with database.transaction() as session:
        await memories.capture(
            session, persona_id, content=content, category="conversation", importance=5,
            source_user_id=None, source_channel_id=None, source_message_id=None, now=NOW - timedelta(days=2),
        )  # fmt: skip


async def make(database: Database, name: str, *, owner: int = ALICE, channel: int = CHANNEL, **behavior: object) -> int:
    actor = Actor(owner, GUILD)
    async with database.transaction() as session:
        record = await personas.create(
            session,
            actor,
            PersonaInput(name=name, behavior={"cooldown_seconds": 0, "chattiness": 0, **behavior}),
            now=NOW,
        )
        await bindings.activate(session, actor, record.id, channel, channel_guild_id=GUILD, now=NOW)
    return record.id


def incoming(
    text: str, *, author: int = ALICE, name: str = "Alice", message_id: int = 900, **extra: object
) -> Incoming:
    return Incoming(
        message_id=message_id,
        guild_id=GUILD,
        channel_id=CHANNEL,
        author_id=author,
        author_name=name,
        content=text,
        created_at=NOW,
        **extra,  # type: ignore[arg-type]
    )


async def test_only_the_named_persona_answers_and_its_prompt_has_the_history_and_best_memory_first(
    database: Database,
) -> None:
    ada = await make(database, "Ada")
    grace = await make(database, "Grace")
    async with database.transaction() as session:
        for content, importance, age in (
            ("Alice adores the lighthouse", 9, timedelta(hours=1)),
            ("A lighthouse was mentioned", 1, timedelta(days=30)),
        ):
            await memories.capture(
                session, ada, content=content, category="conversation", importance=importance,
                source_user_id=None, source_channel_id=None, source_message_id=None, now=NOW - age,
            )  # fmt: skip
    history = [ChannelLine(BOB, "Bob", "Has anyone seen the lighthouse?")]
    async with database.transaction() as session:
        speakers = await conversation.active_personas(session, CHANNEL)
        plan = await conversation.plan(
            session,
            incoming("Ada, what about the lighthouse?"),
            speakers,
            history=history,
            exchange_depth=0,
            random_value=0.99,
            now=NOW,
        )
    assert [job.speaker.persona_id for job in plan.jobs] == [ada]
    assert plan.decisions[grace] == "not addressed" and plan.decisions[ada] == "addressed by name"
    system = plan.jobs[0].request.system
    # The channel's history goes as chat turns (named, labelled), the memories in the system message.
    turns = [(m.role, m.name, m.content) for m in plan.jobs[0].request.messages]
    assert ("user", "Bob", "Bob: Has anyone seen the lighthouse?") in turns
    assert system.index("Alice adores the lighthouse") < system.index("A lighthouse was mentioned")
    assert plan.jobs[0].addressed

    # As the cog plans: from the channel's cast (kept between messages), outside a transaction, and on PostgreSQL
    # with the memory search on a second connection. The same request.
    async with database.reads() as session:
        cast = await conversation.cast(session, CHANNEL)
    assert [s.persona_id for s in cast.speakers] == [ada, grace] and set(cast.memory_weights) == {ada, grace}
    async with database.reads() as session:
        as_the_cog = await conversation.plan(
            session, incoming("Ada, what about the lighthouse?"), cast.speakers, history=history, exchange_depth=0,
            random_value=0.99, now=NOW, cast=cast, reader=database.reads if database.parallel_reads else None,
        )  # fmt: skip
    assert as_the_cog.jobs[0].request.system == system
    assert as_the_cog.jobs[0].recall == plan.jobs[0].recall


async def test_a_named_persona_that_does_not_answer_leaves_no_memory_search_behind(database: Database) -> None:
    """With a second connection (PostgreSQL), a persona the message names has its memory search started before the
    turns are decided; when the turns leave it silent, that search is cancelled and waited for, and a persona that
    answers by chance gets its own search after the turns, with its memories in its prompt."""
    await make(database, "Ada", reply_when_named=False)
    grace = await make(database, "Grace", chattiness=100)
    await remember(database, grace, "Grace keeps the lighthouse lamp lit")
    async with database.reads() as session:
        cast = await conversation.cast(session, CHANNEL)
        plan = await conversation.plan(
            session, incoming("Ada, what about the lighthouse?"), cast.speakers, history=[], exchange_depth=0,
            random_value=0.0, now=NOW, cast=cast, reader=database.reads if database.parallel_reads else None,
        )  # fmt: skip
    assert [job.speaker.persona_id for job in plan.jobs] == [grace]
    assert "Grace keeps the lighthouse lamp lit" in plan.jobs[0].request.system
    searching = [t for t in asyncio.all_tasks() if not t.done() and "_apart" in repr(t.get_coro())]
    assert searching == []


@pytest.fixture
async def postgres_database(migrated_postgres: str) -> AsyncIterator[Database]:
    database = Database(migrated_postgres)
    try:
        yield database
    finally:
        await _empty_all_tables(database)
        await database.dispose()


@pytest.mark.postgres
async def test_a_named_personas_memory_search_reaches_the_database_before_the_plans_other_reads(
    postgres_database: Database,
) -> None:
    """With a second connection (PostgreSQL; SQLite has one), the search (the plan's longest read) is sent first:
    the database works on it while the plan reads the rest."""
    database = postgres_database
    assert database.parallel_reads
    ada = await make(database, "Ada")
    await remember(database, ada, "Ada keeps the lighthouse lamp lit")
    async with database.reads() as session:
        cast = await conversation.cast(session, CHANNEL)
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    async def planned() -> conversation.Plan:
        async with database.reads() as session:
            return await conversation.plan(
                session, incoming("Ada, what about the lighthouse?"), cast.speakers, history=[], exchange_depth=0,
                random_value=0.99, now=NOW, cast=cast, reader=database.reads,
            )  # fmt: skip

    await planned()  # the connections are open and the persona's size is counted
    event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    try:
        plan = await planned()
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", note)
    assert "Ada keeps the lighthouse lamp lit" in plan.jobs[0].request.system
    search = next(n for n, statement in enumerate(sent) if "memory_search_query" in statement)
    state = next(n for n, statement in enumerate(sent) if "emotional_states" in statement)
    assert search < state


async def test_a_persona_never_answers_itself_and_persona_exchanges_stop_at_the_depth(database: Database) -> None:
    ada = await make(database, "Ada", chattiness=100, max_persona_exchange_depth=2)
    grace = await make(database, "Grace", owner=BOB, chattiness=100, max_persona_exchange_depth=2)
    async with database.transaction() as session:
        speakers = await conversation.active_personas(session, CHANNEL)
        by_ada = incoming("Hello Grace", author=5, name="Ada", author_is_bot=True, author_persona_id=ada)
        early = await conversation.plan(
            session, by_ada, speakers, history=[], exchange_depth=1, random_value=0.0, now=NOW
        )
        late = await conversation.plan(
            session, by_ada, speakers, history=[], exchange_depth=2, random_value=0.0, now=NOW
        )
    assert [job.speaker.persona_id for job in early.jobs] == [grace]
    assert early.decisions[ada] == "its own message"
    assert late.jobs == () and late.decisions[grace] == "persona exchange depth reached"


async def test_threads_hear_personas_of_their_channel_only_when_they_reply_in_threads(database: Database) -> None:
    ada = await make(database, "Ada", reply_in_threads=True)
    await make(database, "Grace")
    async with database.session() as session:
        in_thread = await conversation.active_personas(session, THREAD, parent_id=CHANNEL)
    assert [s.persona_id for s in in_thread] == [ada]


async def test_record_remembers_only_a_consenting_author_and_tracks_the_relationship(database: Database) -> None:
    ada = await make(database, "Ada")
    async with database.session() as session:
        (speaker,) = await conversation.active_personas(session, CHANNEL)
    async with database.transaction() as session:
        await consent.record(session, user_id=ALICE, guild_id=GUILD, granted=True, recorded_by=ALICE, now=NOW)
        await consent.record(session, user_id=BOB, guild_id=GUILD, granted=False, recorded_by=BOB, now=NOW)
    async with database.transaction() as session:
        kept = await conversation.record(
            session, incoming("My sister's wedding is on Saturday!", message_id=901), speaker,
            sent_message_ids=[1001], via_webhook=True, reply_text="How exciting!", addressed=True, now=NOW,
        )  # fmt: skip
        refused = await conversation.record(
            session, incoming("My secret is pineapple pizza", author=BOB, name="Bob", message_id=902), speaker,
            sent_message_ids=[1002], via_webhook=True, reply_text="Ha!", addressed=True, now=NOW,
        )  # fmt: skip
    assert kept.memory_id is not None and refused.memory_id is None
    assert refused.consent_reason == "consent refused for this server"
    async with database.session() as session:
        rows = list((await session.execute(select(models.Memory))).scalars())
        count = (await session.execute(select(func.count()).select_from(models.PersonaMessage))).scalar_one()
        shown = await relationships.for_persona(session, ada)
        persona = await session.get(models.Persona, ada)
    assert len(rows) == 1 and "wedding" in rows[0].content and rows[0].source_user_id == ALICE
    assert rows[0].importance == conversation.heuristic_importance(
        "My sister's wedding is on Saturday!", addressed=True
    )
    assert count == 2
    assert {tie.user_id for tie in shown.people} == {ALICE}  # Bob refused: no relationship row names him
    assert persona is not None and persona.interaction_count == 2
    async with database.session() as session:
        assert "first_conversation" in await achievements.awarded_keys(session, ada)  # checked as the count moved


async def test_a_memory_names_only_people_who_may_be_remembered_and_they_can_reach_it(database: Database) -> None:
    """Issue 15 item 4: Alice (consenting) says "<@Bob> told me <@Carol> ...". Bob never consented: his mention is
    not kept and no row names him. Carol consented to Ada: the memory keeps her mention and is linked to her, so
    her export shows it and her forget-me erases it. A person who may not be remembered gets no relationship row."""
    from bot.services import privacy

    carol, dave = 13, 14
    ada = await make(database, "Ada")
    async with database.session() as session:
        (speaker,) = await conversation.active_personas(session, CHANNEL)
    async with database.transaction() as session:
        await consent.record(session, user_id=ALICE, guild_id=GUILD, granted=True, recorded_by=ALICE, now=NOW)
        await consent.record(
            session, user_id=carol, guild_id=GUILD, granted=True, recorded_by=carol, now=NOW, persona_id=ada
        )
        # Dave consented to Ada, then used forget-me (a refusal for the whole server): he is not named either.
        await consent.record(
            session, user_id=dave, guild_id=GUILD, granted=True, recorded_by=dave, now=NOW, persona_id=ada
        )
        await consent.record(
            session, user_id=dave, guild_id=GUILD, granted=False, recorded_by=dave, now=NOW + timedelta(seconds=1)
        )
    said = f"<@{BOB}> told me <@!{carol}> is moving to Lisbon, ask <@{dave}>"
    async with database.transaction() as session:
        kept = await conversation.record(
            session, incoming(said, message_id=905), speaker, sent_message_ids=[1005], via_webhook=True,
            reply_text=f"Wish <@{BOB}> well!", addressed=True, now=NOW + timedelta(minutes=1),
        )  # fmt: skip
        unheard = await conversation.record(
            session, incoming("Hi Ada", author=BOB, name="Bob", message_id=906), speaker, sent_message_ids=[1006],
            via_webhook=True, reply_text="Hello!", addressed=True, now=NOW + timedelta(minutes=1),
        )  # fmt: skip
    assert kept.memory_id is not None and unheard.memory_id is None
    async with database.session() as session:
        memory = await session.get(models.Memory, kept.memory_id)
        ties = {row.user_id for row in (await session.execute(select(models.PersonRelationship))).scalars()}
    assert memory is not None
    assert f"<@{BOB}>" not in memory.content and f"<@{dave}>" not in memory.content
    assert f"someone told me <@!{carol}> is moving to Lisbon, ask someone" in memory.content
    assert "Wish someone well!" in memory.content
    assert (memory.source_user_id, memory.subject_user_id) == (ALICE, carol)
    assert ties == {ALICE}

    async with database.session() as session:
        exported = await privacy.export_my_data(session, carol)
    assert [(m["id"], m["about_you"]) for m in exported["memories"]] == [(kept.memory_id, True)]
    async with database.transaction() as session:
        report = await privacy.forget_me(session, carol, GUILD, now=NOW + timedelta(minutes=2))
    assert report.memories == 1
    async with database.session() as session:
        assert await session.get(models.Memory, kept.memory_id) is None


def test_the_importance_heuristic_and_the_poignancy_answer() -> None:
    assert conversation.heuristic_importance("ok", addressed=False) == 2
    assert conversation.heuristic_importance("ok", addressed=True) == 4
    high = conversation.heuristic_importance(
        "Remember this: my dad was diagnosed yesterday and I'm scared!", addressed=True
    )
    assert high == 10
    assert conversation.parse_poignancy(" 7") == 7
    assert conversation.parse_poignancy("Rating: 10/10") == 10
    assert conversation.parse_poignancy("no idea") is None


async def test_reactions_move_affinity_by_the_trigger_valence_and_links_need_the_owner(database: Database) -> None:
    ada = await make(database, "Ada")
    grace = await make(database, "Grace", owner=BOB)
    async with database.transaction() as session:
        moved = await relationships.record_reactions(
            session, [(ada, ALICE, "affection"), (ada, BOB, "hostility")], now=NOW
        )
        ties = await relationships.people(session, ada, [ALICE, BOB])
        warm, cool = ties.get(ALICE), ties.get(BOB)
        link = await relationships.set_link(
            session, Actor(ALICE, GUILD), ada, grace, kind="Rival", strength=0.8, now=NOW
        )
        with pytest.raises(PermissionDenied):
            await relationships.set_link(session, Actor(ALICE, GUILD), grace, ada, kind="friend", strength=0.5, now=NOW)
    assert moved == 2
    assert warm is not None and warm.affinity > 0
    assert cool is not None and cool.affinity < 0
    assert link.kind == "rival"
    async with database.session() as session:
        shown = await relationships.for_persona(session, ada)
    assert [(p.other_name, p.kind) for p in shown.personas] == [("Grace", "rival")]


async def test_behaviours_are_validated_owned_and_listed(database: Database) -> None:
    ada = await make(database, "Ada")
    owner = Actor(ALICE, GUILD)
    async with database.transaction() as session:
        view = await behaviors.add(
            session, owner, ada, name="Night owl", trigger_kind="time",
            trigger_config=behaviors.parse_trigger("time", "22:00-06:00 Europe/Paris sat,sun"),
            action_kind="instruction", action_config=behaviors.parse_action("instruction", "Be sleepy."), now=NOW,
        )  # fmt: skip
        assert "22:00" in view.trigger_words and "sat, sun" in view.trigger_words
        with pytest.raises(DomainError):
            await behaviors.add(
                session, owner, ada, name="Bad", trigger_kind="emotion",
                trigger_config=behaviors.parse_trigger("emotion", "glee 50"), action_kind="reaction",
                action_config={"emoji": "👍"}, now=NOW,
            )  # fmt: skip
        with pytest.raises(PermissionDenied):
            await behaviors.list_for(session, Actor(BOB, GUILD), ada)
        rules = await behaviors.enabled_for(session, [ada])
    assert [rule.name for rule in rules[ada]] == ["Night owl"]


async def test_webhooks_are_stored_replaced_and_the_owner_is_told_once(database: Database) -> None:
    async with database.transaction() as session:
        await webhooks.save(session, channel_id=CHANNEL, guild_id=GUILD, webhook_id=1, token="a", now=NOW)
        assert await webhooks.note_missing_permission(session, channel_id=CHANNEL, owner_id=ALICE, now=NOW)
        assert not await webhooks.note_missing_permission(session, channel_id=CHANNEL, owner_id=ALICE, now=NOW)
        assert not await webhooks.forget(session, CHANNEL, webhook_id=2)  # another webhook: kept
        await webhooks.save(session, channel_id=CHANNEL, guild_id=GUILD, webhook_id=3, token="b", now=NOW)
        stored = await webhooks.get(session, CHANNEL)
        # Saving a webhook clears the notes: losing the permission again is told again.
        again = await webhooks.note_missing_permission(session, channel_id=CHANNEL, owner_id=ALICE, now=NOW)
        assert await webhooks.forget(session, CHANNEL)
        assert await webhooks.get(session, CHANNEL) is None
    assert stored is not None and (stored.webhook_id, stored.token) == (3, "b")
    assert again


async def test_subscriber_perks_skip_the_cooldown_go_first_and_are_remembered_longer(database: Database) -> None:
    carol = 13
    ada = await make(database, "Ada", chattiness=100, cooldown_seconds=600)
    grace = await make(database, "Grace", chattiness=100, cooldown_seconds=600)
    owner = Actor(ALICE, GUILD, can_manage_guild=True)
    async with database.transaction() as session:
        await subscriptions.set_free_tiers(session, guild_id=GUILD, can_manage_guild=True, enabled=True, now=NOW)
        tier = await subscriptions.create_tier(
            session, owner, ada, name="Gold", perks=["priority_replies", "longer_memory"], now=NOW
        )
        await subscriptions.grant_free(session, owner, ada, tier.id, BOB, now=NOW)
        for person in (BOB, carol):
            await consent.record(session, user_id=person, guild_id=GUILD, granted=True, recorded_by=person, now=NOW)
        speakers = await conversation.active_personas(session, CHANNEL)
        just_spoke = {ada: NOW - timedelta(seconds=10)}  # Ada is in her cooldown; Grace is not
        plain = await conversation.plan(
            session, incoming("nice weather", author=carol, name="Carol", message_id=910), speakers,
            history=[], exchange_depth=0, random_value=0.0, now=NOW, recent_replies=just_spoke,
        )  # fmt: skip
        subscribed = await conversation.plan(
            session, incoming("nice weather", author=BOB, name="Bob", message_id=911), speakers,
            history=[], exchange_depth=0, random_value=0.0, now=NOW, recent_replies=just_spoke,
        )  # fmt: skip
    assert [job.speaker.persona_id for job in plain.jobs] == [grace]
    assert [job.speaker.persona_id for job in subscribed.jobs] == [ada]  # cooldown skipped, and first

    (ada_speaker,) = [s for s in speakers if s.persona_id == ada]
    async with database.transaction() as session:
        for person, name, message_id in ((BOB, "Bob", 912), (carol, "Carol", 913)):
            await conversation.record(
                session, incoming("I adore lighthouses", author=person, name=name, message_id=message_id),
                ada_speaker, sent_message_ids=[message_id + 100], via_webhook=True, reply_text="Me too!",
                addressed=True, now=NOW,
            )  # fmt: skip
    async with database.session() as session:
        stability = dict((await session.execute(select(models.Memory.source_user_id, models.Memory.stability))).all())
    assert stability == {BOB: 2.0, carol: 1.0}  # the subscriber's memory fades half as fast


async def test_the_plan_only_reads_memories_and_a_recorded_reply_marks_them_recalled(database: Database) -> None:
    ada = await make(database, "Ada")
    async with database.transaction() as session:
        for content in ("the lighthouse keeper waved", "a storm over the lighthouse"):
            await memories.capture(
                session, ada, content=content, category="conversation", importance=5,
                source_user_id=None, source_channel_id=None, source_message_id=None, now=NOW - timedelta(days=3),
            )  # fmt: skip

    async def plan_reply() -> conversation.ReplyJob:
        async with database.transaction() as session:
            speakers = await conversation.active_personas(session, CHANNEL)
            plan = await conversation.plan(
                session, incoming("Ada, the lighthouse?"), speakers, history=[], exchange_depth=0,
                random_value=0.99, now=NOW,
            )  # fmt: skip
        (job,) = plan.jobs
        return job

    async def recalled() -> list[tuple[int, float]]:
        async with database.session() as session:
            query = select(models.Memory.access_count, models.Memory.stability).where(models.Memory.persona_id == ada)
            return sorted((int(count), float(stability)) for count, stability in (await session.execute(query)).all())

    job = await plan_reply()
    assert job.recall is not None and len(job.recall.memory_ids) == 2
    assert await recalled() == [(0, 1.0), (0, 1.0)]  # planning (on the way to the model) wrote nothing
    async with database.transaction() as session:  # the model failed: the persona apologised, nothing recalled
        await conversation.record(
            session, incoming("Ada, the lighthouse?"), job.speaker, sent_message_ids=[1101], via_webhook=True,
            reply_text=None, addressed=True, now=NOW, recall=job.recall,
        )  # fmt: skip
    assert await recalled() == [(0, 1.0), (0, 1.0)]
    job = await plan_reply()
    async with database.transaction() as session:
        await conversation.record(
            session, incoming("Ada, the lighthouse?", message_id=903), job.speaker, sent_message_ids=[1102],
            via_webhook=True, reply_text="It still shines.", addressed=True, now=NOW, recall=job.recall,
        )  # fmt: skip
    after = await recalled()
    assert [count for count, _ in after] == [1, 1] and all(stability > 1.0 for _, stability in after)


async def test_a_persona_deleted_after_its_cast_was_read_is_skipped_by_the_plan(database: Database) -> None:
    """The cog keeps a channel's cast between messages: a persona deleted in between (and not yet dropped from a
    copy) is skipped, while the others still answer."""
    ada = await make(database, "Ada")
    grace = await make(database, "Grace")
    async with database.reads() as session:
        cast = await conversation.cast(session, CHANNEL)
    async with database.transaction() as session:
        await personas.delete_persona(session, Actor(ALICE, GUILD), ada)
    async with database.reads() as session:
        plan = await conversation.plan(
            session, incoming("Ada and Grace, hello!"), cast.speakers, history=[], exchange_depth=0,
            random_value=0.99, now=NOW, cast=cast, reader=database.reads if database.parallel_reads else None,
        )  # fmt: skip
    assert [s.persona_id for s in cast.speakers] == [ada, grace]
    assert [job.speaker.persona_id for job in plan.jobs] == [grace]
