"""What the retirement services return, and what the owner's plan form hands them: plain data, no rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core import retirement as rules


@dataclass(frozen=True)
class PlanView:
    """A saved plan, as plain data."""

    persona_id: int
    persona_name: str
    persona_status: str
    guild_id: int | None
    status: str  # planned | cancelled | executing | executed
    plan: rules.Plan
    created_at: datetime
    updated_at: datetime
    is_public: bool

    @property
    def scheduled_for(self) -> datetime | None:
        return self.plan.scheduled_for


@dataclass(frozen=True)
class LifeStats:
    born: datetime
    until: datetime
    conversations: int
    messages: int
    followers: int
    achievements: int
    memories: int

    @property
    def lifespan(self) -> str:
        return rules.lifespan_words(self.born, self.until)


@dataclass(frozen=True)
class CeremonyClaim:
    """What the caller needs to run (or resume) a ceremony it now holds."""

    persona_id: int
    owner_id: int
    guild_id: int | None
    name: str
    avatar_url: str | None
    description: str
    traits: Mapping[str, float]
    behavior: Mapping[str, Any]
    trigger: str
    resumed: bool
    channel_id: int | None
    farewell_text: str | None  # fixed once written (the owner's, or the model's first answer)
    farewell_by_model: bool
    farewell_message_id: int | None
    ceremony_message_id: int | None
    show: tuple[str, ...]
    invite_followers: bool
    duration_days: int
    data_export: bool


@dataclass(frozen=True)
class CeremonyResult:
    persona_id: int
    owner_id: int
    name: str
    retired_at: datetime
    lifespan: str
    trigger: str
    archived_memories: int
    achievements_preserved: int
    timeline_preserved: int
    archive_access: str
    channels_unbound: int
    retention_until: datetime
    data_export: bool
    export_sent: bool
    channel_id: int | None
    farewell_message_id: int | None
    ceremony_message_id: int | None
    already_done: bool = False


@dataclass(frozen=True)
class LegacyView:
    persona_id: int
    name: str
    owner_id: int
    archive_access: str
    retired_at: datetime
    retention_until: datetime | None
    profile: Mapping[str, Any]
    stats: Mapping[str, Any]
    achievements: Sequence[Mapping[str, Any]]
    timeline: Sequence[Mapping[str, Any]]
    memory_count: int
    memories: Sequence[Mapping[str, Any]] | None  # None: the viewer may see the count only
    farewell: str | None
    research_available: bool
    deleted_at: datetime | None
    deletion_report: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetentionReport:
    persona_id: int
    name: str
    deleted: dict[str, int]
    persona_deleted: bool


@dataclass(frozen=True)
class PlanInput:
    """What the owner chose (the cog's form); unchecked. Defaults as :class:`bot.core.retirement.PlanDraft`."""

    when: datetime | None = None
    inactivity_days: int | None = None
    manual: bool = False
    memory_archival: str = "all"
    archival_threshold: int = 7
    achievement_preservation: bool = True
    timeline_preservation: bool = True
    archive_access: str = "owner"
    community_access: bool = False
    research_access: bool = False
    ceremony_channel_id: int | None = None
    invite_followers: bool = True
    ceremony_show: Sequence[str] = rules.CEREMONY_SHOWS
    ceremony_days: int = 7
    farewell_message: str | None = None
    data_retention_days: int = 365
    data_export: bool = False
    data_deletion: Sequence[str] = rules.DEFAULT_DELETION

    def draft(self) -> rules.PlanDraft:
        triggers: list[rules.Trigger] = []
        if self.when is not None:
            triggers.append(rules.Trigger("date", at=self.when))
        if self.inactivity_days is not None:
            triggers.append(rules.Trigger("inactivity", days=self.inactivity_days))
        if self.manual or not triggers:
            triggers.append(rules.Trigger("manual"))
        farewell = (self.farewell_message or "").strip() or None
        return rules.PlanDraft(
            triggers=tuple(triggers),
            memory_archival=self.memory_archival,
            archival_threshold=self.archival_threshold,
            achievement_preservation=self.achievement_preservation,
            timeline_preservation=self.timeline_preservation,
            archive_access=self.archive_access,
            community_access=self.community_access,
            research_access=self.research_access,
            ceremony_channel_id=self.ceremony_channel_id,
            ceremony=rules.CeremonySettings(self.invite_followers, tuple(self.ceremony_show), self.ceremony_days),
            farewell_message=farewell,
            farewell_by_model=farewell is None,
            data_retention_days=self.data_retention_days,
            data_export=self.data_export,
            data_deletion=tuple(self.data_deletion),
        )
