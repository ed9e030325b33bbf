"""Public profiles, endorsements, verification and subscription perks (pure).

**The visibility rule.** What a viewer sees of a public profile is decided by the persona's per-field privacy
settings through :meth:`bot.core.personas.PrivacySettings.can_see` and nothing else: each field of the profile
belongs to one privacy field (:data:`PROFILE_FIELDS`), and a field is shown exactly when ``can_see`` says so for
the viewer (the owner sees everything; members of the persona's server see ``server`` and ``public`` fields;
anyone else sees ``public`` fields only). The profile as a whole exists for a viewer when the persona is published
and its ``profile`` field is visible to them (the owner may always look at their own, published or not).

**The timeline** of a public profile holds public events only, each with its metadata sanitised
(:func:`sanitize_metadata`); events marked ``subscribers_only`` are shown to subscribers and the owner
(:func:`timeline_event_visible`).

**Perks** are the three a subscription tier may grant that really take effect (:data:`PERKS`):
priority replies, a longer memory (memories of a subscriber decay :data:`LONGER_MEMORY_MULTIPLIER` times slower)
and subscriber-only timeline posts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.core.errors import DomainError
from bot.core.personas import PrivacySettings, validate_avatar_url, validate_description
from bot.core.text import clip_line

# ----------------------------------------------------------------------------------------------- profile fields

# Each field of the public profile (the seed's PublicPersonaProfile) and the privacy field that decides who sees it.
PROFILE_FIELDS: dict[str, str] = {
    "display_name": "profile",
    "avatar": "profile",
    "created_date": "profile",
    "interaction_count": "profile",
    "follower_count": "profile",
    "verification_status": "profile",
    "endorsements": "profile",
    "allow_messages": "profile",
    "allow_collaboration": "profile",
    "bio": "description",
    "achievement_count": "achievements",
    "achievements": "achievements",
    "timeline": "timeline",
}
PROFILE_FIELD_LABELS: dict[str, str] = {
    "profile": "Name, avatar, creation date, stats, verification, endorsements and contact settings",
    "description": "Bio",
    "achievements": "Public achievements",
    "timeline": "Public timeline events",
}
AUDIENCE_WORDS = {"owner": "only you", "server": "members of this server", "public": "anyone"}

DISPLAY_NAME_MAX = 80
BIO_MAX = 2000
ENDORSEMENT_MAX = 300
TIMELINE_LIMIT = 10
ENDORSEMENTS_SHOWN = 10
METADATA_MAX_ITEMS = 8
METADATA_TEXT_MAX = 200

VERIFICATION_STATUSES = ("unverified", "verified", "official")


@dataclass(frozen=True)
class PublicAchievement:
    key: str
    awarded_at: datetime


@dataclass(frozen=True)
class PublicTimelineEvent:
    kind: str
    title: str
    description: str
    created_at: datetime
    metadata: dict[str, Any]
    subscribers_only: bool = False


@dataclass(frozen=True)
class EndorsementEntry:
    user_id: int
    text: str | None
    created_at: datetime


@dataclass(frozen=True)
class ProfileFacts:
    """Everything a public profile could show, before the viewer's visibility is applied."""

    persona_id: int
    guild_id: int | None
    owner_id: int
    published: bool
    published_at: datetime | None
    display_name: str
    bio: str
    avatar_url: str | None
    created_date: datetime
    interaction_count: int
    follower_count: int
    achievement_count: int
    achievements: tuple[PublicAchievement, ...]
    timeline: tuple[PublicTimelineEvent, ...]
    verification_status: str
    endorsements: tuple[EndorsementEntry, ...]
    endorsement_count: int
    allow_messages: bool
    allow_collaboration: bool


@dataclass(frozen=True)
class ProfileView:
    """A profile as one viewer sees it: each hidden field is None (or empty), and named in ``hidden``."""

    persona_id: int
    owner_id: int
    is_owner: bool
    published: bool
    published_at: datetime | None
    display_name: str
    bio: str | None
    avatar_url: str | None
    created_date: datetime | None
    interaction_count: int | None
    follower_count: int | None
    achievement_count: int | None
    achievements: tuple[PublicAchievement, ...] | None
    timeline: tuple[PublicTimelineEvent, ...] | None
    verification_status: str | None
    endorsements: tuple[EndorsementEntry, ...] | None
    endorsement_count: int | None
    allow_messages: bool | None
    allow_collaboration: bool | None
    hidden: frozenset[str]


