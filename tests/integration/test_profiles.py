"""Public profiles, endorsements and verification on SQLite and PostgreSQL: publish with recorded consent,
unpublish, the profile per viewer for every privacy field, the public timeline, endorsements, verification."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.db import models
from bot.db.engine import Database
from bot.services import endorsements, personas, profiles, subscriptions
from bot.services.personas import Actor, PersonaInput

GUILD, OTHER_GUILD = 333, 444
OWNER = Actor(user_id=501, guild_id=GUILD)
MEMBER = Actor(user_id=502, guild_id=GUILD)
OUTSIDER = Actor(user_id=503, guild_id=OTHER_GUILD)
ADMIN = Actor(user_id=504, guild_id=GUILD, can_manage_guild=True)
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


async def make_persona(database: Database, **visibility: str) -> int:
    async with database.transaction() as session:
        record = await personas.create(
            session,
            OWNER,
            PersonaInput(name="Ada", description="Ada's story", privacy={"visibility": visibility}),
            now=NOW - timedelta(days=1),
        )
    return record.id


async def publish(database: Database, persona_id: int, **settings: object) -> profiles.PublishResult:
    async with database.transaction() as session:
        return await profiles.publish(
            session,
            OWNER,
            persona_id,
            profiles.PublishSettings(**settings),
            now=NOW,  # type: ignore[arg-type]
        )


async def profile_for(database: Database, viewer: Actor, persona_id: int) -> object:
    async with database.session() as session:
        return await profiles.get_profile(session, viewer, persona_id, now=NOW)


async def test_publish_records_consent_and_unpublish_revokes_and_hides(database: Database) -> None:
    persona_id = await make_persona(database, profile="owner", timeline="public")
    async with database.session() as session:
        preview = await profiles.preview_publish(
            session, OWNER, persona_id, profiles.PublishSettings(display_name="Ada L", allow_collaboration=True)
        )
        with pytest.raises(PermissionDenied):
            await profiles.preview_publish(session, MEMBER, persona_id, profiles.PublishSettings())
    assert preview.profile_raised and preview.scope["profile"] == "server" and preview.scope["timeline"] == "public"
    with pytest.raises(NotFound):
        await profile_for(database, MEMBER, persona_id)  # nothing public before the owner confirms

    with pytest.raises(PermissionDenied):
        async with database.transaction() as session:
            await profiles.publish(session, MEMBER, persona_id, profiles.PublishSettings(), now=NOW)
    result = await publish(database, persona_id, display_name="Ada L", allow_collaboration=True)
    assert result.published and result.recorded_at == NOW

    async with database.session() as session:
        [record] = await profiles.publication_history(session, persona_id)
        row = await session.get(models.PublicProfile, persona_id)
        persona = await session.get(models.Persona, persona_id)
        published_events = await session.scalar(
            select(func.count()).where(
                models.TimelineEvent.persona_id == persona_id, models.TimelineEvent.kind == "published"
            )
        )
    # Scope, time and who.
    assert (record.scope, record.granted, record.recorded_at) == ("publish", True, NOW)
    assert record.user_id == OWNER.user_id and record.recorded_by == OWNER.user_id and record.guild_id == GUILD
    note = json.loads(record.note or "{}")
    assert note["visibility"] == preview.scope and note["allow_collaboration"] is True
    assert persona is not None and persona.is_public and persona.privacy_settings["visibility"]["profile"] == "server"
    assert row is not None and row.display_name == "Ada L" and row.allow_collaboration and row.unpublished_at is None
    assert published_events == 1

    seen = await profile_for(database, MEMBER, persona_id)
    assert seen.display_name == "Ada L" and seen.bio == "Ada's story" and seen.allow_collaboration is True
    with pytest.raises(NotFound):
        await profile_for(database, OUTSIDER, persona_id)  # the profile is for this server

    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await profiles.unpublish(session, MEMBER, persona_id, now=NOW)
    async with database.transaction() as session:
        await profiles.unpublish(session, OWNER, persona_id, now=NOW + timedelta(minutes=5))
    async with database.session() as session:
        history = await profiles.publication_history(session, persona_id)
        persona = await session.get(models.Persona, persona_id)
        row = await session.get(models.PublicProfile, persona_id)
    assert [(r.granted, r.recorded_at) for r in history] == [(False, NOW + timedelta(minutes=5)), (True, NOW)]
    assert history[0].recorded_by == OWNER.user_id and history[0].scope == "publish"
    assert persona is not None and not persona.is_public
    assert persona.privacy_settings["visibility"]["profile"] == "owner"  # restored as it was before publishing
    assert row is not None and row.unpublished_at == NOW + timedelta(minutes=5)
    with pytest.raises(NotFound):
        await profile_for(database, MEMBER, persona_id)
    own = await profile_for(database, OWNER, persona_id)
    assert own.is_owner and not own.published
    async with database.transaction() as session:
        with pytest.raises(DomainError, match="not published"):
            await profiles.unpublish(session, OWNER, persona_id, now=NOW)


async def test_publishing_tells_followers(database: Database) -> None:
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        session.add_all(
            [
                models.Follow(persona_id=persona_id, user_id=MEMBER.user_id, guild_id=GUILD),
                models.Follow(persona_id=persona_id, user_id=OUTSIDER.user_id, guild_id=GUILD, notify_new_posts=False),
            ]
        )
    result = await publish(database, persona_id)
    async with database.session() as session:
        rows = (await session.execute(select(models.OutboxMessage))).scalars().all()
    assert result.notified == 1 and [r.recipient_user_id for r in rows] == [MEMBER.user_id]
    again = await publish(database, persona_id, display_name="Ada again")  # a re-publication is no news
    assert again.notified == 0


@pytest.mark.parametrize("level", ["owner", "server", "public"])
@pytest.mark.parametrize("item", ["profile", "description", "achievements", "timeline"])
async def test_the_service_applies_each_privacy_field_per_viewer(database: Database, item: str, level: str) -> None:
    visibility = {name: "public" for name in ("profile", "description", "achievements", "timeline")} | {item: level}
    persona_id = await make_persona(database, **visibility)
    async with database.transaction() as session:
        session.add(models.AchievementAward(persona_id=persona_id, achievement_key="first-conversation"))
    await publish(database, persona_id)
    if item == "profile" and level == "owner":
        # Publishing an owner-only profile makes it the server's (the owner confirmed that).
        level = "server"

    for viewer, who in ((OWNER, "owner"), (MEMBER, "member"), (OUTSIDER, "outsider")):
        expected = who == "owner" or level == "public" or (level == "server" and who == "member")
        try:
            view = await profile_for(database, viewer, persona_id)
        except NotFound:
            view = None
        if item == "profile":
            assert (view is not None) is expected
            if view is not None:
                assert view.follower_count is not None and view.verification_status == "unverified"
            continue
        assert view is not None
        shown = {
            "description": view.bio,
            "achievements": view.achievements,
            "timeline": view.timeline,
        }[item]
        assert (shown is not None) is expected, (item, level, who)
        if item == "achievements" and expected:
            assert view.achievement_count == 1 and [a.key for a in view.achievements or ()] == ["first-conversation"]


async def test_the_public_timeline_shows_public_events_sanitised(database: Database) -> None:
    persona_id = await make_persona(database, timeline="server")
    await publish(database, persona_id)
    async with database.transaction() as session:
        session.add_all(
            [
                models.TimelineEvent(
                    persona_id=persona_id,
                    kind="post",
                    title="Public",
                    details={"user_id": 42, "mood": "happy <@42>", "deep": {"x": 1}},
                    is_public=True,
                    created_at=NOW + timedelta(minutes=1),
                ),
                models.TimelineEvent(
                    persona_id=persona_id, kind="post", title="Private", is_public=False, created_at=NOW
                ),
                models.TimelineEvent(
                    persona_id=persona_id,
                    kind="post",
                    title="Gold only",
                    is_public=True,
                    subscribers_only=True,
                    created_at=NOW + timedelta(minutes=2),
                ),
            ]
        )
        tier = await subscriptions.create_tier(
            session, OWNER, persona_id, name="Gold", perks=["subscriber_posts"], now=NOW
        )
        session.add(models.GuildSettings(guild_id=GUILD, free_tiers_enabled=True))
    member_view = await profile_for(database, MEMBER, persona_id)
    assert [e.title for e in member_view.timeline] == ["Public", "Ada was published", "Ada was created"]
    assert member_view.timeline[0].metadata == {"mood": "happy"}

    async with database.transaction() as session:
        await subscriptions.grant_free(session, ADMIN, persona_id, tier.id, MEMBER.user_id, now=NOW)
    subscriber_view = await profile_for(database, MEMBER, persona_id)
    assert [e.title for e in subscriber_view.timeline] == [
        "Gold only",
        "Public",
        "Ada was published",
        "Ada was created",
    ]


async def test_endorse_once_per_person_and_remove(database: Database) -> None:
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        with pytest.raises(NotFound):
            await endorsements.endorse(session, MEMBER, persona_id, "Early", now=NOW)  # not published yet
    await publish(database, persona_id)

    async with database.transaction() as session:
        first = await endorsements.endorse(session, MEMBER, persona_id, "Great", now=NOW)
    async with database.transaction() as session:
        second = await endorsements.endorse(session, MEMBER, persona_id, "Still great", now=NOW)
    async with database.transaction() as session:
        other = await endorsements.endorse(session, ADMIN, persona_id, None, now=NOW)
    assert (first.action, second.action, other.action) == ("created", "updated", "created")
    async with database.session() as session:
        count = await session.scalar(select(func.count()).where(models.Endorsement.persona_id == persona_id))
    assert count == 2
    view = await profile_for(database, MEMBER, persona_id)
    assert view.endorsement_count == 2
    assert {(e.user_id, e.text) for e in view.endorsements} == {(MEMBER.user_id, "Still great"), (ADMIN.user_id, None)}

    async with database.transaction() as session:
        with pytest.raises(DomainError, match="your own"):
            await endorsements.endorse(session, OWNER, persona_id, "Me", now=NOW)
        with pytest.raises(NotFound):
            await endorsements.endorse(session, OUTSIDER, persona_id, "From afar", now=NOW)
    async with database.transaction() as session:
        removed = await endorsements.remove(session, MEMBER, persona_id)
    assert removed.action == "removed"
    async with database.transaction() as session:
        with pytest.raises(DomainError, match="not endorsed"):
            await endorsements.remove(session, MEMBER, persona_id)
    view = await profile_for(database, MEMBER, persona_id)
    assert [e.user_id for e in view.endorsements] == [ADMIN.user_id]


async def test_verify_needs_manage_server_on_the_personas_server(database: Database) -> None:
    persona_id = await make_persona(database)
    await publish(database, persona_id)
    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await profiles.set_verification(session, MEMBER, persona_id, "verified", now=NOW)
        with pytest.raises(PermissionDenied):
            await profiles.set_verification(session, OWNER, persona_id, "verified", now=NOW)  # owners too
        with pytest.raises(NotFound):
            await profiles.set_verification(
                session, Actor(ADMIN.user_id, OTHER_GUILD, can_manage_guild=True), persona_id, "verified", now=NOW
            )
        with pytest.raises(DomainError):
            await profiles.set_verification(session, ADMIN, persona_id, "trusted", now=NOW)
    async with database.transaction() as session:
        change = await profiles.set_verification(session, ADMIN, persona_id, "verified", now=NOW)
    assert (change.previous, change.status) == ("unverified", "verified")
    view = await profile_for(database, MEMBER, persona_id)
    assert view.verification_status == "verified"


async def test_personal_and_retired_personas_cannot_be_published(database: Database) -> None:
    async with database.transaction() as session:
        personal = await personas.create(session, Actor(user_id=OWNER.user_id), PersonaInput(name="Solo"), now=NOW)
    persona_id = await make_persona(database)
    async with database.transaction() as session:
        (await session.get(models.Persona, persona_id)).status = "retired"
    async with database.transaction() as session:
        with pytest.raises(DomainError, match="personal persona"):
            await profiles.publish(session, Actor(OWNER.user_id), personal.id, profiles.PublishSettings(), now=NOW)
        with pytest.raises(DomainError, match="retired"):
            await profiles.publish(session, OWNER, persona_id, profiles.PublishSettings(), now=NOW)
        with pytest.raises(DomainError):
            await profiles.publish(session, OWNER, persona_id, profiles.PublishSettings(display_name="x" * 81), now=NOW)
