"""The tables: every field of the seed's ``Persona`` and what it points to, plus the operational tables.

Normalised where rows grow or are queried on their own (memories, emotions, follows, timeline, ...); small documents
that are always read with their persona (behaviour settings, privacy settings, custom traits, plugins) are JSON
(JSONB on PostgreSQL). Everything that belongs to a persona references it with ``ON DELETE CASCADE``, so deleting a
persona leaves nothing behind. Migrations (``bot/db/migrations``) are the only way the schema is made.

This module is kept whole although it is over 500 lines: it is the schema, read as one page next to the migrations
and ``bot/db/people.py`` (the register of every column that names a person), and every table is a few plain field
declarations with no logic to split off.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.clock import utcnow
from bot.db.types import BigId, JSONType, Snowflake, UTCDateTime

# Stable constraint names, so migrations can name what they alter or drop on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _persona_fk(*, nullable: bool = False, index: bool = True, primary_key: bool = False) -> Any:
    """A column that belongs to a persona and goes when the persona goes."""
    return Field(
        default=None if nullable or primary_key else ...,
        sa_column=Column(
            BigId,
            ForeignKey("personas.id", ondelete="CASCADE"),
            nullable=nullable,
            index=index and not primary_key,
            primary_key=primary_key,
        ),
    )


def _when(*, nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(factory: Any) -> Any:
    return Field(default_factory=factory, sa_type=JSONType, nullable=False)


# --------------------------------------------------------------------------------------------------- personas


class Persona(SQLModel, table=True):
    """Identity, personality, behaviour, privacy, social counters and legacy settings of one persona."""

    __tablename__ = "personas"
    __table_args__ = (
        Index("ix_personas_guild_owner", "guild_id", "owner_id"),
        Index("ix_personas_owner", "owner_id"),
        Index("ix_personas_guild_status", "guild_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    # The server the persona lives in; None for a personal persona made in DMs.
    guild_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    owner_id: int = Field(sa_type=Snowflake)
    # bot.core.character.NAME_MAX: a persona keeps its full name (a card's too). SQLite enforces no length: its
    # declared type stays 80 there, as changing it would copy the table, and dropping the old copy would cascade to
    # every row that names a persona.
    name: str = Field(sa_type=String(200).with_variant(String(80), "sqlite"))
    description: str = Field(default="", sa_type=Text)
    avatar_url: str | None = Field(default=None, sa_type=String(2048), nullable=True)
    # draft | active | retiring | retired (see bot.core.personas.STATUSES)
    status: str = Field(default="active", sa_type=String(16))
    # The owner's master switch: an inactive persona speaks nowhere, even where it is bound to a channel.
    is_active: bool = Field(default=False)
    created_at: datetime = _when()
    updated_at: datetime = _when()

    # Big Five, AI-specific and domain traits, 0..100 (bot.core.traits).
    openness: float = 50.0
    conscientiousness: float = 50.0
    extraversion: float = 50.0
    agreeableness: float = 50.0
    neuroticism: float = 50.0
    creativity: float = 50.0
    curiosity: float = 50.0
    empathy: float = 50.0
    humor: float = 50.0
    assertiveness: float = 50.0
    adaptability: float = 50.0
    technical_focus: float = 50.0
    social_orientation: float = 50.0
    task_orientation: float = 50.0
    # [{name, value, description, category, influences: [{behavior, impact, context}]}], at most 20.
    custom_traits: list[dict[str, Any]] = _json(list)

    behavior_settings: dict[str, Any] = _json(dict)
    privacy_settings: dict[str, Any] = _json(dict)
    plugins: list[str] = _json(list)
    legacy_settings: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)

    is_public: bool = Field(default=False)
    follower_count: int = Field(default=0)
    interaction_count: int = Field(default=0)
    verification_status: str = Field(default="unverified", sa_type=String(16))

    # The character, as a character card holds it (V2/V3 field names in comments): what the model is given
    # beside the description, and what an export writes back. Empty text means "none".
    personality_text: str = Field(default="", sa_type=Text)  # personality
    scenario: str = Field(default="", sa_type=Text)  # scenario
    example_dialogue: str = Field(default="", sa_type=Text)  # mes_example
    greeting: str = Field(default="", sa_type=Text)  # first_mes
    alternate_greetings: list[str] = _json(list)  # alternate_greetings
    system_prompt: str = Field(default="", sa_type=Text)  # system_prompt
    post_history_instructions: str = Field(default="", sa_type=Text)  # post_history_instructions
    creator_notes: str = Field(default="", sa_type=Text)  # creator_notes
    nickname: str = Field(default="", sa_type=Text)  # V3 nickname


class PersonaAvatar(SQLModel, table=True):
    """The picture a persona came with (a card's PNG, or an uploaded image), kept so an export writes it back."""

    __tablename__ = "persona_avatars"

    persona_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("personas.id", ondelete="CASCADE"), primary_key=True)
    )
    content_type: str = Field(sa_type=String(64))
    data: bytes = Field(sa_type=LargeBinary)
    updated_at: datetime = _when()