def field_visible(privacy: PrivacySettings, profile_field: str, *, is_owner: bool, same_guild: bool) -> bool:
    """Whether one field of the public profile is shown to a viewer: the privacy field it belongs to decides."""
    try:
        item = PROFILE_FIELDS[profile_field]
    except KeyError:
        raise DomainError(f"'{profile_field}' is not a field of the public profile.") from None
    return privacy.can_see(item, is_owner=is_owner, same_guild=same_guild)


def can_view_profile(privacy: PrivacySettings, *, published: bool, is_owner: bool, same_guild: bool) -> bool:
    """Whether the profile exists for a viewer: the owner always; others when it is published and its ``profile``
    field is visible to them."""
    if is_owner:
        return True
    return published and privacy.can_see("profile", is_owner=False, same_guild=same_guild)


def timeline_event_visible(*, is_public: bool, subscribers_only: bool, is_owner: bool, is_subscriber: bool) -> bool:
    """Whether a timeline event belongs on the public timeline for this viewer: public events only; those for
    subscribers only to subscribers and the owner."""
    if not is_public:
        return False
    return not subscribers_only or is_owner or is_subscriber


def view_profile(
    facts: ProfileFacts,
    privacy: PrivacySettings,
    *,
    viewer_id: int,
    viewer_guild_id: int | None,
    is_subscriber: bool = False,
) -> ProfileView | None:
    """The profile as ``viewer_id`` (asking from ``viewer_guild_id``) sees it, or None when it does not exist for
    them. The one rule (module docstring) is applied to every field."""
    is_owner = viewer_id == facts.owner_id
    same_guild = viewer_guild_id is not None and viewer_guild_id == facts.guild_id
    if not can_view_profile(privacy, published=facts.published, is_owner=is_owner, same_guild=same_guild):
        return None
    shown = {name for name in PROFILE_FIELDS if field_visible(privacy, name, is_owner=is_owner, same_guild=same_guild)}

    def pick(name: str, value: Any) -> Any:
        return value if name in shown else None

    timeline = None
    if "timeline" in shown:
        timeline = tuple(
            event
            for event in facts.timeline
            if timeline_event_visible(
                is_public=True,
                subscribers_only=event.subscribers_only,
                is_owner=is_owner,
                is_subscriber=is_subscriber,
            )
        )
    return ProfileView(
        persona_id=facts.persona_id,
        owner_id=facts.owner_id,
        is_owner=is_owner,
        published=facts.published,
        published_at=facts.published_at,
        display_name=facts.display_name,  # the profile is visible, so its name is
        bio=pick("bio", facts.bio),
        avatar_url=pick("avatar", facts.avatar_url),
        created_date=pick("created_date", facts.created_date),
        interaction_count=pick("interaction_count", facts.interaction_count),
        follower_count=pick("follower_count", facts.follower_count),
        achievement_count=pick("achievement_count", facts.achievement_count),
        achievements=pick("achievements", facts.achievements),
        timeline=timeline,
        verification_status=pick("verification_status", facts.verification_status),
        endorsements=pick("endorsements", facts.endorsements),
        endorsement_count=pick("endorsements", facts.endorsement_count),
        allow_messages=pick("allow_messages", facts.allow_messages),
        allow_collaboration=pick("allow_collaboration", facts.allow_collaboration),
        hidden=frozenset(set(PROFILE_FIELDS) - shown),
    )


def publishable_privacy(privacy: PrivacySettings) -> PrivacySettings:
    """The privacy settings a publication consents to: unchanged, except that an owner-only ``profile`` becomes
    ``server`` (a published profile that nobody could see would not be published)."""
    if privacy.visibility.get("profile", "owner") != "owner":
        return privacy
    return replace(privacy, visibility={**privacy.visibility, "profile": "server"})


def publication_scope(privacy: PrivacySettings) -> dict[str, str]:
    """What a publication makes visible, per privacy field of the profile: field -> owner | server | public.
    This is what the owner confirms and what the consent record keeps."""
    items = dict.fromkeys(PROFILE_FIELDS.values())
    return {item: privacy.visibility.get(item, "owner") for item in items}


# ----------------------------------------------------------------------------------------------- validation


