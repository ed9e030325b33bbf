"""Persona services on SQLite and PostgreSQL: round trip, validation, ownership, limits and cascade on delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.traits import ALL_TRAITS
from bot.db import models
from bot.db.engine import Database
from bot.services import personas
from bot.services.personas import Actor, PersonaInput

GUILD = 111_111_111_111_111_111
OTHER_GUILD = 222_222_222_222_222_222
OWNER = Actor(user_id=900_000_000_000_000_001, guild_id=GUILD)
STRANGER = Actor(user_id=900_000_000_000_000_002, guild_id=GUILD)
MANAGER = Actor(user_id=900_000_000_000_000_003, guild_id=GUILD, can_manage_guild=True)
FOREIGN_MANAGER = Actor(user_id=900_000_000_000_000_004, guild_id=OTHER_GUILD, can_manage_guild=True)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def full_input(name: str = "Ada") -> PersonaInput:
    """Every field a caller can set, none at its default."""
    traits = {trait: 10.0 + 5 * index for index, trait in enumerate(ALL_TRAITS)}
    return PersonaInput(
        name=name,
        description="A patient mathematician who loves puzzles.",
        avatar_url="https://example.org/ada.png",
        traits=traits,
        custom_traits=[
            {
                "name": "Punctuality",
                "value": 77,
                "description": "Always on time",
                "category": "habits",
                "influences": [{"behavior": "reminders", "impact": 40, "context": "meetings"}],
            }
        ],
        behavior={
            "chattiness": 35,
            "verbosity": "detailed",
            "formality": "formal",
            "emoji_use": "none",
            "reply_in_threads": True,
            "cooldown_seconds": 12,
        },
        privacy={
            "visibility": {"mood": "owner", "timeline": "public"},
            "remember_people": False,
            "ask_before_remembering": False,
            "shareable": True,
        },
        memory={
            "preset": "deep",
            "decay_function": "logarithmic",
            "decay_rate": 0.2,
            "exempt_categories": ["facts"],
            "high_importance_threshold": 9,
        },
        plugins=["dice", "clock"],
        legacy_settings={"epitaph": "She counted everything."},
    )


async def test_round_trip_of_a_persona_with_every_field_set(database: Database) -> None:
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, full_input(), now=NOW)
    async with database.session() as session:
        loaded = await personas.get(session, created.id, OWNER)

    assert loaded == created
    assert loaded.guild_id == GUILD and loaded.owner_id == OWNER.user_id
    assert loaded.name == "Ada" and loaded.avatar_url == "https://example.org/ada.png"
    assert loaded.created_at == NOW and loaded.created_at.tzinfo is not None
    assert loaded.traits == {trait: 10.0 + 5 * i for i, trait in enumerate(ALL_TRAITS)}
    assert loaded.custom_traits[0]["influences"] == [{"behavior": "reminders", "impact": 40, "context": "meetings"}]
    assert loaded.behavior["verbosity"] == "detailed" and loaded.behavior["cooldown_seconds"] == 12
    assert loaded.behavior["reply_when_mentioned"] is True  # a default kept beside the given values
    assert loaded.privacy["visibility"]["mood"] == "owner" and loaded.privacy["visibility"]["timeline"] == "public"
    assert loaded.privacy["visibility"]["profile"] == "server"
    assert loaded.memory_config["decay_function"] == "logarithmic"
    assert loaded.memory_config["exempt_categories"] == ["facts"]
    assert loaded.memory_config["high_importance_threshold"] == 9
    assert loaded.plugins == ["dice", "clock"]
    assert loaded.legacy_settings == {"epitaph": "She counted everything."}
    assert loaded.status == "active" and loaded.is_active is False and loaded.follower_count == 0

    async with database.session() as session:
        state = await session.get(models.EmotionalState, created.id)
        events = (await session.execute(select(models.TimelineEvent.kind))).scalars().all()
    assert state is not None
    # The baseline is the default mood of these traits (not the origin: the traits are far from 50).
    assert (state.baseline_pleasure, state.baseline_arousal, state.baseline_dominance) != (0.0, 0.0, 0.0)
    assert events == ["created"]


async def test_update_changes_settings_and_moves_the_default_mood(database: Database) -> None:
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, PersonaInput(name="Bea"), now=NOW)
    async with database.transaction() as session:
        before = await session.get(models.EmotionalState, created.id)
        baseline_before = before.baseline_pleasure
        updated = await personas.update(
            session,
            OWNER,
            created.id,
            PersonaInput(
                name="Beatrice",
                traits={"agreeableness": 95},
                behavior={"chattiness": 80},
                privacy={"visibility": {"traits": "owner"}},
                memory={"decay_rate": 0.5},
            ),
            now=NOW + timedelta(hours=1),
        )
    assert updated.name == "Beatrice"
    assert updated.traits["agreeableness"] == 95 and updated.traits["openness"] == 50
    assert updated.behavior["chattiness"] == 80 and updated.behavior["verbosity"] == "balanced"
    assert updated.privacy["visibility"]["traits"] == "owner" and updated.privacy["visibility"]["mood"] == "server"
    assert updated.memory_config["decay_rate"] == 0.5
    assert updated.updated_at == NOW + timedelta(hours=1)
    async with database.session() as session:
        after = await session.get(models.EmotionalState, created.id)
    assert after.baseline_pleasure > baseline_before  # more agreeable, more pleasant (SCIENCE.md 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "   "}, "cannot be blank"),
        ({"name": "x" * 201}, "limit is 200"),
        ({"description": "y" * 100_001}, "limit is 100,000"),
        ({"avatar_url": "ftp://example.org/a.png"}, "http:// or https://"),
        ({"avatar_url": "not a url"}, "http:// or https://"),
        ({"traits": {"openness": 101}}, "Openness"),
        ({"traits": {"humor": -1}}, "Humor"),
        ({"traits": {"charisma": 50}}, "charisma"),
        (
            {
                "custom_traits": [
                    {"name": f"t{i}", "value": 1, "description": "", "category": "c", "influences": []}
                    for i in range(21)
                ]
            },
            "20",
        ),
        ({"behavior": {"verbosity": "endless"}}, "Verbosity"),
        ({"privacy": {"visibility": {"mood": "everyone"}}}, "Visibility of mood"),
        ({"memory": {"hot_memory_size": 5000, "warm_memory_size": 10}}, "number of hot memories"),
    ],
)
async def test_each_validation_rule_rejects_and_saves_nothing(database: Database, change, message) -> None:
    data = PersonaInput(name="Valid")
    for key, value in change.items():
        setattr(data, key, value)
    with pytest.raises(DomainError, match=message):
        async with database.transaction() as session:
            await personas.create(session, OWNER, data, now=NOW)
    async with database.session() as session:
        assert (await session.execute(select(func.count()).select_from(models.Persona))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(models.MemoryConfig))).scalar_one() == 0


async def test_an_invalid_update_changes_nothing(database: Database) -> None:
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, PersonaInput(name="Cleo"), now=NOW)
    with pytest.raises(DomainError):
        async with database.transaction() as session:
            await personas.update(
                session, OWNER, created.id, PersonaInput(description="fine", traits={"openness": 500}), now=NOW
            )
    async with database.session() as session:
        again = await personas.get(session, created.id)
    assert again == created


async def test_ownership_rules(database: Database) -> None:
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, PersonaInput(name="Dora"), now=NOW)

    for actor in (STRANGER, MANAGER):  # a server manager may delete, but not edit
        with pytest.raises(PermissionDenied):
            async with database.transaction() as session:
                await personas.update(session, actor, created.id, PersonaInput(name="Stolen"), now=NOW)
    for actor in (STRANGER, FOREIGN_MANAGER):  # a manager of another server may not delete
        with pytest.raises(PermissionDenied):
            async with database.transaction() as session:
                await personas.delete_persona(session, actor, created.id)
    async with database.session() as session:
        assert (await personas.get(session, created.id)).name == "Dora"

    async with database.transaction() as session:
        report = await personas.delete_persona(session, MANAGER, created.id)
    assert report.name == "Dora"
    with pytest.raises(NotFound):
        async with database.session() as session:
            await personas.get(session, created.id)


async def test_private_personas_are_hidden_from_others(database: Database) -> None:
    async with database.transaction() as session:
        hidden = await personas.create(
            session, OWNER, PersonaInput(name="Hidden", privacy={"visibility": {"profile": "owner"}}), now=NOW
        )
        shown = await personas.create(session, OWNER, PersonaInput(name="Shown"), now=NOW)
    async with database.session() as session:
        assert [p.name for p in await personas.list_visible(session, GUILD, STRANGER.user_id)] == ["Shown"]
        assert [p.name for p in await personas.list_visible(session, GUILD, OWNER.user_id)] == [
            "Hidden",
            "Shown",
        ]
        assert [p.id for p in await personas.list_own(session, OWNER.user_id, GUILD)] == [hidden.id, shown.id]
        assert await personas.list_own(session, OWNER.user_id, OTHER_GUILD) == []
        with pytest.raises(NotFound):
            await personas.get(session, hidden.id, STRANGER)
        assert (await personas.get(session, shown.id, STRANGER)).name == "Shown"


async def test_limit_per_user_and_duplicate_names(database: Database) -> None:
    async with database.transaction() as session:
        for index in range(3):
            await personas.create(session, OWNER, PersonaInput(name=f"P{index}"), max_per_user=3, now=NOW)
    with pytest.raises(DomainError, match="already have 3 personas"):
        async with database.transaction() as session:
            await personas.create(session, OWNER, PersonaInput(name="P3"), max_per_user=3, now=NOW)
    with pytest.raises(DomainError, match="already have a persona called 'p0'"):
        async with database.transaction() as session:
            await personas.create(session, OWNER, PersonaInput(name="p0"), now=NOW)
    # Another person may use the same name.
    async with database.transaction() as session:
        await personas.create(session, STRANGER, PersonaInput(name="P0"), now=NOW)


async def _fill_every_owned_table(session, persona_id: int, other_id: int) -> None:
    """One row in every table that belongs to a persona."""
    user = 700_000_000_000_000_001
    session.add_all(
        [
            models.ActiveEmotion(persona_id=persona_id, emotion_type="joy", intensity=50, duration_minutes=10),
            models.EmotionalEvent(persona_id=persona_id, trigger="praise", emotion_type="joy", intensity=40),
            models.LearnedResponse(persona_id=persona_id, trigger="praise", scale=1.2),
            models.Memory(persona_id=persona_id, content="Likes tea", source_user_id=user),
            models.ConsentRecord(
                persona_id=persona_id,
                guild_id=GUILD,
                user_id=user,
                scope="memory",
                granted=True,
                recorded_by=user,
            ),
            models.CustomBehavior(persona_id=persona_id, name="greet", trigger_kind="keywords", action_kind="reply"),
            models.PersonRelationship(persona_id=persona_id, user_id=user, messages_exchanged=3),
            models.PersonaRelationship(persona_id=other_id, other_persona_id=persona_id, kind="friend"),
            models.AchievementAward(persona_id=persona_id, achievement_key="first-conversation"),
            models.Follow(persona_id=persona_id, user_id=user, guild_id=GUILD),
            models.Endorsement(persona_id=persona_id, user_id=user, text="Great"),
            models.PublicProfile(persona_id=persona_id, display_name="Public"),
            models.RetirementPlan(persona_id=persona_id, created_by=OWNER.user_id),
            models.LegacyArchive(persona_id=persona_id),
            models.WizardDraft(
                user_id=OWNER.user_id, editing_persona_id=persona_id, expires_at=NOW + timedelta(days=1)
            ),
            models.ChannelBinding(persona_id=persona_id, guild_id=GUILD, channel_id=5, activated_by=OWNER.user_id),
            models.PersonaMessage(message_id=10_000 + persona_id, persona_id=persona_id, guild_id=GUILD, channel_id=5),
        ]
    )
    tier = models.SubscriptionTier(persona_id=persona_id, name="Gold")
    session.add(tier)
    await session.flush()
    session.add(models.Subscription(persona_id=persona_id, tier_id=tier.id, user_id=user))
    await session.flush()


async def test_deleting_a_persona_leaves_nothing_orphaned(database: Database) -> None:
    async with database.transaction() as session:
        doomed = await personas.create(session, OWNER, PersonaInput(name="Doomed"), now=NOW)
        survivor = await personas.create(session, OWNER, PersonaInput(name="Survivor"), now=NOW)
        await _fill_every_owned_table(session, doomed.id, survivor.id)
        await _fill_every_owned_table(session, survivor.id, doomed.id)

    async with database.session() as session:
        before = await personas.count_owned_rows(session, doomed.id)
    # Every persona-owned table has a row for the doomed persona.
    assert set(before) == {table.__tablename__ for table in models.PERSONA_OWNED_TABLES}

    async with database.transaction() as session:
        report = await personas.delete_persona(session, OWNER, doomed.id)
    assert report.removed == before

    async with database.session() as session:
        assert await personas.count_owned_rows(session, doomed.id) == {}
        # The other persona keeps its rows, less the relationship that pointed at the deleted one.
        survivor_rows = await personas.count_owned_rows(session, survivor.id)
    assert survivor_rows["memories"] == 1 and survivor_rows["subscriptions"] == 1
    assert "persona_relationships" not in survivor_rows


async def test_a_deleted_personas_id_is_never_given_to_another(database: Database) -> None:
    """Jobs and outbox rows name personas by id: a new persona must never inherit a deleted one's id."""
    async with database.transaction() as session:
        first = await personas.create(session, OWNER, PersonaInput(name="First"), now=NOW)
    async with database.transaction() as session:
        await personas.delete_persona(session, OWNER, first.id)
    async with database.transaction() as session:
        second = await personas.create(session, OWNER, PersonaInput(name="Second"), now=NOW)
    assert second.id > first.id
