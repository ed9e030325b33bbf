"""Wizard drafts: the creation and edit wizards' state, stored per user so that any process can continue them.

Every function takes an open session (the caller owns the transaction), ids and plain data. Each click loads the
draft, checks that the clicker owns it (:class:`PermissionDenied` otherwise), applies the pure rules of
:mod:`bot.core.wizard`, and saves. A draft lives 24 hours after its last change; an expired one is gone for
every purpose even before the scheduled clean-up (``wizard_drafts.expire``) deletes it.

Also here: the persona limit per user and guild, and cloning (a new persona made from another's settings).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import memory as memory_rules
from bot.core import personality
from bot.core import wizard as rules
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.inputs import require_storable
from bot.core.ownership import OWNER_OR_MANAGER_DELETES, PERSONA_NOT_FOUND, Actor, may_delete, require_owner
from bot.core.personas import PRIVACY_FIELDS
from bot.db import models
from bot.services import personas
from bot.services.personas import PersonaInput, PersonaRecord

EXPIRED = "This wizard has expired or is finished; run /persona create to start again."
NOT_YOURS = "This wizard belongs to someone else."


@dataclass(frozen=True)
class Draft:
    """A wizard in progress, as plain data."""

    id: int
    user_id: int
    guild_id: int | None
    channel_id: int | None
    message_id: int | None
    editing_persona_id: int | None
    step: int
    data: dict[str, Any]
    expires_at: datetime

    @property
    def state(self) -> rules.WizardState:
        return rules.WizardState(step=self.step, data=self.data)


@dataclass(frozen=True)
class Outcome:
    """What an action did: the draft after it, or (``finished``) the persona created or saved, or nothing
    (``cancelled``)."""

    draft: Draft | None = None
    persona: PersonaRecord | None = None
    created: bool = False
    cancelled: bool = False


def _draft(row: models.WizardDraft) -> Draft:
    assert row.id is not None
    return Draft(
        id=row.id,
        user_id=row.user_id,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        message_id=row.message_id,
        editing_persona_id=row.editing_persona_id,
        step=row.step,
        data=dict(row.data or {}),
        expires_at=row.expires_at,
    )


async def persona_limit(session: AsyncSession, guild_id: int | None, default: int) -> int:
    """How many personas one user may own here: the guild's override, or ``default`` (the configured one)."""
    if guild_id is None:
        return default
    override = (
        await session.execute(
            select(col(models.GuildSettings.max_personas_per_user)).where(
                col(models.GuildSettings.guild_id) == guild_id
            )
        )
    ).scalar_one_or_none()
    return int(override) if override else default


async def _check_room(session: AsyncSession, actor: Actor, limit: int) -> None:
    owned = await personas.list_own(session, actor.user_id, actor.guild_id, limit=limit + 1)
    if sum(1 for p in owned if p.status != "retired") >= limit:
        where = "on this server" if actor.guild_id is not None else "as personal personas"
        raise DomainError(f"You already have {limit} personas {where}, the most allowed. Delete one first.")


def _in_context(guild_id: int | None) -> ColumnElement[bool]:
    column = col(models.WizardDraft.guild_id)
    return column.is_(None) if guild_id is None else column == guild_id


