"""Retirement rules (pure): the plan and its validation, triggers, archival selection, legacy access, anonymisation.

Every field of the seed's ``RetirementPlan``:

- triggers: a date and time (``date``), inactivity for N days (``inactivity``), or ``manual`` (``/retire now``
  only; the owner may always retire a persona by hand, whatever the triggers);
- memory archival: ``all``, ``important`` (importance at or above a threshold) or ``none``;
- achievement and timeline preservation (copied into the legacy archive);
- archive access: ``owner``, ``followers``, ``server`` or ``public`` (who may read ``/legacy``);
- community access (people the archive access admits may read the archived memories, not only their count) and
  research access (an anonymised export: no person's ids or names);
- ceremony settings: the channel, whether followers are invited, what the ceremony shows, and how many days the
  ceremony stays open (the data retention may not end before it closes);
- the farewell message: the owner's text, or written in character by the model;
- data retention (days after the retirement), data export (the owner receives the native export by DM) and data
  deletion (what goes when the retention ends).

Time is a parameter; nothing here reads a clock, a database or Discord.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.errors import DomainError

TRIGGER_KINDS = ("date", "inactivity", "manual")
ARCHIVAL_MODES = ("all", "important", "none")
ACCESS_LEVELS = ("owner", "followers", "server", "public")
CEREMONY_SHOWS = ("lifespan", "conversations", "followers", "achievements", "mood_chart")
# What the retention job may delete when the retention ends. ``persona`` removes the persona and everything of it.
DELETION_KINDS = (
    "memories",
    "emotional_history",
    "relationships",
    "messages",
    "follows",
    "archived_memories",
    "timeline",
    "achievements",
    "persona",
)
DEFAULT_DELETION = ("memories", "emotional_history", "relationships", "messages")

FAREWELL_MAX = 1900  # a Discord message holds 2,000 characters
INACTIVITY_DAYS_MAX = 3650
RETENTION_DAYS_MAX = 3650
CEREMONY_DAYS_MAX = 365
DATE_HORIZON_DAYS = 3650
THRESHOLD_MIN, THRESHOLD_MAX = 1, 10

ANONYMOUS = "[person]"
# Keys whose values identify a person, a place on Discord or a message: never in a research export.
IDENTIFYING_KEYS = frozenset(
    {
        "owner_id",
        "user_id",
        "source_user_id",
        "subject_user_id",
        "source_channel_id",
        "source_message_id",
        "channel_id",
        "ceremony_channel_id",
        "message_id",
        "guild_id",
        "recorded_by",
        "created_by",
        "activated_by",
        "granted_by",
        "avatar_url",
        "farewell_message_id",
        "ceremony_message_id",
    }
)


@dataclass(frozen=True)
class Trigger:
    kind: str  # date | inactivity | manual
    at: datetime | None = None
    days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.at is not None:
            data["at"] = self.at.isoformat()
        if self.days is not None:
            data["days"] = self.days
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trigger:
        at = data.get("at")
        return cls(
            kind=str(data.get("kind")),
            at=datetime.fromisoformat(at) if isinstance(at, str) else at,
            days=int(data["days"]) if data.get("days") is not None else None,
        )


@dataclass(frozen=True)
class CeremonySettings:
    invite_followers: bool = True
    show: tuple[str, ...] = CEREMONY_SHOWS
    duration_days: int = 7

    def to_dict(self) -> dict[str, Any]:
        return {"invite_followers": self.invite_followers, "show": list(self.show), "duration_days": self.duration_days}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> CeremonySettings:
        data = data or {}
        return cls(
            invite_followers=bool(data.get("invite_followers", True)),
            show=tuple(data.get("show", CEREMONY_SHOWS)),
            duration_days=int(data.get("duration_days", 7)),
        )


@dataclass(frozen=True)
class PlanDraft:
    """What the owner asked for, unchecked. Defaults are the plan a one-line ``/retire plan`` makes."""

    triggers: Sequence[Trigger] = (Trigger("manual"),)
    memory_archival: str = "all"
    archival_threshold: int = 7
    achievement_preservation: bool = True
    timeline_preservation: bool = True
    archive_access: str = "owner"
    community_access: bool = False
    research_access: bool = False
    ceremony_channel_id: int | None = None
    ceremony: CeremonySettings = field(default_factory=CeremonySettings)
    farewell_message: str | None = None
    farewell_by_model: bool = True
    data_retention_days: int = 365
    data_export: bool = False
    data_deletion: Sequence[str] = DEFAULT_DELETION


@dataclass(frozen=True)
class Plan:
    """A validated plan (the same fields, normalised)."""

    triggers: tuple[Trigger, ...]
    memory_archival: str
    archival_threshold: int
    achievement_preservation: bool
    timeline_preservation: bool
    archive_access: str
    community_access: bool
    research_access: bool
    ceremony_channel_id: int | None
    ceremony: CeremonySettings
    farewell_message: str | None
    farewell_by_model: bool
    data_retention_days: int
    data_export: bool
    data_deletion: tuple[str, ...]

    @property
    def scheduled_for(self) -> datetime | None:
        """The date trigger's time, if any."""
        return next((t.at for t in self.triggers if t.kind == "date"), None)

    @property
    def inactivity_days(self) -> int | None:
        return next((t.days for t in self.triggers if t.kind == "inactivity"), None)


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"{what} must be a whole number.")
    if not low <= value <= high:
        raise DomainError(f"{what} must be between {low} and {high}; it is {value}.")
    return value


