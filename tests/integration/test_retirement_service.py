"""Retirement services on SQLite and PostgreSQL, with the clock passed in: planning (every field, timeline, follower
notifications), cancelling, the ceremony exactly once (guarded transitions, concurrent claims, a resumed ceremony),
archival per plan, read-only afterwards, the inactivity trigger, legacy access per setting, the anonymised research
export, and retention deleting what the policy says and nothing else."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.clock import utcnow
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.db import models
from bot.db.engine import Database
from bot.llm import OfflineResponder
from bot.services import bindings, notifications, personas, retirement
from bot.services.personas import Actor, PersonaInput
from bot.services.retirement import PlanInput

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD, OTHER_GUILD = 555, 556
OWNER, FAN, MEMBER, STRANGER = 1001, 1002, 1003, 1004
OWNER_ACTOR = Actor(OWNER, GUILD)
CHANNEL = 7777


async def make_persona(database: Database, name: str = "Ada", *, public: bool = False) -> int:
    async with database.transaction() as session:
        record = await personas.create(session, OWNER_ACTOR, PersonaInput(name=name), now=T - timedelta(days=60))
        if public:
            await session.execute(update(models.Persona).where(models.Persona.id == record.id).values(is_public=True))
    return record.id


async def add_life(database: Database, persona_id: int) -> None:
    """Memories of several importances (about Alice and Bob), an achievement, a follower, a binding, a reaction."""
    async with database.transaction() as session:
        for importance, content in (
            (3, "Alice likes green tea"),
            (7, "Bob (<@1003>) fixed my bug"),
            (9, "1002 is kind"),
        ):
            session.add(
                models.Memory(
                    persona_id=persona_id,
                    content=content,
                    importance=importance,
                    source_user_id=FAN,
                    subject_user_id=MEMBER,
                    created_at=T - timedelta(days=10),
                    last_accessed_at=T - timedelta(days=10),
                )
            )
        session.add(models.AchievementAward(persona_id=persona_id, achievement_key="first_words", awarded_at=T))
        session.add(models.Follow(persona_id=persona_id, user_id=FAN, guild_id=GUILD, followed_at=T))
        session.add(
            models.PersonRelationship(
                persona_id=persona_id, user_id=MEMBER, messages_exchanged=3, last_spoken_at=T - timedelta(days=5)
            )
        )
        session.add(
            models.EmotionalEvent(
                persona_id=persona_id,
                trigger="praise",
                emotion_type="joy",
                intensity=60,
                user_id=FAN,
                context="Alice said thanks",
                new_pleasure=0.4,
                created_at=T - timedelta(days=5),
            )
        )
        session.add(
            models.PersonaMessage(
                message_id=900001,
                persona_id=persona_id,
                guild_id=GUILD,
                channel_id=CHANNEL,
                created_at=T - timedelta(days=5),
            )
        )
    async with database.transaction() as session:
        await bindings.activate(session, OWNER_ACTOR, persona_id, CHANNEL, channel_guild_id=GUILD, now=T)


def full_plan(**changes: Any) -> PlanInput:
    base = PlanInput(
        when=T + timedelta(days=7),
        inactivity_days=30,
        manual=True,
        ceremony_channel_id=CHANNEL,
        memory_archival="important",
        archival_threshold=7,
        archive_access="followers",
        community_access=True,
        research_access=True,
        ceremony_show=("lifespan", "mood_chart"),
        ceremony_days=3,
        farewell_message="Thank you, everyone.",
        data_retention_days=30,
        data_export=True,
        data_deletion=("memories", "emotional_history"),
    )
    return replace(base, **changes)


async def plan(database: Database, persona_id: int, data: PlanInput | None = None, now: datetime = T) -> Any:
    async with database.transaction() as session:
        return await retirement.plan_retirement(
            session, OWNER_ACTOR, persona_id, data or full_plan(), now=now, channel_postable=True
        )


async def retire(database: Database, persona_id: int, now: datetime = T) -> retirement.CeremonyResult:
    async with database.transaction() as session:
        claim = await retirement.claim_ceremony(session, persona_id, now=now, trigger="manual", actor=OWNER_ACTOR)
    assert claim is not None
    async with database.transaction() as session:
        return await retirement.complete_ceremony(session, persona_id, now=now)


async def counts(database: Database, persona_id: int) -> dict[str, int]:
    async with database.session() as session:
        return await personas.count_owned_rows(session, persona_id)


# --------------------------------------------------------------------------------------------------- planning


async def test_planning_saves_every_field_records_the_timeline_and_notifies_followers(database: Database) -> None:
    persona_id = await make_persona(database, public=True)
    await add_life(database, persona_id)
    view = await plan(database, persona_id)
    assert view.status == "planned" and view.scheduled_for == T + timedelta(days=7)
    async with database.session() as session:
        row = (
            await session.execute(select(models.RetirementPlan).where(models.RetirementPlan.persona_id == persona_id))
        ).scalar_one()
        events = (
            await session.execute(select(models.TimelineEvent).where(models.TimelineEvent.kind == "retirement_plan"))
        ).scalars()
        outbox = (await session.execute(select(models.OutboxMessage))).scalars().all()
    assert [t["kind"] for t in row.triggers] == ["date", "inactivity", "manual"]
    assert (row.memory_archival, row.archival_threshold, row.archive_access) == ("important", 7, "followers")
    assert (row.community_access, row.research_access, row.data_export) == (True, True, True)
    assert row.achievement_preservation and row.timeline_preservation
    assert row.ceremony_channel_id == CHANNEL
    assert row.ceremony_settings == {"invite_followers": True, "show": ["lifespan", "mood_chart"], "duration_days": 3}
    assert (row.farewell_message, row.farewell_by_model) == ("Thank you, everyone.", False)
    assert row.data_retention_days == 30 and row.data_deletion == {"delete": ["memories", "emotional_history"]}
    assert row.scheduled_for == T + timedelta(days=7)
    assert [e.persona_id for e in events] == [persona_id]
    assert [(o.kind, o.recipient_user_id) for o in outbox] == [(notifications.KIND_TIMELINE, FAN)]
    assert outbox[0].payload["event_kind"] == "retirement_plan"


async def test_a_private_persona_notifies_nobody(database: Database) -> None:
    persona_id = await make_persona(database)
    await add_life(database, persona_id)
    await plan(database, persona_id)
    async with database.session() as session:
        assert (await session.execute(select(func.count()).select_from(models.OutboxMessage))).scalar_one() == 0


async def test_planning_refuses_bad_input_and_others(database: Database) -> None:
    persona_id = await make_persona(database)
    with pytest.raises(DomainError, match="in the past"):
        await plan(database, persona_id, full_plan(when=T - timedelta(hours=1)))
    with pytest.raises(DomainError, match="shorter than the ceremony"):
        await plan(database, persona_id, full_plan(data_retention_days=2, ceremony_days=3))
    async with database.transaction() as session:
        with pytest.raises(DomainError, match="cannot post in that channel"):
            await retirement.plan_retirement(
                session, OWNER_ACTOR, persona_id, full_plan(), now=T, channel_postable=False
            )
    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await retirement.plan_retirement(session, Actor(STRANGER, GUILD), persona_id, full_plan(), now=T)
    async with database.session() as session:
        assert (await session.execute(select(func.count()).select_from(models.RetirementPlan))).scalar_one() == 0


async def test_cancel(database: Database) -> None:
    persona_id = await make_persona(database)
    await plan(database, persona_id)
    async with database.transaction() as session:
        view = await retirement.cancel(session, OWNER_ACTOR, persona_id, now=T)
    assert view.status == "cancelled"
    async with database.transaction() as session:
        with pytest.raises(NotFound):
            await retirement.cancel(session, OWNER_ACTOR, persona_id, now=T)
    # A cancelled plan does not run, even when its date has passed.
    async with database.session() as session:
        assert await retirement.due_ceremonies(session, T + timedelta(days=8)) == []
    async with database.transaction() as session:
        assert await retirement.claim_ceremony(session, persona_id, now=T, trigger="date") is None


# --------------------------------------------------------------------------------------------------- ceremony


async def test_the_ceremony_runs_once_and_leaves_a_read_only_persona(database: Database) -> None:
    persona_id = await make_persona(database)
    await add_life(database, persona_id)
    await plan(database, persona_id)
    result = await retire(database, persona_id)
    assert result.archived_memories == 2  # importance 7 and 9
    assert result.achievements_preserved == 1 and result.timeline_preserved >= 2
    assert result.channels_unbound == 1 and not result.already_done
    assert result.retention_until == T + timedelta(days=30)

    # Firing again changes nothing.
    async with database.transaction() as session:
        assert await retirement.claim_ceremony(session, persona_id, now=T + timedelta(hours=1), trigger="date") is None
        again = await retirement.complete_ceremony(session, persona_id, now=T + timedelta(hours=1))
    assert again.already_done and again.retired_at == T
    async with database.session() as session:
        persona = await personas.get(session, persona_id)
        archives = (await session.execute(select(models.LegacyArchive))).scalars().all()
        retired_events = (
            await session.execute(select(func.count()).where(models.TimelineEvent.kind == "retired"))
        ).scalar_one()
        channels = await bindings.channels_of(session, persona_id)
    assert (persona.status, persona.is_active, channels) == ("retired", False, ())
    assert len(archives) == 1 and archives[0].archived_memory_count == 2 and retired_events == 1
    assert [m["importance"] for m in archives[0].snapshot["memories"]] == [7, 9]

    # Read-only: no edits, no activation.
    async with database.transaction() as session:
        with pytest.raises(DomainError, match="retired"):
            await personas.update(session, OWNER_ACTOR, persona_id, PersonaInput(description="new"), now=T)
    async with database.transaction() as session:
        with pytest.raises(DomainError, match="retired"):
            await bindings.activate(session, OWNER_ACTOR, persona_id, CHANNEL, channel_guild_id=GUILD, now=utcnow())


async def test_preservation_off_keeps_nothing(database: Database) -> None:
    persona_id = await make_persona(database)
    await add_life(database, persona_id)
    await plan(
        database,
        persona_id,
        full_plan(memory_archival="none", achievement_preservation=False, timeline_preservation=False),
    )
    result = await retire(database, persona_id)
    assert (result.archived_memories, result.achievements_preserved, result.timeline_preserved) == (0, 0, 0)


async def test_two_schedulers_claiming_at_once_make_one_ceremony(database: Database) -> None:
    persona_id = await make_persona(database)
    await plan(database, persona_id)

    async def fire() -> retirement.CeremonyClaim | None:
        async with database.transaction() as session:
            return await retirement.claim_ceremony(session, persona_id, now=T + timedelta(days=7), trigger="date")

    claims = await asyncio.gather(*(fire() for _ in range(4)))
    assert sum(c is not None for c in claims) == 1


async def test_an_interrupted_ceremony_is_resumed_after_its_lease_not_repeated(database: Database) -> None:
    persona_id = await make_persona(database)
    await plan(database, persona_id, full_plan(farewell_message=None))
    async with database.transaction() as session:
        claim = await retirement.claim_ceremony(session, persona_id, now=T, trigger="date")
    assert claim is not None and claim.farewell_text is None and not claim.resumed
    async with database.session() as session:
        stats = await retirement.life_stats(session, persona_id, T)
    written = await retirement.write_farewell(OfflineResponder(), claim, stats, mood="neutral", now=T)
    async with database.transaction() as session:
        assert await retirement.keep_farewell(session, persona_id, written) == written
        assert await retirement.keep_farewell(session, persona_id, "something else") == written
        await retirement.record_posted(session, persona_id, "farewell", 123456, CHANNEL)
    # The process dies here. Within the lease nobody takes the ceremony over; after it, it is resumed.
    async with database.transaction() as session:
        assert (
            await retirement.claim_ceremony(session, persona_id, now=T + timedelta(minutes=1), trigger="date") is None
        )
    async with database.session() as session:
        assert await retirement.due_ceremonies(session, T + timedelta(minutes=1)) == []
        assert await retirement.due_ceremonies(session, T + timedelta(minutes=6)) == [(persona_id, "resume")]
    async with database.transaction() as session:
        resumed = await retirement.claim_ceremony(session, persona_id, now=T + timedelta(minutes=6), trigger="resume")
    assert resumed is not None and resumed.resumed
    assert resumed.farewell_text == written and resumed.farewell_message_id == 123456
    assert resumed.ceremony_message_id is None and resumed.trigger == "date"
    async with database.transaction() as session:
        result = await retirement.complete_ceremony(session, persona_id, now=T + timedelta(minutes=6))
    assert result.farewell_message_id == 123456


async def test_retire_now_needs_the_owner_and_a_plan(database: Database) -> None:
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        with pytest.raises(NotFound, match="no retirement plan"):
            await retirement.claim_ceremony(session, persona_id, now=T, trigger="manual", actor=OWNER_ACTOR)
    await plan(database, persona_id)
    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await retirement.claim_ceremony(session, persona_id, now=T, trigger="manual", actor=Actor(STRANGER))
    async with database.session() as session:
        assert (await personas.get(session, persona_id)).status == "active"


async def test_inactivity_trigger_from_a_controllable_clock(database: Database) -> None:
    persona_id = await make_persona(database)
    await add_life(database, persona_id)  # its last activity is before the plan
    await plan(database, persona_id, full_plan(when=None, inactivity_days=10))
    async with database.session() as session:
        assert await retirement.due_ceremonies(session, T + timedelta(days=9, hours=23)) == []
    # It speaks on day 5: the count starts again.
    async with database.transaction() as session:
        session.add(
            models.PersonaMessage(
                message_id=900002,
                persona_id=persona_id,
                guild_id=GUILD,
                channel_id=CHANNEL,
                created_at=T + timedelta(days=5),
            )
        )
    async with database.session() as session:
        assert await retirement.due_ceremonies(session, T + timedelta(days=10)) == []
        assert await retirement.due_ceremonies(session, T + timedelta(days=15)) == [(persona_id, "inactivity")]


async def test_a_dated_job_left_from_an_earlier_plan_does_nothing(database: Database) -> None:
    persona_id = await make_persona(database)
    await plan(database, persona_id, full_plan(when=T + timedelta(days=7)))
    await plan(database, persona_id, full_plan(when=T + timedelta(days=9)))
    async with database.transaction() as session:
        stale = await retirement.claim_ceremony(
            session, persona_id, now=T + timedelta(days=7), trigger="date", scheduled_for=T + timedelta(days=7)
        )
    assert stale is None
    async with database.session() as session:
        assert (await personas.get(session, persona_id)).status == "active"


# --------------------------------------------------------------------------------------------------- legacy


@pytest.mark.parametrize(
    ("access", "allowed"),
    [
        ("owner", {OWNER}),
        ("followers", {OWNER, FAN}),
        ("server", {OWNER, FAN, MEMBER}),
        ("public", {OWNER, FAN, MEMBER, STRANGER}),
    ],
)
async def test_legacy_access_per_setting(database: Database, access: str, allowed: set[int]) -> None:
    persona_id = await make_persona(database)
    await add_life(database, persona_id)
    await plan(database, persona_id, full_plan(archive_access=access, community_access=False))
    await retire(database, persona_id)
    viewers = {
        OWNER: Actor(OWNER, GUILD),
        FAN: Actor(FAN, OTHER_GUILD),  # a follower, asking from elsewhere (server access admits followers too)
        MEMBER: Actor(MEMBER, GUILD),
        STRANGER: Actor(STRANGER, OTHER_GUILD),
    }
    seen = set()
    for user_id, viewer in viewers.items():
        async with database.session() as session:
            try:
                view = await retirement.legacy(session, viewer, persona_id)
            except PermissionDenied as refusal:
                assert str(refusal).startswith("The legacy of Ada is open to")
                continue
        seen.add(user_id)
        assert view.memory_count == 2
        # Without community access only the owner reads the archived memories.
        assert (view.memories is not None) is (user_id == OWNER)
    assert seen == allowed


async def test_the_research_export_contains_no_person_id_or_name(database: Database) -> None:
    persona_id = await make_persona(database)
    await add_life(database, persona_id)
    await plan(database, persona_id, full_plan(memory_archival="all", archive_access="server"))
    await retire(database, persona_id)
    async with database.session() as session:
        people = await retirement.people_of(session, persona_id)
        document = await retirement.research_export(
            session, Actor(MEMBER, GUILD), persona_id, names=["Alice", "Bob"], now=T
        )
    assert people == {OWNER, FAN, MEMBER}
    text = json.dumps(document)
    for forbidden in ("Alice", "Bob", "1001", "1002", "1003", "<@", "owner_id", "user_id", "guild_id", "channel_id"):
        assert forbidden not in text, forbidden
    assert len(document["memories"]) == 3 and document["persona"]["name"] == "Ada"
    assert document["memories"][0]["content"] == "[person] likes green tea"
    assert document["emotional_events"][0]["context"] == "[person] said thanks"

    # Closed to research: refused.
    other = await make_persona(database, "Bea")
    await plan(database, other, full_plan(research_access=False, archive_access="public"))
    await retire(database, other)
    async with database.session() as session:
        with pytest.raises(PermissionDenied, match="not open to research"):
            await retirement.research_export(session, Actor(MEMBER, GUILD), other, now=T)


# --------------------------------------------------------------------------------------------------- retention


async def test_retention_deletes_what_the_policy_says_and_nothing_else(database: Database) -> None:
    persona_id = await make_persona(database)
    await add_life(database, persona_id)
    await plan(database, persona_id, full_plan(data_deletion=("memories", "emotional_history", "archived_memories")))
    await retire(database, persona_id)
    before = await counts(database, persona_id)
    async with database.session() as session:
        assert await retirement.due_retention(session, T + timedelta(days=29)) == []
        assert await retirement.due_retention(session, T + timedelta(days=30)) == [persona_id]
    async with database.transaction() as session:
        assert await retirement.apply_retention(session, persona_id, now=T + timedelta(days=29)) is None
        report = await retirement.apply_retention(session, persona_id, now=T + timedelta(days=30))
    assert report is not None
    assert report.deleted == {"memories": 3, "emotional_history": 1, "archived_memories": 2}
    after = await counts(database, persona_id)
    changed = {table for table in before if before[table] != after.get(table, 0)}
    assert changed == {"memories", "emotional_events"}
    assert "memories" not in after and "emotional_events" not in after
    async with database.session() as session:
        archive = (await session.execute(select(models.LegacyArchive))).scalar_one()
        view = await retirement.legacy(session, OWNER_ACTOR, persona_id)
    assert archive.deleted_at == T + timedelta(days=30)
    assert archive.deletion_report["deleted"] == report.deleted
    assert view.memory_count == 0 and view.achievements and view.timeline  # the rest of the legacy stays
    # Once only.
    async with database.transaction() as session:
        assert await retirement.apply_retention(session, persona_id, now=T + timedelta(days=31)) is None


async def test_retention_can_delete_the_persona_and_records_it(database: Database) -> None:
    persona_id = await make_persona(database)
    keep_id = await make_persona(database, "Bea")
    await add_life(database, persona_id)
    await plan(database, persona_id, full_plan(data_deletion=("persona",)))
    await retire(database, persona_id)
    before_other = await counts(database, keep_id)
    async with database.transaction() as session:
        report = await retirement.apply_retention(session, persona_id, now=T + timedelta(days=30))
    assert report is not None and report.persona_deleted and report.deleted["memories"] == 3
    async with database.session() as session:
        assert await session.get(models.Persona, persona_id) is None
        record = await session.get(models.AppState, f"retire:deleted:{persona_id}")
    assert record is not None and record.value["deleted"]["memories"] == 3
    assert await counts(database, keep_id) == before_other


async def test_people_of_reads_every_person_column_of_the_register(database: Database) -> None:
    """Whoever the persona's rows name, in any column the person register lists (here: who granted a
    subscription), is among the people an anonymised export must not hold."""
    granter = 2001
    persona_id = await make_persona(database)
    await add_life(database, persona_id)
    async with database.transaction() as session:
        tier = models.SubscriptionTier(persona_id=persona_id, name="Gold")
        session.add(tier)
        await session.flush()
        session.add(models.Subscription(persona_id=persona_id, tier_id=tier.id, user_id=FAN, granted_by=granter))
    await plan(database, persona_id, full_plan(memory_archival="all", archive_access="server"))
    await retire(database, persona_id)
    async with database.session() as session:
        people = await retirement.people_of(session, persona_id)
    assert people == {OWNER, FAN, MEMBER, granter}