async def resumable(session: AsyncSession, actor: Actor, *, now: datetime) -> Draft | None:
    """The caller's unexpired creation draft in this guild (or in DMs), newest first, if any."""
    row = (
        await session.execute(
            select(models.WizardDraft)
            .where(
                col(models.WizardDraft.user_id) == actor.user_id,
                _in_context(actor.guild_id),
                col(models.WizardDraft.editing_persona_id).is_(None),
                col(models.WizardDraft.expires_at) > now,
            )
            .order_by(col(models.WizardDraft.updated_at).desc(), col(models.WizardDraft.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return _draft(row) if row is not None else None


async def start(
    session: AsyncSession,
    actor: Actor,
    *,
    channel_id: int | None,
    template: str | None = None,
    max_per_user: int = 10,
    now: datetime,
) -> Draft:
    """A new creation wizard at step 1 (the template's traits filled in when one is named). Replaces the
    caller's earlier creation drafts in this guild; refused when the caller already owns the most personas."""
    data = rules.new_data(template)
    await _check_room(session, actor, await persona_limit(session, actor.guild_id, max_per_user))
    await session.execute(
        delete(models.WizardDraft).where(
            col(models.WizardDraft.user_id) == actor.user_id,
            _in_context(actor.guild_id),
            col(models.WizardDraft.editing_persona_id).is_(None),
        )
    )
    row = models.WizardDraft(
        user_id=actor.user_id,
        guild_id=actor.guild_id,
        channel_id=channel_id,
        step=1,
        data=data,
        created_at=now,
        updated_at=now,
        expires_at=now + rules.DRAFT_TTL,
    )
    session.add(row)
    await session.flush()
    return _draft(row)


async def start_edit(
    session: AsyncSession, actor: Actor, persona_id: int, *, channel_id: int | None, now: datetime
) -> Draft:
    """An edit wizard for the caller's persona, at the review step with the persona's current values."""
    # The whole record (memory configuration too), as the caller may see it: NotFound for one they may not.
    record = await personas.get(session, persona_id, viewer=actor)
    require_owner(record, actor, "edit it")
    if record.status in personas.READ_ONLY_STATUSES:
        raise DomainError(f"{record.name} is {record.status}: its settings can no longer be changed.")
    data = rules.data_from_persona(
        name=record.name,
        description=record.description,
        avatar_url=record.avatar_url,
        traits=record.traits,
        behavior=record.behavior,
        privacy=record.privacy,
        memory=record.memory_config,
        character=record.character,
    )
    data["privacy"]["shareable"] = bool(record.privacy.get("shareable", False))
    await session.execute(
        delete(models.WizardDraft).where(
            col(models.WizardDraft.user_id) == actor.user_id, col(models.WizardDraft.editing_persona_id) == persona_id
        )
    )
    row = models.WizardDraft(
        user_id=actor.user_id,
        guild_id=record.guild_id,
        channel_id=channel_id,
        editing_persona_id=persona_id,
        step=rules.TOTAL_STEPS,
        data=data,
        created_at=now,
        updated_at=now,
        expires_at=now + rules.DRAFT_TTL,
    )
    session.add(row)
    await session.flush()
    return _draft(row)


async def _load_row(session: AsyncSession, draft_id: int, user_id: int, now: datetime) -> models.WizardDraft:
    row = await session.get(models.WizardDraft, draft_id)
    if row is None or row.expires_at <= now:
        raise NotFound(EXPIRED)
    if row.user_id != user_id:
        raise PermissionDenied(NOT_YOURS)
    return row


async def get(session: AsyncSession, draft_id: int, user_id: int, *, now: datetime) -> Draft:
    """The draft, for its owner; NotFound when expired or finished, PermissionDenied for anyone else."""
    return _draft(await _load_row(session, draft_id, user_id, now))


async def dm_draft(session: AsyncSession, user_id: int, channel_id: int, *, now: datetime) -> Draft | None:
    """The user's newest unexpired wizard in this DM channel, if any (for answers typed as messages)."""
    row = (
        await session.execute(
            select(models.WizardDraft)
            .where(
                col(models.WizardDraft.user_id) == user_id,
                col(models.WizardDraft.channel_id) == channel_id,
                col(models.WizardDraft.guild_id).is_(None),
                col(models.WizardDraft.expires_at) > now,
            )
            .order_by(col(models.WizardDraft.updated_at).desc(), col(models.WizardDraft.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return _draft(row) if row is not None else None


async def chat_draft(
    session: AsyncSession, user_id: int, channel_id: int, guild_id: int | None, *, now: datetime
) -> Draft | None:
    """The user's newest unexpired wizard whose conversation is ``channel_id`` (a DM, or a private thread of
    ``guild_id`` opened for it), if any."""
    if guild_id is None:
        return await dm_draft(session, user_id, channel_id, now=now)
    row = (
        await session.execute(
            select(models.WizardDraft)
            .where(
                col(models.WizardDraft.user_id) == user_id,
                col(models.WizardDraft.channel_id) == channel_id,
                col(models.WizardDraft.guild_id) == guild_id,
                col(models.WizardDraft.expires_at) > now,
            )
            .order_by(col(models.WizardDraft.updated_at).desc(), col(models.WizardDraft.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return _draft(row) if row is not None else None


async def set_message(session: AsyncSession, draft_id: int, user_id: int, channel_id: int, message_id: int) -> None:
    """Remember where the wizard's current message is (DMs, where the bot posts a fresh one per typed answer)."""
    row = await session.get(models.WizardDraft, draft_id)
    if row is not None and row.user_id == user_id:
        row.channel_id = channel_id
        row.message_id = message_id


async def act(
    session: AsyncSession,
    actor: Actor,
    draft_id: int,
    action: str,
    arg: str | None = None,
    values: Sequence[Any] | Mapping[str, Any] | None = None,
    *,
    max_per_user: int = 10,
    now: datetime,
) -> Outcome:
    """Apply one action of the draft's owner: a wizard rule (:func:`bot.core.wizard.apply`), or ``show``
    (nothing changes), ``cancel`` (the draft is deleted), ``create`` (the persona is created, or saved when
    editing, and the draft deleted). A broken rule raises DomainError and nothing is saved."""
    row = await _load_row(session, draft_id, actor.user_id, now)
    if action == "show":
        return Outcome(draft=_draft(row))
    if action == "cancel":
        await session.delete(row)
        return Outcome(cancelled=True)
    if action == "create":
        return await _finish(session, actor, row, max_per_user=max_per_user, now=now)
    if action == "random" and not arg:
        arg = str(secrets.randbelow(2**31))
    state = rules.apply(rules.WizardState(step=row.step, data=dict(row.data or {})), action, arg, values)
    await _check_name_free(session, actor, row, before=(row.data or {}).get("name"), after=state.data.get("name"))
    row.step = state.step
    row.data = state.data
    row.updated_at = now
    row.expires_at = now + rules.DRAFT_TTL
    await session.flush()
    return Outcome(draft=_draft(row))


async def _check_name_free(
    session: AsyncSession, actor: Actor, row: models.WizardDraft, *, before: Any, after: Any
) -> None:
    """A name the owner already gives another persona here is refused when it is typed, not at the final Create."""
    if not isinstance(after, str) or not after.strip() or after == before:
        return
    if await personas.name_taken(session, actor.user_id, row.guild_id, after.strip(), except_id=row.editing_persona_id):
        raise DomainError(f"You already have a persona called '{after.strip()}' here. Choose another name.")


async def _finish(
    session: AsyncSession, actor: Actor, row: models.WizardDraft, *, max_per_user: int, now: datetime
) -> Outcome:
    data = dict(row.data or {})
    problem = rules.first_invalid_step(data)
    if problem is not None:
        rules.validate_step(problem, data)  # raises, saying what is wrong
    fields = rules.persona_fields(data)
    persona_input = PersonaInput(**fields)
    owner = Actor(user_id=actor.user_id, guild_id=row.guild_id, can_manage_guild=actor.can_manage_guild)
    if row.editing_persona_id is not None:
        record = await personas.update(session, owner, row.editing_persona_id, persona_input, now=now)
        created = False
    else:
        limit = await persona_limit(session, row.guild_id, max_per_user)
        record = await personas.create(session, owner, persona_input, max_per_user=limit, now=now)
        created = True
    await session.delete(row)
    await session.flush()
    return Outcome(persona=record, created=created)


def read_answer(draft: Draft, text: str, image_url: str | None = None) -> tuple[str, str | None, Any]:
    """What a message typed in a DM asks of the wizard (:func:`rules.interpret_text`): an action for :func:`act`,
    or ``help`` / ``describe`` for the caller. DomainError when it cannot be read."""
    return rules.interpret_text(draft.state, require_storable(text, "Your answer"), image_url)


async def text_answer(
    session: AsyncSession,
    actor: Actor,
    draft: Draft,
    text: str,
    image_url: str | None = None,
    *,
    max_per_user: int = 10,
    now: datetime,
) -> Outcome:
    """A message typed in a DM, read as an answer to the wizard's current step (:func:`rules.interpret_text`)."""
    action, arg, values = read_answer(draft, text, image_url)
    if action in ("help", "describe"):
        raise DomainError("That needs the wizard's chat; type it in the DM.")
    return await act(session, actor, draft.id, action, arg, values, max_per_user=max_per_user, now=now)


async def clone(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    name: str,
    *,
    max_per_user: int = 10,
    now: datetime,
) -> PersonaRecord:
    """A new persona owned by the caller with the original's settings, traits and character (not its memories,
    mood history, followers or timeline). Owner only."""
    source = await personas.get(session, persona_id, viewer=actor)
    require_owner(source, actor, "clone it")
    memory = {k: v for k, v in source.memory_config.items() if k in memory_rules.CONFIG_FIELDS}
    owner = Actor(user_id=actor.user_id, guild_id=source.guild_id, can_manage_guild=actor.can_manage_guild)
    limit = await persona_limit(session, source.guild_id, max_per_user)
    return await personas.create(
        session,
        owner,
        PersonaInput(
            name=name,
            description=source.description,
            avatar_url=source.avatar_url,
            traits=source.traits,
            custom_traits=source.custom_traits,
            behavior=source.behavior,
            privacy=source.privacy,
            memory=memory or None,
            plugins=source.plugins,
            **source.character,
        ),
        max_per_user=limit,
        now=now,
    )


async def deletion_preview(
    session: AsyncSession, actor: Actor, persona_id: int
) -> tuple[PersonaRecord, dict[str, int]]:
    """The persona and what deleting it would remove, for the confirmation; the same rule as
    :func:`personas.delete_persona` (the owner, or a server manager in the persona's guild), checked now too."""
    record = await personas.get(session, persona_id)
    if not may_delete(record, actor):
        if not record.visible_to(actor):
            raise NotFound(PERSONA_NOT_FOUND)
        raise PermissionDenied(OWNER_OR_MANAGER_DELETES)
    return record, await personas.count_owned_rows(session, persona_id)


def check_template(template_id: str) -> str:
    """The id of the personality template ``template_id`` names (its id or its name as people see it); NotFound
    unless it names one."""
    return personality.get_template(template_id).id


def visible_fields(record: PersonaRecord, viewer: Actor) -> dict[str, bool]:
    """Which of the persona's privacy fields ``viewer`` may see (``PrivacySettings.can_see`` for each)."""
    privacy = record.privacy_settings
    is_owner = record.owner_id == viewer.user_id
    same_guild = viewer.guild_id is not None and viewer.guild_id == record.guild_id
    return {name: privacy.can_see(name, is_owner=is_owner, same_guild=same_guild) for name in PRIVACY_FIELDS}