def validate_display_name(name: str | None) -> str | None:
    """An override of the persona's name on its public profile (None or blank: the persona's own)."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        return None
    if len(cleaned) > DISPLAY_NAME_MAX:
        raise DomainError(f"The display name is {len(cleaned)} characters long; the limit is {DISPLAY_NAME_MAX}.")
    return cleaned


def validate_bio(bio: str | None) -> str | None:
    """An override of the persona's description on its public profile (None or blank: the persona's own)."""
    text = validate_description(bio)
    return text or None


def validate_public_avatar(url: str | None) -> str | None:
    """An override of the persona's avatar on its public profile (None or blank: the persona's own)."""
    return validate_avatar_url(url)


def validate_verification_status(status: str) -> str:
    if status not in VERIFICATION_STATUSES:
        raise DomainError(f"'{status}' is not a verification status ({', '.join(VERIFICATION_STATUSES)}).")
    return status


def validate_endorsement_text(text: str | None) -> str | None:
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    if len(cleaned) > ENDORSEMENT_MAX:
        raise DomainError(f"An endorsement is at most {ENDORSEMENT_MAX} characters; this one is {len(cleaned)}.")
    return cleaned


_PRIVATE_KEY = re.compile(
    r"(^|_)(id|ids|user|users|member|members|author|email|token|secret|password|ip|channel|message|guild|webhook|"
    r"phone|address|key)(_|$)",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_MENTION = re.compile(r"<(@[!&]?|#)\d+>|@(everyone|here)")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def _clean_text(text: str) -> str:
    return clip_line(_URL.sub("[link]", _MENTION.sub("", text)), METADATA_TEXT_MAX)


def sanitize_metadata(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """A timeline event's metadata fit for the public: scalar values only (no nested documents), no keys naming
    people, channels, messages or secrets, no mentions or links in text, texts clipped, at most a few items."""
    out: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if len(out) >= METADATA_MAX_ITEMS:
            break
        name = str(key)
        if _PRIVATE_KEY.search(_CAMEL.sub("_", name).replace("-", "_")):  # userId, user-id and user_id alike
            continue
        if isinstance(value, bool | int | float):
            out[name] = value
        elif isinstance(value, str):
            cleaned = _clean_text(value)
            if cleaned:
                out[name] = cleaned
    return out


# ----------------------------------------------------------------------------------------------- subscriptions

PERKS = ("priority_replies", "longer_memory", "subscriber_posts")
PERK_LABELS = {
    "priority_replies": "Priority replies",
    "longer_memory": "Longer memory",
    "subscriber_posts": "Subscriber-only timeline posts",
}
LONGER_MEMORY_MULTIPLIER = 2.0
TIER_NAME_MAX = 80
TIER_DESCRIPTION_MAX = 1000
MAX_TIERS_PER_PERSONA = 10
SUBSCRIPTION_STATUSES = ("active", "ended")


@dataclass(frozen=True)
class Perks:
    """What a person's subscriptions to a persona give them. ``memory_multiplier`` divides how fast the persona's
    memories of them decay (it is the stability a new memory starts with)."""

    priority_replies: bool = False
    memory_multiplier: float = 1.0
    subscriber_posts: bool = False


NO_PERKS = Perks()


def validate_perks(perks: Iterable[str]) -> list[str]:
    """Distinct known perks, in the canonical order."""
    given = [str(p).strip() for p in perks]
    unknown = sorted({p for p in given if p not in PERKS})
    if unknown:
        raise DomainError(f"Unknown perk: {', '.join(unknown)} (perks: {', '.join(PERKS)}).")
    return [p for p in PERKS if p in given]


def validate_tier_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise DomainError("A tier needs a name.")
    if len(cleaned) > TIER_NAME_MAX:
        raise DomainError(f"A tier's name is at most {TIER_NAME_MAX} characters.")
    return cleaned


def validate_tier_description(description: str | None) -> str:
    text = (description or "").strip()
    if len(text) > TIER_DESCRIPTION_MAX:
        raise DomainError(f"A tier's description is at most {TIER_DESCRIPTION_MAX} characters.")
    return text


def perks_of(tier_perks: Sequence[Sequence[str]]) -> Perks:
    """The perks of holding every tier in ``tier_perks`` (each a tier's perk list): the union."""
    held = {perk for perks in tier_perks for perk in perks}
    return Perks(
        priority_replies="priority_replies" in held,
        memory_multiplier=LONGER_MEMORY_MULTIPLIER if "longer_memory" in held else 1.0,
        subscriber_posts="subscriber_posts" in held,
    )


def subscription_current(*, status: str, renews_at: datetime | None, ended_at: datetime | None, now: datetime) -> bool:
    """Whether a subscription counts now: active, and its paid period (``renews_at``, Discord's ``ends_at``) not
    over, and not ended."""
    if status != "active" or (ended_at is not None and ended_at <= now):
        return False
    return renews_at is None or renews_at > now


def entitlement_active(*, deleted: bool, starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> bool:
    """Whether a Discord entitlement grants access at ``now`` (not deleted, started, not ended)."""
    if deleted:
        return False
    if starts_at is not None and now < starts_at:
        return False
    return ends_at is None or now < ends_at