class PersonaModel(SQLModel, table=True):
    """The model a persona speaks with, when not the bot's default (bot/core/model_settings.py): its name, sampling
    settings, and optionally another OpenAI-compatible server with its API key (encrypted). No row: the defaults."""

    __tablename__ = "persona_models"

    persona_id: int | None = _persona_fk(primary_key=True)
    model: str | None = Field(default=None, sa_type=String(200), nullable=True)
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    base_url: str | None = Field(default=None, sa_type=String(500), nullable=True)
    api_key_encrypted: str | None = Field(default=None, sa_type=Text, nullable=True)  # a Fernet token
    vision: bool | None = None
    updated_at: datetime = _when()


class MemoryConfig(SQLModel, table=True):
    """The seed's MemoryConfiguration and MemoryDecaySettings, merged (one column where both name one thing).

    Columns, not JSON: the decay job selects due personas by these in SQL.
    """

    __tablename__ = "memory_configs"
    __table_args__ = (Index("ix_memory_configs_due", "decay_enabled", "decay_schedule", "last_decay_run"),)

    persona_id: int | None = _persona_fk(primary_key=True)
    max_memory_size_mb: float = 10.0
    max_entities: int = 10_000
    hot_memory_size: int = 50
    warm_memory_size: int = 1_000
    cold_memory_retention_days: int = 90
    weight_recency: float = 1.0
    weight_importance: float = 1.0
    weight_relevance: float = 1.0
    decay_enabled: bool = True
    decay_function: str = Field(default="exponential", sa_type=String(16))
    decay_rate: float = 0.05
    decay_schedule: str = Field(default="daily", sa_type=String(16))
    pinned_memories_exempt: bool = True
    exempt_categories: list[str] = _json(list)
    high_importance_threshold: int = 8
    track_relationships: bool = True
    max_relationship_depth: int = 2
    encrypt_sensitive: bool = False
    shareable: bool = False
    last_decay_run: datetime | None = _when(nullable=True)
    last_optimization_at: datetime | None = _when(nullable=True)


# --------------------------------------------------------------------------------------------------- emotions


class EmotionalState(SQLModel, table=True):
    """The mood as of ``as_of`` and the default mood (baseline) in PAD space; the present is computed on read."""

    __tablename__ = "emotional_states"

    persona_id: int | None = _persona_fk(primary_key=True)
    mood_pleasure: float = 0.0
    mood_arousal: float = 0.0
    mood_dominance: float = 0.0
    baseline_pleasure: float = 0.0
    baseline_arousal: float = 0.0
    baseline_dominance: float = 0.0
    as_of: datetime = _when()


class ActiveEmotion(SQLModel, table=True):
    __tablename__ = "active_emotions"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk()
    emotion_type: str = Field(sa_type=String(16))
    intensity: float
    duration_minutes: float
    cause: str | None = Field(default=None, sa_type=Text, nullable=True)
    started_at: datetime = _when()


