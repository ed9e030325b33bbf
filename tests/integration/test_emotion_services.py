"""Emotion services on SQLite and PostgreSQL: triggers, reaction bursts and dedupe, the buffer, state, history,
patterns and feedback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from bot.clock import utcnow
from bot.core import emotions as core
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.pad import describe
from bot.db import models
from bot.db.engine import Database
from bot.services import consent, emotions, personas
from bot.services.emotions import ReactionItem
from bot.services.personas import Actor, PersonaInput
from bot.services.reactions import BufferClosed, ReactionBuffer

GUILD = 111_111_111_111_111_111
OWNER = Actor(user_id=900_000_000_000_000_001, guild_id=GUILD)
STRANGER = 900_000_000_000_000_002
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HEART = "❤️"
THUMBS_UP = "👍"


async def make_persona(database: Database, name: str = "Ada", **traits: float) -> int:
    async with database.transaction() as session:
        record = await personas.create(session, OWNER, PersonaInput(name=name, traits=traits or None), now=NOW)
    return record.id


async def count_events(database: Database, persona_id: int | None = None) -> int:
    query = select(func.count()).select_from(models.EmotionalEvent)
    if persona_id is not None:
        query = query.where(models.EmotionalEvent.persona_id == persona_id)
    async with database.session() as session:
        return int((await session.execute(query)).scalar_one())


async def stored_state(database: Database, persona_id: int) -> tuple:
    async with database.session() as session:
        state = await session.get(models.EmotionalState, persona_id)
        assert state is not None
        rows = (
            await session.execute(
                select(models.ActiveEmotion.emotion_type, models.ActiveEmotion.intensity)
                .where(models.ActiveEmotion.persona_id == persona_id)
                .order_by(models.ActiveEmotion.emotion_type)
            )
        ).all()
        return (state.mood_pleasure, state.mood_arousal, state.mood_dominance, state.as_of, tuple(map(tuple, rows)))


async def remembering(database: Database, *users: int) -> None:
    """The people whose reactions these tests count by id: everyone in GUILD (an opt-out server), and ``users``
    in DMs (they consented there). Reactions of anyone else are counted anonymously (issue 15 item 4)."""
    async with database.transaction() as session:
        if await session.get(models.GuildSettings, GUILD) is None:
            session.add(models.GuildSettings(guild_id=GUILD, memory_consent_default="opt-out"))
        for user in users:
            await consent.record(session, user_id=user, guild_id=None, granted=True, recorded_by=user, now=NOW)


def close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol


# ----------------------------------------------------------------------------------------------------
# apply_trigger and current_state


async def test_affection_raises_pleasure_over_time_exactly_as_core_computes(database: Database) -> None:
    persona_id = await make_persona(database, extraversion=70.0, agreeableness=65.0)
    async with database.session() as session:
        before = await emotions.current_state(session, persona_id, NOW)
    async with database.transaction() as session:
        event = await emotions.apply_trigger(
            session, persona_id, "affection", now=NOW, user_id=5, channel_id=6, message_id=7, emoji=HEART
        )
    assert event is not None and event.trigger == "affection" and event.emotion_type == "trust"
    assert {r.emotion_type for r in event.responses} == {"trust", "contentment", "joy"}

    later = NOW + timedelta(minutes=10)
    async with database.session() as session:
        after = await emotions.current_state(session, persona_id, later)

    # The same computation, done by core alone.
    async with database.session() as session:
        record = await personas.get(session, persona_id)
    start = core.new_state(before.baseline, NOW)
    expected = core.advance(core.apply(start, core.respond("affection", record.traits, start, NOW), NOW), later)
    assert all(close(a, b) for a, b in zip(after.mood, expected.mood, strict=True))
    assert after.mood.pleasure > before.mood.pleasure + 0.05
    assert {v.type for v in after.active} == {"trust", "contentment", "joy"}
    for view in after.active:
        twin = next(e for e in expected.active if e.type == view.type)
        assert close(view.intensity, twin.intensity_at(later))  # faded linearly
        assert view.intensity < view.initial_intensity
    assert "sign of affection" in after.explanation
    assert after.mood_words == describe(after.mood) and after.baseline == before.baseline


async def test_an_event_past_the_explain_window_explains_an_emotion_that_lasts_longer(database: Database) -> None:
    # The explanation reads events of the last hour, and older ones of an emotion still felt (its own span: the
    # kept query's :kind_N / :since_N cut-offs).
    persona_id = await make_persona(database, extraversion=70.0, agreeableness=65.0)
    async with database.transaction() as session:
        await emotions.apply_trigger(
            session, persona_id, "affection", now=NOW, user_id=5, channel_id=6, message_id=7, emoji=HEART
        )
    later = NOW + timedelta(minutes=75)  # past the 60-minute window; trust (90 minutes or more) is still felt
    async with database.session() as session:
        felt = await emotions.current_state(session, persona_id, later)
        gone = await emotions.current_state(session, persona_id, NOW + timedelta(hours=6))
    assert "trust" in {view.type for view in felt.active}
    assert "sign of affection" in felt.explanation
    assert not gone.active and "nothing in particular" in gone.explanation


async def test_the_usual_present_is_read_in_one_round_trip_and_counts_the_windows_events_only(
    database: Database,
) -> None:
    # Jokes: joy for twenty minutes, shorter than the explanation's hour, so the state and the window's events come
    # in one statement; the joke of two hours before is outside the window and not counted.
    persona_id = await make_persona(database)
    for minutes in (0, 120, 121):
        async with database.transaction() as session:
            await emotions.apply_trigger(
                session, persona_id, "humour", now=NOW + timedelta(minutes=minutes), user_id=5, message_id=minutes
            )
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    try:
        async with database.session() as session:
            state = await emotions.current_state(session, persona_id, NOW + timedelta(minutes=125))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", note)
    assert len(sent) == 1
    assert {view.type for view in state.active} == {"joy"}
    assert "two jokes in the last five minutes" in state.explanation


async def test_a_state_dated_after_now_is_read_and_explained_at_its_own_time(database: Database) -> None:
    # A trigger stored at ten past: asked at noon (a clock behind the one that wrote it), the present is the state's.
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        await emotions.apply_trigger(session, persona_id, "humour", now=NOW + timedelta(minutes=10), user_id=5)
    async with database.session() as session:
        state = await emotions.current_state(session, persona_id, NOW)
    assert state.at == NOW + timedelta(minutes=10)
    assert {view.type for view in state.active} == {"joy"}
    assert "one joke" in state.explanation


async def test_state_is_persisted_and_read_back_by_a_new_session(database: Database) -> None:
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        await emotions.apply_trigger(session, persona_id, "praise", now=NOW)
        await emotions.apply_trigger(session, persona_id, "hostility", now=NOW + timedelta(minutes=2))
    later = NOW + timedelta(minutes=7)
    async with database.session() as session:
        first = await emotions.current_state(session, persona_id, later)
    async with database.session() as session:
        second = await emotions.current_state(session, persona_id, later)
    assert first == second
    _, _, _, as_of, active = await stored_state(database, persona_id)
    assert as_of == NOW + timedelta(minutes=2)
    assert {row[0] for row in active} == {e.type for e in first.active}
    assert first.mood != first.baseline


async def test_unknown_trigger_and_missing_persona_are_refused(database: Database) -> None:
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        with pytest.raises(DomainError, match="trigger"):
            await emotions.apply_trigger(session, persona_id, "no_such_trigger", now=NOW)
    async with database.transaction() as session:
        with pytest.raises(NotFound):
            await emotions.apply_trigger(session, persona_id + 999, "praise", now=NOW)
    async with database.session() as session:
        with pytest.raises(NotFound):
            await emotions.current_state(session, persona_id + 999, NOW)
    assert await count_events(database) == 0


# ----------------------------------------------------------------------------------------------------
# Dedupe


async def test_same_message_user_and_emoji_counts_once(database: Database) -> None:
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        first = await emotions.apply_trigger(
            session, persona_id, "affection", now=NOW, user_id=1, message_id=2, emoji=HEART
        )
    state = await stored_state(database, persona_id)
    async with database.transaction() as session:
        again = await emotions.apply_trigger(
            session, persona_id, "affection", now=NOW + timedelta(minutes=1), user_id=1, message_id=2, emoji=HEART
        )
    assert first is not None and again is None
    assert await count_events(database, persona_id) == 1
    assert await stored_state(database, persona_id) == state  # nothing changed
    # Another emoji, user or message does count.
    async with database.transaction() as session:
        other = await emotions.apply_trigger(
            session, persona_id, "agreement", now=NOW, user_id=1, message_id=2, emoji=THUMBS_UP
        )
    assert other is not None and await count_events(database, persona_id) == 2


async def test_removal_then_re_add_counts_once(database: Database) -> None:
    persona_id = await make_persona(database)
    await remembering(database)
    item = ReactionItem(persona_id=persona_id, user_id=10, message_id=20, emoji=HEART, guild_id=GUILD)
    async with database.transaction() as session:
        added = await emotions.apply_reactions(session, [item], NOW)
    assert added.applied == 1
    state = await stored_state(database, persona_id)
    async with database.transaction() as session:
        removed = await emotions.remove_reaction(session, persona_id, user_id=10, message_id=20, emoji=HEART)
    assert removed.counted and removed.event_id is not None
    assert await stored_state(database, persona_id) == state  # removal does not undo the emotion
    async with database.transaction() as session:
        re_added = await emotions.apply_reactions(session, [item], NOW + timedelta(minutes=3))
    assert (re_added.applied, re_added.duplicates) == (0, 1)
    assert await count_events(database, persona_id) == 1
    assert await stored_state(database, persona_id) == state
    async with database.session() as session:
        never = await emotions.remove_reaction(session, persona_id, user_id=11, message_id=20, emoji=HEART)
    assert not never.counted


async def test_reactions_of_people_who_may_not_be_remembered_count_without_their_id(database: Database) -> None:
    """Issue 15 item 4: in an opt-in server, Alice consented, Bob never did, Carol consented then refused. All three
    reactions move the persona's feelings; only Alice's event and relationship name her. A re-add of Bob's
    reaction through the buffer (the bot's path) still counts once, though nothing stored names him."""
    from bot.services import relationships

    alice, bob, carol = 31, 32, 33
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        await consent.record(session, user_id=alice, guild_id=GUILD, granted=True, recorded_by=alice, now=NOW)
        await consent.record(session, user_id=carol, guild_id=GUILD, granted=True, recorded_by=carol, now=NOW)
        await consent.record(
            session, user_id=carol, guild_id=GUILD, granted=False, recorded_by=carol, now=NOW + timedelta(seconds=1)
        )
    before = await stored_state(database, persona_id)
    buffer = ReactionBuffer(database, interval=30.0, max_batch=100, clock=lambda: NOW + timedelta(minutes=1))
    reaction = {user: ReactionItem(persona_id=persona_id, user_id=user, message_id=40, emoji=HEART, guild_id=GUILD)
                for user in (alice, bob, carol)}  # fmt: skip
    outcomes = await asyncio.gather(*(buffer.add_and_wait(item) for item in reaction.values()), buffer.flush())
    assert outcomes[:3] == ["applied"] * 3
    assert await stored_state(database, persona_id) != before  # every reaction was felt
    again = await asyncio.gather(
        buffer.add_and_wait(reaction[bob]), buffer.add_and_wait(reaction[alice]), buffer.flush()
    )
    assert again[:2] == ["duplicate", "duplicate"]
    await buffer.close()
    async with database.session() as session:
        events = sorted((await session.execute(select(models.EmotionalEvent.user_id))).scalars(), key=lambda u: u or 0)
        ties = await relationships.people(session, persona_id, [alice, bob, carol])
    assert events == [None, None, alice]
    assert set(ties) == {alice}


async def test_a_thousand_reactions_in_batches_make_a_thousand_events(database: Database) -> None:
    ids = [await make_persona(database, f"P{i}") for i in range(3)]
    items = [
        ReactionItem(
            persona_id=ids[i % 3],
            user_id=1_000 + i % 400,
            message_id=50_000 + i // 7,
            emoji=(HEART, THUMBS_UP, "😂", "🎉")[i % 4],
            guild_id=GUILD,
            at=NOW + timedelta(milliseconds=i),
        )
        for i in range(1_000)
    ]
    assert len({(it.persona_id, it.message_id, it.user_id, it.emoji) for it in items}) == 1_000
    applied = 0
    for start in range(0, 1_000, 250):
        async with database.transaction() as session:
            result = await emotions.apply_reactions(session, items[start : start + 250], NOW + timedelta(seconds=2))
        applied += result.applied
    assert applied == 1_000
    assert await count_events(database) == 1_000
    for persona_id in ids:
        async with database.session() as session:
            view = await emotions.current_state(session, persona_id, NOW + timedelta(seconds=2))
        assert view.active and view.mood != view.baseline


async def test_duplicates_mixed_into_batches_still_give_the_distinct_count(database: Database) -> None:
    persona_id = await make_persona(database)
    await remembering(database)
    distinct = [
        ReactionItem(persona_id=persona_id, user_id=u, message_id=7_000 + u % 50, emoji=HEART, guild_id=GUILD)
        for u in range(1_000)
    ]
    # 100 duplicates: 50 repeat items of the same batch, 50 repeat items of earlier batches.
    mixed = list(distinct)
    for n in range(50):
        mixed.insert(10 * n + 5, distinct[10 * n])  # same batch of 200 (earlier in it)
    for n in range(50):
        mixed.append(distinct[n * 3])  # a later batch
    assert len(mixed) == 1_100
    totals = [0, 0]
    for start in range(0, len(mixed), 200):
        async with database.transaction() as session:
            result = await emotions.apply_reactions(session, mixed[start : start + 200], NOW)
        totals[0] += result.applied
        totals[1] += result.duplicates
        assert result.outcomes.count("applied") == result.applied
    assert totals == [1_000, 100]
    assert await count_events(database, persona_id) == 1_000


async def test_unknown_emoji_server_maps_and_deleted_personas(database: Database) -> None:
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        session.add(models.GuildSettings(guild_id=GUILD, reaction_map={"zzqx": "praise"}))
    items = [
        ReactionItem(persona_id=persona_id, user_id=1, message_id=1, emoji="<:zzqx:123456>", guild_id=GUILD),
        ReactionItem(persona_id=persona_id, user_id=4, message_id=1, emoji="<:zzqx:123456>", guild_id=None),
        ReactionItem(persona_id=persona_id, user_id=2, message_id=1, emoji="🪨", guild_id=GUILD),
        ReactionItem(persona_id=persona_id + 500, user_id=3, message_id=1, emoji=HEART, guild_id=GUILD),
    ]
    async with database.transaction() as session:
        result = await emotions.apply_reactions(session, items, NOW)
    assert result.outcomes == ("applied", "ignored", "ignored", "missing_persona")
    async with database.session() as session:
        trigger = (await session.execute(select(models.EmotionalEvent.trigger))).scalar_one()
    assert trigger == "praise"  # the server's map, loaded once for the batch


# ----------------------------------------------------------------------------------------------------
# The buffer


async def test_buffer_loses_nothing_across_close(database: Database) -> None:
    persona_id = await make_persona(database)
    buffer = ReactionBuffer(database, interval=0.05, max_batch=100, clock=utcnow)
    for n in range(1_234):
        buffer.add(ReactionItem(persona_id=persona_id, user_id=n, message_id=n % 17, emoji=HEART, guild_id=GUILD))
        if n % 300 == 0:
            await asyncio.sleep(0)  # let the flusher run now and then, as the event loop would
    await buffer.close()
    assert buffer.pending == 0 and buffer.applied == 1_234 and buffer.dropped == 0
    assert await count_events(database, persona_id) == 1_234
    with pytest.raises(BufferClosed):
        buffer.add(ReactionItem(persona_id=persona_id, user_id=1, message_id=1, emoji=HEART))


async def test_add_and_wait_returns_only_after_commit(database: Database) -> None:
    persona_id = await make_persona(database)
    buffer = ReactionBuffer(database, interval=30.0, max_batch=10_000, clock=utcnow)
    item = ReactionItem(persona_id=persona_id, user_id=1, message_id=2, emoji=HEART, guild_id=GUILD)
    waiting = asyncio.create_task(buffer.add_and_wait(item))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert await count_events(database, persona_id) == 0  # not committed, so not returned
    await buffer.flush()
    assert await asyncio.wait_for(waiting, 5) == "applied"
    assert await count_events(database, persona_id) == 1
    # A duplicate's outcome is reported too; many waiters share one batch.
    outcomes = await asyncio.gather(
        buffer.add_and_wait(item),
        *(
            buffer.add_and_wait(ReactionItem(persona_id=persona_id, user_id=u, message_id=2, emoji=HEART))
            for u in range(2, 12)
        ),
        buffer.flush(),
    )
    assert outcomes[0] == "duplicate" and outcomes[1:11] == ["applied"] * 10
    await buffer.close()
    assert buffer.batches == 2 and await count_events(database, persona_id) == 11


async def test_buffer_flushes_when_the_batch_is_full(database: Database) -> None:
    persona_id = await make_persona(database)
    buffer = ReactionBuffer(database, interval=30.0, max_batch=20, clock=utcnow)
    waiters = [
        asyncio.create_task(
            buffer.add_and_wait(ReactionItem(persona_id=persona_id, user_id=u, message_id=1, emoji=THUMBS_UP))
        )
        for u in range(20)
    ]
    assert await asyncio.wait_for(asyncio.gather(*waiters), 5) == ["applied"] * 20  # long before 30 s
    await buffer.close()


# ----------------------------------------------------------------------------------------------------
# History and patterns


async def test_history_buckets_at_most_max_points_with_the_right_totals(database: Database) -> None:
    persona_id = await make_persona(database)
    emoji = (HEART, THUMBS_UP, "😂", "😢")
    items = [
        ReactionItem(
            persona_id=persona_id,
            user_id=n,
            message_id=n // 3,
            emoji=emoji[n % 4],
            at=NOW + timedelta(seconds=37 * n),
        )
        for n in range(2_000)
    ]
    end = NOW + timedelta(seconds=37 * 2_000)
    async with database.transaction() as session:
        await emotions.apply_reactions(session, items, end)
    async with database.session() as session:
        bucketed = await emotions.history(session, persona_id, NOW, end, max_points=50)
        raw = await emotions.history(session, persona_id, NOW, NOW + timedelta(seconds=37 * 10), max_points=50)
        counts = dict(
            (
                await session.execute(
                    select(models.EmotionalEvent.emotion_type, func.count()).group_by(
                        models.EmotionalEvent.emotion_type
                    )
                )
            ).all()
        )
    assert 1 < len(bucketed.points) <= 50 and bucketed.bucket_seconds is not None
    assert bucketed.total == 2_000 and sum(p.count for p in bucketed.points) == 2_000
    assert dict(bucketed.by_emotion) == counts
    starts = [p.at for p in bucketed.points]
    assert starts == sorted(starts) and starts[0] >= NOW and starts[-1] < end
    assert all(p.mood is not None and -1 <= p.mood.pleasure <= 1 for p in bucketed.points)
    # Each bucket holds the events whose time falls in it (37 s apart: width / 37 events, give or take one).
    per_bucket = bucketed.bucket_seconds / 37
    assert all(abs(p.count - per_bucket) <= 1.5 for p in bucketed.points[:-1])
    # A short range: one point per event.
    assert raw.bucket_seconds is None and raw.total == 10 and [p.count for p in raw.points] == [1] * 10
    with pytest.raises(DomainError):
        async with database.session() as session:
            await emotions.history(session, persona_id, end, NOW)


async def test_patterns_find_a_consistent_trigger(database: Database) -> None:
    persona_id = await make_persona(database)
    items = [
        ReactionItem(persona_id=persona_id, user_id=n, message_id=1, emoji="😂", at=NOW + timedelta(minutes=n))
        for n in range(30)
    ]
    async with database.transaction() as session:
        await emotions.apply_reactions(session, items, NOW + timedelta(minutes=30))
    async with database.session() as session:
        found = await emotions.patterns(session, persona_id, NOW + timedelta(hours=1))
        none = await emotions.patterns(session, persona_id, NOW - timedelta(days=1))
    consistency = [p for p in found if p.kind == "trigger_consistency"]
    assert consistency and consistency[0].subject == "humour" and consistency[0].confidence > 0.7
    assert none == []


# ----------------------------------------------------------------------------------------------------
# Feedback


async def test_feedback_is_for_the_owner_and_reversible(database: Database) -> None:
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        event = await emotions.apply_trigger(session, persona_id, "praise", now=NOW)
    assert event is not None
    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await emotions.feedback(session, STRANGER, persona_id, event.id, "wrong", "too_strong", now=NOW)
    async with database.transaction() as session:
        strong = await emotions.feedback(session, OWNER.user_id, persona_id, event.id, "wrong", "too_strong", now=NOW)
    assert strong.scale == pytest.approx(1 / 1.25) and strong.feedback_count == 1 and not strong.replaced

    # The learned scale weakens the next response to the same trigger.
    async with database.transaction() as session:
        weaker = await emotions.apply_trigger(session, persona_id, "praise", now=NOW + timedelta(hours=5))
    assert weaker is not None and weaker.intensity == pytest.approx(event.intensity / 1.25)

    # Changing the verdict on the same event undoes the earlier one first.
    async with database.transaction() as session:
        right = await emotions.feedback(session, OWNER.user_id, persona_id, event.id, "right", now=NOW)
    assert right.scale == pytest.approx(1.0) and right.replaced and right.feedback_count == 1
    async with database.transaction() as session:
        other = await emotions.feedback(
            session, OWNER.user_id, persona_id, event.id, "wrong", should_be="surprise", now=NOW
        )
    assert other.override == "surprise" and other.scale == pytest.approx(1.0)
    async with database.transaction() as session:
        withdrawn = await emotions.withdraw_feedback(session, OWNER.user_id, persona_id, event.id, now=NOW)
    assert withdrawn.override is None and withdrawn.scale == pytest.approx(1.0) and withdrawn.feedback_count == 0
    async with database.session() as session:
        row = await session.get(models.EmotionalEvent, event.id)
        learned = (
            await session.execute(select(models.LearnedResponse).where(models.LearnedResponse.persona_id == persona_id))
        ).scalar_one()
    assert row is not None and row.feedback_verdict is None and row.feedback_emotion is None
    assert (learned.scale, learned.override_emotion) == (pytest.approx(1.0), None)

    async with database.transaction() as session:
        with pytest.raises(NotFound):
            await emotions.feedback(session, OWNER.user_id, persona_id, event.id + 999, "right", now=NOW)
    async with database.transaction() as session:
        with pytest.raises(DomainError):
            await emotions.feedback(session, OWNER.user_id, persona_id, event.id, "wrong", now=NOW)  # says nothing


async def test_concurrent_batches_on_one_persona_lose_no_update(database: Database) -> None:
    persona_id = await make_persona(database)
    await remembering(database, *range(50))
    hearts = [ReactionItem(persona_id=persona_id, user_id=u, message_id=1, emoji=HEART) for u in range(50)]
    tears = [ReactionItem(persona_id=persona_id, user_id=u, message_id=2, emoji="😢") for u in range(50)]
    first_holds = asyncio.Event()

    async def slow_hearts() -> emotions.BatchResult:
        async with database.transaction() as session:
            result = await emotions.apply_reactions(session, hearts, NOW)
            first_holds.set()
            await asyncio.sleep(0.2)  # still uncommitted while the other batch starts
        return result

    async def tears_then_overlap() -> emotions.BatchResult:
        await first_holds.wait()
        async with database.transaction() as session:
            return await emotions.apply_reactions(session, tears + hearts[:10], NOW + timedelta(seconds=1))

    first, second = await asyncio.gather(slow_hearts(), tears_then_overlap())
    assert (first.applied, second.applied, second.duplicates) == (50, 50, 10)
    assert await count_events(database, persona_id) == 100
    *_, active = await stored_state(database, persona_id)
    kinds = {row[0] for row in active}
    assert "sadness" in kinds and "trust" in kinds  # both batches' emotions survived (no lost update)


async def test_reactions_move_affinity_in_the_batch(database: Database) -> None:
    from bot.services import relationships

    ada = await make_persona(database)
    await remembering(database)
    aloof = await make_persona(database, "Aloof")
    async with database.transaction() as session:
        config = await session.get(models.MemoryConfig, aloof)
        config.track_relationships = False
    items = [
        ReactionItem(persona_id=ada, user_id=5, message_id=1, emoji=HEART, guild_id=GUILD),
        ReactionItem(persona_id=ada, user_id=5, message_id=2, emoji=HEART, guild_id=GUILD),  # same person, twice
        ReactionItem(persona_id=aloof, user_id=5, message_id=3, emoji=HEART, guild_id=GUILD),
    ]
    async with database.transaction() as session:
        await emotions.apply_reactions(session, items, NOW)
    step = relationships.REACTION_STEP * relationships.trigger_valence("affection")
    assert step > 0  # a heart is a pleasant reaction
    async with database.session() as session:
        rows = {
            row.persona_id: row.affinity for row in (await session.execute(select(models.PersonRelationship))).scalars()
        }
    assert rows.keys() == {ada}  # a persona that does not track relationships keeps none
    assert abs(rows[ada] - 2 * step) < 1e-9


async def test_a_batch_clamps_affinity_at_both_bounds(database: Database) -> None:
    from bot.services import relationships

    ada = await make_persona(database)
    await remembering(database, 7, 8, 9)
    async with database.transaction() as session:
        session.add(models.PersonRelationship(persona_id=ada, user_id=7, messages_exchanged=3, affinity=0.99))
        session.add(models.PersonRelationship(persona_id=ada, user_id=8, messages_exchanged=0, affinity=-0.99))
    items = [ReactionItem(persona_id=ada, user_id=7, message_id=m, emoji=HEART) for m in range(1, 4)]
    items += [ReactionItem(persona_id=ada, user_id=8, message_id=m, emoji="😡") for m in range(1, 4)]
    items += [ReactionItem(persona_id=ada, user_id=9, message_id=1, emoji=HEART)]  # a new person
    async with database.transaction() as session:
        await emotions.apply_reactions(session, items, NOW)
    async with database.session() as session:
        rows = {
            row.user_id: (row.affinity, row.messages_exchanged)
            for row in (await session.execute(select(models.PersonRelationship))).scalars()
        }
    step = relationships.REACTION_STEP * relationships.trigger_valence("affection")
    assert relationships.trigger_valence("hostility") < 0 < step < 0.5
    assert rows == {7: (1.0, 3), 8: (-1.0, 0), 9: (pytest.approx(step), 0)}  # clamped; other fields kept