def _choice(value: Any, what: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise DomainError(f"{what} must be one of {', '.join(allowed)}; '{value}' is not.")
    return str(value)


def validate_triggers(triggers: Sequence[Trigger], *, now: datetime) -> tuple[Trigger, ...]:
    """At least one trigger; at most one of each kind; a date in the future (within ten years), timezone-aware;
    inactivity of 1..3650 days."""
    if not triggers:
        raise DomainError("A retirement plan needs a trigger: a date, a number of days of inactivity, or manual.")
    seen: set[str] = set()
    checked: list[Trigger] = []
    for trigger in triggers:
        kind = _choice(trigger.kind, "A trigger", TRIGGER_KINDS)
        if kind in seen:
            raise DomainError(f"A plan can have only one {kind} trigger.")
        seen.add(kind)
        if kind == "date":
            if trigger.at is None or trigger.at.tzinfo is None:
                raise DomainError("The retirement date needs a time with a time zone (UTC).")
            if trigger.at <= now:
                raise DomainError(
                    f"The retirement date {trigger.at:%Y-%m-%d %H:%M} UTC is in the past; choose a time after now."
                )
            if trigger.at > now + timedelta(days=DATE_HORIZON_DAYS):
                raise DomainError("The retirement date is more than ten years away; choose a nearer one.")
            checked.append(Trigger("date", at=trigger.at))
        elif kind == "inactivity":
            days = _whole(trigger.days, "The inactivity trigger's number of days", 1, INACTIVITY_DAYS_MAX)
            checked.append(Trigger("inactivity", days=days))
        else:
            checked.append(Trigger("manual"))
    return tuple(sorted(checked, key=lambda t: TRIGGER_KINDS.index(t.kind)))


def validate_ceremony(settings: CeremonySettings) -> CeremonySettings:
    show = tuple(dict.fromkeys(settings.show))
    for item in show:
        _choice(item, "What the ceremony shows", CEREMONY_SHOWS)
    days = _whole(settings.duration_days, "The ceremony's length in days", 0, CEREMONY_DAYS_MAX)
    return CeremonySettings(bool(settings.invite_followers), show, days)


def validate_farewell(text: str | None, by_model: bool) -> str | None:
    """The owner's farewell (1..1900 characters), or None when the model writes it."""
    cleaned = (text or "").strip()
    if by_model:
        if cleaned:
            raise DomainError("Choose one farewell: your own text, or written by the model (not both).")
        return None
    if not cleaned:
        raise DomainError("Write the farewell message, or let the persona write it in character.")
    if len(cleaned) > FAREWELL_MAX:
        raise DomainError(f"The farewell is {len(cleaned)} characters long; the limit is {FAREWELL_MAX}.")
    return cleaned


def validate_deletion(kinds: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(kinds))
    for kind in chosen:
        _choice(kind, "What is deleted when the retention ends", DELETION_KINDS)
    return tuple(k for k in DELETION_KINDS if k in chosen)


def validate_plan(draft: PlanDraft, *, now: datetime, channel_postable: bool | None = None) -> Plan:
    """The draft checked field by field, or :class:`DomainError` naming the first problem.

    ``channel_postable`` is a fact the caller found out (whether the bot can post, and post as the persona, in the
    ceremony channel); False is refused, None means "not known" (no channel given).
    """
    if now.tzinfo is None:
        raise DomainError("The time must be timezone-aware (UTC).")
    triggers = validate_triggers(draft.triggers, now=now)
    archival = _choice(draft.memory_archival, "Memory archival", ARCHIVAL_MODES)
    threshold = _whole(draft.archival_threshold, "The importance threshold", THRESHOLD_MIN, THRESHOLD_MAX)
    access = _choice(draft.archive_access, "Archive access", ACCESS_LEVELS)
    if draft.ceremony_channel_id is not None:
        _whole(draft.ceremony_channel_id, "The ceremony channel", 1, 2**63 - 1)
        if channel_postable is False:
            raise DomainError(
                "I cannot post in that channel (I need View Channel, Send Messages, Embed Links, Attach Files and "
                "Manage Webhooks there); choose another channel or give me those permissions."
            )
    ceremony = validate_ceremony(draft.ceremony)
    farewell = validate_farewell(draft.farewell_message, draft.farewell_by_model)
    retention = _whole(draft.data_retention_days, "The data retention in days", 1, RETENTION_DAYS_MAX)
    if retention < ceremony.duration_days:
        raise DomainError(
            f"The data retention ({retention} days) is shorter than the ceremony ({ceremony.duration_days} days): "
            "the data would be deleted while the ceremony is still open. Keep it at least as long."
        )
    deletion = validate_deletion(draft.data_deletion)
    return Plan(
        triggers=triggers,
        memory_archival=archival,
        archival_threshold=threshold,
        achievement_preservation=bool(draft.achievement_preservation),
        timeline_preservation=bool(draft.timeline_preservation),
        archive_access=access,
        community_access=bool(draft.community_access),
        research_access=bool(draft.research_access),
        ceremony_channel_id=draft.ceremony_channel_id,
        ceremony=ceremony,
        farewell_message=farewell,
        farewell_by_model=bool(draft.farewell_by_model),
        data_retention_days=retention,
        data_export=bool(draft.data_export),
        data_deletion=deletion,
    )


# --------------------------------------------------------------------------------------------------- triggers


def inactive_since(last_activity: datetime | None, planned_at: datetime) -> datetime:
    """When the inactivity count starts: the last activity, but never before the plan (a plan does not retire a
    persona the moment it is made because it was quiet before)."""
    return planned_at if last_activity is None else max(last_activity, planned_at)


def due_trigger(
    triggers: Sequence[Trigger], *, now: datetime, last_activity: datetime | None, planned_at: datetime
) -> str | None:
    """The trigger that is due at ``now`` (``date`` before ``inactivity``), or None."""
    for trigger in triggers:
        if trigger.kind == "date" and trigger.at is not None and trigger.at <= now:
            return "date"
    for trigger in triggers:
        if trigger.kind == "inactivity" and trigger.days is not None:
            if now - inactive_since(last_activity, planned_at) >= timedelta(days=trigger.days):
                return "inactivity"
    return None


# --------------------------------------------------------------------------------------------------- archival


@dataclass(frozen=True)
class MemoryFacts:
    id: int
    importance: int


def select_for_archive(memories: Iterable[MemoryFacts], mode: str, threshold: int) -> list[int]:
    """The ids of the memories the legacy keeps: all, those at or above ``threshold`` importance, or none."""
    _choice(mode, "Memory archival", ARCHIVAL_MODES)
    if mode == "none":
        return []
    if mode == "all":
        return [m.id for m in memories]
    return [m.id for m in memories if m.importance >= threshold]


def retention_until(retired_at: datetime, days: int) -> datetime:
    return retired_at + timedelta(days=days)


# --------------------------------------------------------------------------------------------------- access


def can_view_legacy(access: str, *, is_owner: bool, is_follower: bool, same_guild: bool) -> bool:
    """Whether a viewer may read a legacy: the owner always; then followers, the persona's server (and its followers),
    or anyone."""
    if is_owner:
        return True
    if access == "public":
        return True
    if access == "server":
        return same_guild or is_follower  # each level admits everyone the narrower ones do
    if access == "followers":
        return is_follower
    return False


def access_refusal(access: str, name: str) -> str:
    """The sentence a refused viewer reads."""
    who = {
        "owner": "its owner only",
        "followers": "its followers only",
        "server": "members of its server only",
        "public": "everyone",
    }.get(access, "its owner only")
    return f"The legacy of {name} is open to {who}."


# --------------------------------------------------------------------------------------------------- anonymisation

_MENTION = re.compile(r"<@[!&]?\d+>")


def anonymise_text(text: str, *, names: Iterable[str], ids: Iterable[int]) -> str:
    """``text`` with mentions, the given ids and names (whole words, any case) replaced by ``[person]``."""
    result = _MENTION.sub(ANONYMOUS, text)
    for value in sorted({str(i) for i in ids if i}, key=len, reverse=True):
        result = re.sub(rf"(?<!\d){re.escape(value)}(?!\d)", ANONYMOUS, result)
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        result = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", ANONYMOUS, result, flags=re.IGNORECASE)
    return result


def anonymise(document: Any, *, names: Iterable[str], ids: Iterable[int]) -> Any:
    """A copy of ``document`` without identifying keys (:data:`IDENTIFYING_KEYS`), with every string anonymised
    (:func:`anonymise_text`) and every number equal to a person's id replaced."""
    name_list = [n for n in names if n and n.strip()]
    id_set = {int(i) for i in ids if i}

    def walk(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): walk(v) for k, v in value.items() if str(k) not in IDENTIFYING_KEYS}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return anonymise_text(value, names=name_list, ids=id_set)
        if isinstance(value, int) and not isinstance(value, bool) and value in id_set:
            return ANONYMOUS
        return value

    return walk(document)


# --------------------------------------------------------------------------------------------------- words


def lifespan_words(born: datetime, retired: datetime) -> str:
    """A life span in words: "3 days", "2 months", "1 year and 4 months"."""
    days = max(0, (retired - born).days)
    if days < 1:
        hours = max(0, int((retired - born).total_seconds() // 3600))
        if hours < 1:
            return "less than an hour"
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if days < 60:
        return f"{days} day{'s' if days != 1 else ''}"
    months = days // 30
    if months < 24:
        return f"{months} months"
    years, rest = divmod(months, 12)
    return f"{years} years" + (f" and {rest} month{'s' if rest != 1 else ''}" if rest else "")


def ceremony_job_id(persona_id: int) -> str:
    """The id of a dated plan's ceremony job in the scheduler's store (the one spelling; the scheduler and the
    services both use it)."""
    return f"retire:ceremony:{persona_id}"