class EmotionalEvent(SQLModel, table=True):
    """History: one trigger and what it did (kept after the emotion fades)."""

    __tablename__ = "emotional_events"
    __table_args__ = (
        Index("ix_emotional_events_persona_time", "persona_id", "created_at"),
        # "Felt all twelve emotions": one lookup per type instead of a scan of a long history.
        Index("ix_emotional_events_persona_emotion", "persona_id", "emotion_type"),
        # One person's reaction with one emoji on one message counts once, however often it is re-added.
        # (NULLs are distinct, so events without a message or emoji are never merged.)
        UniqueConstraint("persona_id", "message_id", "user_id", "emoji", name="uq_emotional_events_reaction"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    trigger: str = Field(sa_type=String(32))
    emoji: str | None = Field(default=None, sa_type=String(100), nullable=True)
    emotion_type: str | None = Field(default=None, sa_type=String(16), nullable=True)
    intensity: float = 0.0
    user_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)
    channel_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    message_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    previous_pleasure: float = 0.0
    previous_arousal: float = 0.0
    previous_dominance: float = 0.0
    new_pleasure: float = 0.0
    new_arousal: float = 0.0
    new_dominance: float = 0.0
    context: str | None = Field(default=None, sa_type=Text, nullable=True)
    feedback_verdict: str | None = Field(default=None, sa_type=String(16), nullable=True)
    feedback_emotion: str | None = Field(default=None, sa_type=String(16), nullable=True)
    created_at: datetime = _when()


class LearnedResponse(SQLModel, table=True):
    """How much a persona's response to one trigger has been scaled by feedback (1.0 = as born)."""

    __tablename__ = "learned_responses"
    __table_args__ = (UniqueConstraint("persona_id", "trigger"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    trigger: str = Field(sa_type=String(32))
    scale: float = 1.0
    override_emotion: str | None = Field(default=None, sa_type=String(16), nullable=True)
    feedback_count: int = 0
    updated_at: datetime = _when()


# --------------------------------------------------------------------------------------------------- memory


class Memory(SQLModel, table=True):
    __tablename__ = "memories"
    __table_args__ = (
        Index("ix_memories_persona_tier", "persona_id", "tier"),
        Index("ix_memories_persona_accessed", "persona_id", "last_accessed_at"),
        Index("ix_memories_persona_importance", "persona_id", "importance"),
        Index("ix_memories_persona_order", "persona_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    content: str = Field(sa_type=Text)
    category: str = Field(default="conversation", sa_type=String(40))
    importance: int = 5  # 1..10, the Generative Agents scale
    strength: float = 1.0  # retention 0..1
    stability: float = 1.0  # MemoryBank's S: grows with each recall
    tier: str = Field(default="hot", sa_type=String(8))  # hot | warm | cold
    pinned: bool = False
    sensitive: bool = False
    encrypted: bool = False
    source_user_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)
    source_channel_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    source_message_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    # The person the memory is about, when not its author (the right to be forgotten covers both).
    subject_user_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)
    created_at: datetime = _when()
    last_accessed_at: datetime = _when()
    access_count: int = 0
    cold_since: datetime | None = _when(nullable=True)


class MemorySummaryMember(SQLModel, table=True):
    """An exchange memory a summary memory stands for (one summary at most): both go their own ways when forgotten
    (the link goes with either)."""

    __tablename__ = "memory_summary_members"

    member_id: int = Field(
        sa_column=Column(BigId, ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    )
    summary_id: int = Field(
        sa_column=Column(BigId, ForeignKey("memories.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    persona_id: int = _persona_fk()


class MemoryEmbedding(SQLModel, table=True):
    """A memory's meaning as a vector (``bot/llm/embeddings.py``): float32 bytes of ``dim`` values, from the model
    ``model``; a row of another model than the configured one is stale and embedded again. Goes with its memory."""

    __tablename__ = "memory_embeddings"
    __table_args__ = (Index("ix_memory_embeddings_persona_memory", "persona_id", "memory_id"),)

    memory_id: int = Field(
        sa_column=Column(BigId, ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    )
    persona_id: int = _persona_fk(index=False)
    model: str = Field(sa_type=String(200))
    dim: int
    vector: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = _when()


# --------------------------------------------------------------------------------------------------- privacy


class ConsentRecord(SQLModel, table=True):
    """Who agreed to (or revoked) what, when, and who recorded it. Never updated: a change is a new record."""

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_user_guild", "user_id", "guild_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    guild_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    user_id: int = Field(sa_type=Snowflake)
    persona_id: int | None = _persona_fk(nullable=True)
    scope: str = Field(sa_type=String(40))  # e.g. memory, publish, research
    granted: bool
    recorded_by: int = Field(sa_type=Snowflake, index=True)
    recorded_at: datetime = _when()
    note: str | None = Field(default=None, sa_type=Text, nullable=True)


class ConsentOffer(SQLModel, table=True):
    """The invitation to choose whether personas may remember a person in a server: sent once (by DM, or a note
    in the channel when their DMs are closed), and their answer from its buttons (yes / later / never; None:
    unanswered). The answer itself is a :class:`ConsentRecord`; this row says they were asked."""

    __tablename__ = "consent_offers"
    __table_args__ = (Index("ux_consent_offers_user_guild", "user_id", "guild_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    user_id: int = Field(sa_type=Snowflake)
    guild_id: int = Field(sa_type=Snowflake)
    offered_at: datetime = _when()
    via: str = Field(default="dm", sa_type=String(16))  # dm | channel | pending (being sent)
    answer: str | None = Field(default=None, sa_type=String(16), nullable=True)  # yes | later | never
    answered_at: datetime | None = _when(nullable=True)


# --------------------------------------------------------------------------------------------------- behaviour


class CustomBehavior(SQLModel, table=True):
    __tablename__ = "custom_behaviors"
    __table_args__ = (UniqueConstraint("persona_id", "name"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    name: str = Field(sa_type=String(80))
    trigger_kind: str = Field(sa_type=String(16))  # keywords | emoji | emotion | time
    trigger_config: dict[str, Any] = _json(dict)
    action_kind: str = Field(sa_type=String(16))  # instruction | reply | emotion | reaction
    action_config: dict[str, Any] = _json(dict)
    enabled: bool = True
    created_at: datetime = _when()


class PersonRelationship(SQLModel, table=True):
    """A persona and a person: how much they have talked and how the persona feels about them."""

    __tablename__ = "person_relationships"
    __table_args__ = (UniqueConstraint("persona_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    user_id: int = Field(sa_type=Snowflake, index=True)
    messages_exchanged: int = 0
    last_spoken_at: datetime | None = _when(nullable=True)
    affinity: float = 0.0  # -1..1


class PersonaRelationship(SQLModel, table=True):
    """Between two personas: a type and a strength set by the owner (the seed's PersonaRelationship)."""

    __tablename__ = "persona_relationships"
    __table_args__ = (UniqueConstraint("persona_id", "other_persona_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    other_persona_id: int = _persona_fk()
    kind: str = Field(sa_type=String(32))  # friend, rival, sibling, mentor, ...
    strength: float = 0.5  # 0..1
    created_at: datetime = _when()


# --------------------------------------------------------------------------------------------------- social


class AchievementAward(SQLModel, table=True):
    __tablename__ = "achievements"
    __table_args__ = (UniqueConstraint("persona_id", "achievement_key"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    achievement_key: str = Field(sa_type=String(64))
    is_public: bool = True
    awarded_at: datetime = _when()


class TimelineEvent(SQLModel, table=True):
    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_events_persona_time", "persona_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    kind: str = Field(sa_type=String(32))
    title: str = Field(sa_type=String(256))
    description: str = Field(default="", sa_type=Text)
    details: dict[str, Any] = _json(dict)  # the seed's metadata (a reserved name in SQLAlchemy)
    is_public: bool = False
    subscribers_only: bool = False
    created_at: datetime = _when()


class Follow(SQLModel, table=True):
    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("persona_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    user_id: int = Field(sa_type=Snowflake, index=True)
    guild_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    notify_new_posts: bool = True
    notify_achievements: bool = True
    notify_collaborations: bool = False
    deliver_by_dm: bool = False
    followed_at: datetime = _when()


class SubscriptionTier(SQLModel, table=True):
    __tablename__ = "subscription_tiers"
    __table_args__ = (UniqueConstraint("persona_id", "name"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    name: str = Field(sa_type=String(80))
    description: str = Field(default="", sa_type=Text)
    perks: list[str] = _json(list)
    sku_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)
    is_free: bool = False
    position: int = 0
    created_at: datetime = _when()


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_persona_status", "persona_id", "status"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    tier_id: int = Field(sa_column=Column(BigId, ForeignKey("subscription_tiers.id", ondelete="CASCADE"), index=True))
    user_id: int = Field(sa_type=Snowflake, index=True)
    status: str = Field(default="active", sa_type=String(16))  # active | ended
    entitlement_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True, unique=True)
    granted_by: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)
    started_at: datetime = _when()
    renews_at: datetime | None = _when(nullable=True)
    ended_at: datetime | None = _when(nullable=True)


class Endorsement(SQLModel, table=True):
    __tablename__ = "endorsements"
    __table_args__ = (UniqueConstraint("persona_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    user_id: int = Field(sa_type=Snowflake, index=True)
    text: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_at: datetime = _when()


class PublicProfile(SQLModel, table=True):
    """A published persona's public profile settings (the seed's PublicProfileSettings).

    The row stays after ``unpublish`` (``unpublished_at`` set, ``Persona.is_public`` False) so a re-publish keeps the
    owner's choices; the consent records are the history. ``display_name``, ``bio`` and ``avatar_url`` override the
    persona's own when set (None: show the persona's).
    """

    __tablename__ = "public_profiles"

    persona_id: int | None = _persona_fk(primary_key=True)
    display_name: str | None = Field(default=None, sa_type=String(80), nullable=True)
    bio: str | None = Field(default=None, sa_type=Text, nullable=True)
    avatar_url: str | None = Field(default=None, sa_type=String(2048), nullable=True)
    allow_messages: bool = True
    allow_collaboration: bool = False
    published_at: datetime = _when()
    unpublished_at: datetime | None = _when(nullable=True)


# --------------------------------------------------------------------------------------------------- legacy


class RetirementPlan(SQLModel, table=True):
    """Every field of the seed's RetirementPlan."""

    __tablename__ = "retirement_plans"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = Field(
        sa_column=Column(BigId, ForeignKey("personas.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    status: str = Field(default="planned", sa_type=String(16))  # planned | cancelled | executing | executed
    # [{kind: date|inactivity|manual, at?: iso time, days?: int}]
    triggers: list[dict[str, Any]] = _json(list)
    memory_archival: str = Field(default="all", sa_type=String(16))  # all | important | none
    archival_threshold: int = 7
    achievement_preservation: bool = True
    timeline_preservation: bool = True
    archive_access: str = Field(default="owner", sa_type=String(16))  # owner | followers | server | public
    community_access: bool = False
    research_access: bool = False
    ceremony_channel_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    ceremony_settings: dict[str, Any] = _json(dict)
    farewell_message: str | None = Field(default=None, sa_type=Text, nullable=True)
    farewell_by_model: bool = False
    data_retention_days: int = 365
    data_export: bool = False
    data_deletion: dict[str, Any] = _json(dict)
    scheduled_for: datetime | None = _when(nullable=True)
    created_by: int = Field(sa_type=Snowflake, index=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()  # while executing: the lease's start (bot/services/retirement/lease.py)
    # While executing: the identity of the process running the ceremony (bot/db/presence.py), so that a process
    # can tell a ceremony in progress from one whose process died.
    lease_holder: int | None = Field(default=None, sa_type=BigInteger, nullable=True)


class LegacyArchive(SQLModel, table=True):
    """What is preserved of a retired persona: a snapshot of its profile, achievements, timeline and memories."""

    __tablename__ = "legacy_archives"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = Field(
        sa_column=Column(BigId, ForeignKey("personas.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    archive_access: str = Field(default="owner", sa_type=String(16))
    snapshot: dict[str, Any] = _json(dict)
    archived_memory_count: int = 0
    retired_at: datetime = _when()
    retention_until: datetime | None = _when(nullable=True)
    deleted_at: datetime | None = _when(nullable=True)
    deletion_report: dict[str, Any] = _json(dict)


# --------------------------------------------------------------------------------------------------- operations


class WizardDraft(SQLModel, table=True):
    """A creation or edit wizard in progress, per user: survives restarts, expires after 24 hours."""

    __tablename__ = "wizard_drafts"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    user_id: int = Field(sa_type=Snowflake, index=True)
    guild_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    channel_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    message_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    editing_persona_id: int | None = _persona_fk(nullable=True, index=False)
    step: int = 1
    data: dict[str, Any] = _json(dict)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ChannelBinding(SQLModel, table=True):
    """A persona active in a channel (or thread)."""

    __tablename__ = "channel_bindings"
    __table_args__ = (UniqueConstraint("persona_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)
    guild_id: int = Field(sa_type=Snowflake)
    channel_id: int = Field(sa_type=Snowflake, index=True)
    # Who switched the persona on here; None once they used /privacy forget-me (the binding stays).
    activated_by: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)
    created_at: datetime = _when()


class PersonaGreeting(SQLModel, table=True):
    """A persona greeted a channel (or thread) when it was first activated there: it never greets there again,
    though it may be switched off and on (the binding goes; this row stays, until the persona goes). A claim not yet
    posted (``claimed_at`` set) whose lease ran out or whose process is gone is claimed again (crash recovery)."""

    __tablename__ = "persona_greetings"
    # One key column, as every table has (the privacy walk reads and deletes rows by it).
    __table_args__ = (UniqueConstraint("persona_id", "channel_id", name="uq_persona_greetings_persona_channel"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    persona_id: int = _persona_fk(index=False)  # the unique constraint's first column
    channel_id: int = Field(sa_type=Snowflake)
    guild_id: int = Field(sa_type=Snowflake)
    message_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)  # its first message, once posted
    greeted_at: datetime = _when()
    # Claimed and not yet posted: when, and by which process (bot/db/presence.py); both None once posted (0021).
    claimed_at: datetime | None = _when(nullable=True)
    claim_holder: int | None = Field(default=None, sa_type=BigInteger, nullable=True)


class ChannelWebhook(SQLModel, table=True):
    """The webhook the bot made in a channel to speak as personas (one per channel, reused by all)."""

    __tablename__ = "channel_webhooks"

    channel_id: int = Field(sa_column=Column(Snowflake, primary_key=True, autoincrement=False))
    guild_id: int = Field(sa_type=Snowflake, index=True)
    webhook_id: int = Field(sa_type=Snowflake)
    webhook_token: str = Field(sa_type=String(256))
    created_at: datetime = _when()


class PersonaMessage(SQLModel, table=True):
    """A message a persona sent (through the channel webhook, or by the bot on its behalf).

    Reactions on these are the persona's emotional triggers; replies to them address the persona.
    """

    __tablename__ = "persona_messages"

    message_id: int = Field(sa_column=Column(Snowflake, primary_key=True, autoincrement=False))
    persona_id: int = _persona_fk()
    guild_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    channel_id: int = Field(sa_type=Snowflake, index=True)  # a persona's last words in a channel (cooldowns)
    via_webhook: bool = True
    created_at: datetime = _when()
    # A reply's own facts, so another take can be asked for (bot/core/regeneration.py): the message it answered
    # and its author (None: not a reply to someone, e.g. an apology or a farewell), which part of the reply this
    # message is (0: the first), and how many other takes the reply has had.
    answered_message_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    answered_author_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)
    part: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    takes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class MemoryReceipt(SQLModel, table=True):
    """A memory a persona's reply used (it reached the reply's prompt), with its rank there: the reply's receipt,
    shown by "Why this reply?" (bot/cogs/receipts.py). Keyed by the reply's first message; it goes with that
    message's record, with the memory and with the persona. ``answered_author_id``: whom the reply answered."""

    __tablename__ = "memory_receipts"
    __table_args__ = (UniqueConstraint("reply_message_id", "memory_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    reply_message_id: int = Field(
        sa_column=Column(
            Snowflake, ForeignKey("persona_messages.message_id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    persona_id: int = _persona_fk()
    memory_id: int = Field(
        sa_column=Column(BigId, ForeignKey("memories.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    rank: int = 0  # 0: the first memory of the prompt
    answered_author_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)


class GuildSettings(SQLModel, table=True):
    __tablename__ = "guild_settings"

    guild_id: int = Field(sa_column=Column(Snowflake, primary_key=True, autoincrement=False))
    notifications_channel_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    ceremony_channel_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    reaction_map: dict[str, str] = _json(dict)  # emoji -> trigger, over the default map in data/
    max_personas_per_user: int | None = None  # None: the configured default
    memory_consent_default: str = Field(default="opt-in", sa_type=String(16))  # opt-in | opt-out
    free_tiers_enabled: bool = False
    answer_bots: bool = False
    # What the server's admins allow personas (bot/core/model_settings.ModelAllowances): model names (empty: any)
    # and whether an owner may point a persona at another model server.
    allowed_models: list[str] = _json(list)
    allow_model_servers: bool = False
    updated_at: datetime = _when()


class LoreBook(SQLModel, table=True):
    """A lore book (World Info): a persona's, a channel's or a whole server's (``scope``; ``scope_key`` is one
    per owner: "persona:<id>", "channel:<id>", "server:<id>"). ``extras``: what a card's book held that has no
    column here, written back on export."""

    __tablename__ = "lore_books"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    scope: str = Field(sa_type=String(16))  # persona | channel | server
    scope_key: str = Field(sa_type=String(40), unique=True)
    persona_id: int | None = _persona_fk(nullable=True)
    guild_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)
    channel_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    name: str = Field(default="", sa_type=String(100))
    scan_depth: int = 2
    token_budget: int = 600
    recursion: int = 2
    extras: dict[str, Any] = _json(dict)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class LoreEntryRow(SQLModel, table=True):
    """One entry of a lore book (bot.core.lore.LoreEntry). Keys are JSON lists of strings."""

    __tablename__ = "lore_entries"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    book_id: int = Field(
        sa_column=Column(BigId, ForeignKey("lore_books.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(default="", sa_type=String(100))
    keys: list[str] = _json(list)
    secondary_keys: list[str] = _json(list)
    logic: str = Field(default="and_any", sa_type=String(16))
    case_sensitive: bool = False
    whole_words: bool = True
    use_regex: bool = False
    content: str = Field(default="", sa_type=Text)
    order: int = 100
    position: str = Field(default="before_char", sa_type=String(16))
    depth: int = 4
    constant: bool = False
    enabled: bool = True
    probability: int = 100
    scan_depth: int | None = None
    sticky: int = 0
    cooldown: int = 0
    delay: int = 0
    exclude_recursion: bool = False
    prevent_recursion: bool = False
    extras: dict[str, Any] = _json(dict)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class LoreEntryState(SQLModel, table=True):
    """When a timed lore entry (sticky or cooldown) last fired in a channel: the id of the message it fired on."""

    __tablename__ = "lore_entry_states"
    __table_args__ = (UniqueConstraint("entry_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    entry_id: int = Field(
        sa_column=Column(BigId, ForeignKey("lore_entries.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    channel_id: int = Field(sa_type=Snowflake)
    guild_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    message_id: int = Field(sa_type=Snowflake)
    updated_at: datetime = _when()


class OutboxMessage(SQLModel, table=True):
    """A notification to deliver, written in the same transaction as its event; delivered at Discord's pace."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_guild_status", "guild_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    guild_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    kind: str = Field(sa_type=String(32))
    recipient_user_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True, index=True)
    channel_id: int | None = Field(default=None, sa_type=Snowflake, nullable=True)
    payload: dict[str, Any] = _json(dict)
    idempotency_key: str = Field(sa_type=String(200), unique=True)
    status: str = Field(default="pending", sa_type=String(16))  # pending | claimed | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = _when()
    claimed_by: str | None = Field(default=None, sa_type=String(64), nullable=True)
    claimed_at: datetime | None = _when(nullable=True)
    sent_at: datetime | None = _when(nullable=True)
    last_error: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_at: datetime = _when()


class AppState(SQLModel, table=True):
    """Small facts the bot keeps about itself (for example the hash of the command tree it last synced)."""

    __tablename__ = "app_state"

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    value: dict[str, Any] = _json(dict)
    updated_at: datetime = _when()


# Tables whose rows belong to a persona (the cascade test and the export walk these).
PERSONA_OWNED_TABLES: tuple[type[SQLModel], ...] = (
    MemoryConfig,
    EmotionalState,
    ActiveEmotion,
    EmotionalEvent,
    LearnedResponse,
    Memory,
    ConsentRecord,
    CustomBehavior,
    PersonRelationship,
    PersonaRelationship,
    AchievementAward,
    TimelineEvent,
    Follow,
    SubscriptionTier,
    Subscription,
    Endorsement,
    PublicProfile,
    RetirementPlan,
    LegacyArchive,
    WizardDraft,
    ChannelBinding,
    PersonaMessage,
)

metadata = SQLModel.metadata


def _never_reuse_ids_on_sqlite() -> None:
    # Without AUTOINCREMENT, SQLite hands the id of a deleted newest row to the next insert, so a scheduled job or an
    # outbox row that still names persona 42 would act on a different persona. Ids are never reused on PostgreSQL.
    for table in metadata.tables.values():
        id_column = table.c.get("id")
        if id_column is not None and id_column.primary_key:
            table.dialect_options["sqlite"]["autoincrement"] = True


_never_reuse_ids_on_sqlite()
