"""Public profiles: publish and unpublish with recorded consent, the profile as each viewer sees it, verification.

Publishing is the owner's consent to show the public profile (what it shows, and to whom, is
:func:`bot.core.social.publication_scope`); it is recorded as a consent record (scope ``publish``, granted, who and
when, and a note naming the scope), and so is its revocation by ``unpublish``. What a viewer sees is
:func:`bot.core.social.view_profile`: the persona's per-field privacy settings, one rule for every field.

A publication is a public ``published`` timeline event (``bot.services.timeline.record``), which tells the
followers who want new posts through the outbox, in the same transaction; an unpublication is a private one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import social as rules
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.ownership import PERSONA_NOT_FOUND, Actor
from bot.core.personas import PrivacySettings
from bot.db import models
from bot.services import consent, subscriptions, timeline
from bot.services.access import owned_persona, persona_or_not_found

PUBLISH_SCOPE = "publish"
NOT_PUBLIC = "That persona has no public profile here."


@dataclass(frozen=True)
class PublishSettings:
    """What the owner chooses for the public profile (None: the persona's own name, description, avatar)."""

    display_name: str | None = None
    bio: str | None = None
    avatar_url: str | None = None
    allow_messages: bool = True
    allow_collaboration: bool = False

    def validated(self) -> PublishSettings:
        return PublishSettings(
            display_name=rules.validate_display_name(self.display_name),
            bio=rules.validate_bio(self.bio),
            avatar_url=rules.validate_public_avatar(self.avatar_url),
            allow_messages=bool(self.allow_messages),
            allow_collaboration=bool(self.allow_collaboration),
        )


@dataclass(frozen=True)
class PublishPreview:
    """What the owner is asked to confirm: per privacy field, who will see it (``scope``), and whether the profile
    itself goes from owner-only to the server (``profile_raised``)."""

    persona_id: int
    persona_name: str
    display_name: str
    settings: PublishSettings
    scope: dict[str, str]
    profile_raised: bool
    already_published: bool


@dataclass(frozen=True)
class PublishResult:
    persona_id: int
    persona_name: str
    published: bool
    consent_id: int
    recorded_at: datetime
    notified: int


@dataclass(frozen=True)
class VerificationChange:
    persona_id: int
    persona_name: str
    previous: str
    status: str


_PUBLISH_ACTION = "publish or unpublish it"  # completes "Only the persona's owner can ..."


def _require_publishable(persona: models.Persona) -> None:
    if persona.guild_id is None:
        raise DomainError("A personal persona (made in DMs) has no server to be public in; make it on a server.")
    if persona.status in ("retiring", "retired"):
        raise DomainError(f"{persona.name} is {persona.status}: it can no longer be published.")


async def preview_publish(
    session: AsyncSession, actor: Actor, persona_id: int, settings: PublishSettings
) -> PublishPreview:
    """What publishing would make public (owner only); nothing is changed."""
    persona = await owned_persona(session, persona_id, actor, _PUBLISH_ACTION)
    _require_publishable(persona)
    clean = settings.validated()
    privacy = PrivacySettings.from_dict(persona.privacy_settings)
    consented = rules.publishable_privacy(privacy)
    return PublishPreview(
        persona_id=persona_id,
        persona_name=persona.name,
        display_name=clean.display_name or persona.name,
        settings=clean,
        scope=rules.publication_scope(consented),
        profile_raised=consented is not privacy,
        already_published=persona.is_public,
    )


async def publish(
    session: AsyncSession, actor: Actor, persona_id: int, settings: PublishSettings, *, now: datetime
) -> PublishResult:
    """Publish (or re-publish with new settings) after the owner confirmed :func:`preview_publish`: records the
    consent, keeps the settings, marks the persona public, and queues a notification for its followers."""
    persona = await owned_persona(session, persona_id, actor, _PUBLISH_ACTION)
    _require_publishable(persona)
    clean = settings.validated()
    privacy = PrivacySettings.from_dict(persona.privacy_settings)
    consented = rules.publishable_privacy(privacy)
    raised = consented is not privacy
    if raised:
        persona.privacy_settings = consented.to_dict()
    elif persona.is_public:
        raised = _raised_by_publication(await _latest_publication(session, persona_id))
    scope = rules.publication_scope(consented)
    profile = await session.get(models.PublicProfile, persona_id)
    if profile is None:
        profile = models.PublicProfile(persona_id=persona_id)
        session.add(profile)
    profile.display_name = clean.display_name
    profile.bio = clean.bio
    profile.avatar_url = clean.avatar_url
    profile.allow_messages = clean.allow_messages
    profile.allow_collaboration = clean.allow_collaboration
    profile.published_at = now
    profile.unpublished_at = None
    was_public = persona.is_public
    persona.is_public = True
    persona.updated_at = now
    note = json.dumps(
        {
            "action": "publish",
            "visibility": scope,
            "display_name": clean.display_name or persona.name,
            "allow_messages": clean.allow_messages,
            "allow_collaboration": clean.allow_collaboration,
            "profile_raised": raised,
        },
        sort_keys=True,
    )
    record = await consent.record(
        session,
        user_id=persona.owner_id,
        guild_id=persona.guild_id,
        granted=True,
        recorded_by=actor.user_id,
        now=now,
        persona_id=persona_id,
        scope=PUBLISH_SCOPE,
        note=note,
    )
    notified = 0
    if not was_public:
        await session.flush()  # the fan-out reads the persona as published
        shown = clean.display_name or persona.name
        event = await timeline.record(
            session, persona_id, "published", f"{shown} was published", is_public=True, now=now
        )
        notified = event.fan_out.queued if event.fan_out is not None else 0
    await session.flush()
    return PublishResult(persona_id, persona.name, True, record.id, record.recorded_at, notified)


async def unpublish(session: AsyncSession, actor: Actor, persona_id: int, *, now: datetime) -> PublishResult:
    """Revoke the publication (owner only): a consent record saying so, and the profile is hidden from everyone
    but the owner. The owner's profile settings are kept for a later publication."""
    persona = await owned_persona(session, persona_id, actor, _PUBLISH_ACTION)
    if not persona.is_public:
        raise DomainError(f"{persona.name} is not published.")
    persona.is_public = False
    persona.updated_at = now
    restored = False
    privacy = PrivacySettings.from_dict(persona.privacy_settings)
    if privacy.visibility.get("profile") == "server" and _raised_by_publication(
        await _latest_publication(session, persona_id)
    ):
        # The publication made an owner-only profile visible to the server; withdrawing it restores that.
        persona.privacy_settings = {**privacy.to_dict(), "visibility": {**privacy.visibility, "profile": "owner"}}
        restored = True
    profile = await session.get(models.PublicProfile, persona_id)
    if profile is not None:
        profile.unpublished_at = now
    await timeline.record(session, persona_id, "unpublished", f"{persona.name} was unpublished", now=now)
    record = await consent.record(
        session,
        user_id=persona.owner_id,
        guild_id=persona.guild_id,
        granted=False,
        recorded_by=actor.user_id,
        now=now,
        persona_id=persona_id,
        scope=PUBLISH_SCOPE,
        note=json.dumps({"action": "unpublish", "profile_restored_to_owner": restored}, sort_keys=True),
    )
    await session.flush()
    return PublishResult(persona_id, persona.name, False, record.id, record.recorded_at, 0)


async def _latest_publication(session: AsyncSession, persona_id: int) -> models.ConsentRecord | None:
    return (
        await session.execute(
            select(models.ConsentRecord)
            .where(
                col(models.ConsentRecord.persona_id) == persona_id,
                col(models.ConsentRecord.scope) == PUBLISH_SCOPE,
                col(models.ConsentRecord.granted).is_(True),
            )
            .order_by(col(models.ConsentRecord.recorded_at).desc(), col(models.ConsentRecord.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()


def _raised_by_publication(record: models.ConsentRecord | None) -> bool:
    """Whether the publication in ``record`` made an owner-only profile visible to the server."""
    if record is None or not record.note:
        return False
    try:
        return bool(json.loads(record.note).get("profile_raised"))
    except (ValueError, AttributeError):
        return False


async def publication_history(session: AsyncSession, persona_id: int) -> list[consent.ConsentRecordView]:
    """The persona's publish / unpublish consent records, newest first."""
    rows = (
        await session.execute(
            select(models.ConsentRecord)
            .where(col(models.ConsentRecord.persona_id) == persona_id, col(models.ConsentRecord.scope) == PUBLISH_SCOPE)
            .order_by(col(models.ConsentRecord.recorded_at).desc(), col(models.ConsentRecord.id).desc())
        )
    ).scalars()
    return [
        consent.ConsentRecordView(
            id=row.id or 0,
            user_id=row.user_id,
            guild_id=row.guild_id,
            persona_id=row.persona_id,
            scope=row.scope,
            granted=row.granted,
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
            note=row.note,
        )
        for row in rows
    ]


# ----------------------------------------------------------------------------------------------- the profile


async def _count(session: AsyncSession, query: Any) -> int:
    return int(await session.scalar(query) or 0)


async def _public_achievements(
    session: AsyncSession, persona_id: int
) -> tuple[int, tuple[rules.PublicAchievement, ...]]:
    """How many public achievements the persona has, and the latest of them."""
    award = models.AchievementAward
    public = (col(award.persona_id) == persona_id, col(award.is_public).is_(True))
    count = await _count(session, select(func.count()).select_from(award).where(*public))
    latest = tuple(
        rules.PublicAchievement(key=row.achievement_key, awarded_at=row.awarded_at)
        for row in (
            await session.execute(
                select(col(award.achievement_key), col(award.awarded_at))
                .where(*public)
                .order_by(col(award.awarded_at).desc(), col(award.id).desc())
                .limit(rules.TIMELINE_LIMIT)
            )
        ).all()
    )
    return count, latest


async def _public_timeline(
    session: AsyncSession, persona_id: int, *, include_subscriber_posts: bool
) -> tuple[rules.PublicTimelineEvent, ...]:
    """The latest public timeline events (subscriber posts only when asked for)."""
    event = models.TimelineEvent
    query = select(event).where(col(event.persona_id) == persona_id, col(event.is_public).is_(True))
    if not include_subscriber_posts:
        query = query.where(col(event.subscribers_only).is_(False))
    query = query.order_by(col(event.created_at).desc(), col(event.id).desc()).limit(rules.TIMELINE_LIMIT)
    return tuple(
        rules.PublicTimelineEvent(
            kind=row.kind,
            title=row.title,
            description=row.description,
            created_at=row.created_at,
            metadata=rules.sanitize_metadata(row.details),
            subscribers_only=row.subscribers_only,
        )
        for row in (await session.execute(query)).scalars()
    )


async def _endorsements(session: AsyncSession, persona_id: int) -> tuple[int, tuple[rules.EndorsementEntry, ...]]:
    """How many endorsements the persona has, and the latest shown on its profile."""
    endorsement = models.Endorsement
    of_persona = col(endorsement.persona_id) == persona_id
    count = await _count(session, select(func.count()).select_from(endorsement).where(of_persona))
    latest = tuple(
        rules.EndorsementEntry(user_id=row.user_id, text=row.text, created_at=row.created_at)
        for row in (
            await session.execute(
                select(endorsement)
                .where(of_persona)
                .order_by(col(endorsement.created_at).desc(), col(endorsement.id).desc())
                .limit(rules.ENDORSEMENTS_SHOWN)
            )
        ).scalars()
    )
    return count, latest


async def facts(
    session: AsyncSession, persona: models.Persona, *, include_subscriber_posts: bool
) -> rules.ProfileFacts:
    """Everything the profile could show (visibility is applied by the caller through ``core``)."""
    assert persona.id is not None
    persona_id = persona.id
    profile = await session.get(models.PublicProfile, persona_id)
    achievement_count, achievements = await _public_achievements(session, persona_id)
    timeline = await _public_timeline(session, persona_id, include_subscriber_posts=include_subscriber_posts)
    follower_count = await _count(
        session, select(func.count()).select_from(models.Follow).where(col(models.Follow.persona_id) == persona_id)
    )
    endorsement_count, endorsements = await _endorsements(session, persona_id)
    return rules.ProfileFacts(
        persona_id=persona_id,
        guild_id=persona.guild_id,
        owner_id=persona.owner_id,
        published=persona.is_public,
        published_at=profile.published_at if profile is not None and persona.is_public else None,
        display_name=(profile.display_name if profile is not None else None) or persona.name,
        bio=(profile.bio if profile is not None else None) or persona.description,
        avatar_url=(profile.avatar_url if profile is not None else None) or persona.avatar_url,
        created_date=persona.created_at,
        interaction_count=persona.interaction_count,
        follower_count=follower_count,
        achievement_count=achievement_count,
        achievements=achievements,
        timeline=timeline,
        verification_status=persona.verification_status,
        endorsements=endorsements,
        endorsement_count=endorsement_count,
        allow_messages=profile.allow_messages if profile is not None else True,
        allow_collaboration=profile.allow_collaboration if profile is not None else False,
    )


async def get_profile(session: AsyncSession, viewer: Actor, persona_id: int, *, now: datetime) -> rules.ProfileView:
    """The public profile as ``viewer`` sees it; :class:`NotFound` when it does not exist for them."""
    persona = await session.get(models.Persona, persona_id)
    if persona is None:
        raise NotFound(NOT_PUBLIC)
    privacy = PrivacySettings.from_dict(persona.privacy_settings)
    is_owner = viewer.user_id == persona.owner_id
    same_guild = viewer.guild_id is not None and viewer.guild_id == persona.guild_id
    if not rules.can_view_profile(privacy, published=persona.is_public, is_owner=is_owner, same_guild=same_guild):
        raise NotFound(NOT_PUBLIC)
    subscriber = is_owner or await subscriptions.is_subscriber(session, persona_id, viewer.user_id, now=now)
    found = await facts(session, persona, include_subscriber_posts=subscriber)
    view = rules.view_profile(
        found, privacy, viewer_id=viewer.user_id, viewer_guild_id=viewer.guild_id, is_subscriber=subscriber
    )
    if view is None:  # pragma: no cover - can_view_profile said yes above
        raise NotFound(NOT_PUBLIC)
    return view


async def set_verification(
    session: AsyncSession, actor: Actor, persona_id: int, status: str | None, *, now: datetime
) -> VerificationChange:
    """Set the verification status shown on the profile: members with Manage Server on the persona's server only.
    ``status`` None changes nothing: the change names the status as it is (``previous == status``)."""
    clean = rules.validate_verification_status(status) if status is not None else None
    persona = await persona_or_not_found(session, persona_id)
    if not actor.can_manage_guild or actor.guild_id is None:
        raise PermissionDenied("Only members with Manage Server can set a persona's verification status.")
    if persona.guild_id != actor.guild_id:
        raise NotFound(PERSONA_NOT_FOUND)
    previous = persona.verification_status
    if clean is None:
        return VerificationChange(persona_id, persona.name, previous, previous)
    persona.verification_status = clean
    persona.updated_at = now
    await session.flush()
    return VerificationChange(persona_id, persona.name, previous, clean)
