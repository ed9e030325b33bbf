"""Who is asking, and the one rule for what only a persona's owner may do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.core.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    """Who is asking, as plain ids: the user, the guild they ask from (None in DMs), and their server role."""

    user_id: int
    guild_id: int | None = None
    can_manage_guild: bool = False


PERSONA_NOT_FOUND = "That persona does not exist (it may have been deleted)."


class Owned(Protocol):
    """Anything with an owner: a persona row, a persona record."""

    @property
    def owner_id(self) -> int: ...


class Placed(Owned, Protocol):
    """A persona with its owner and the guild it lives in (None: a personal persona)."""

    @property
    def guild_id(self) -> int | None: ...


OWNER_OR_MANAGER_DELETES = "Only the persona's owner, or a server manager, can delete it."


def may_delete(persona: Placed, actor: Actor) -> bool:
    """Deleting is the owner's, or a member's with Manage Server in the persona's own guild (who may not edit it)."""
    return persona.owner_id == actor.user_id or (
        actor.can_manage_guild and actor.guild_id is not None and actor.guild_id == persona.guild_id
    )


def owner_only_sentence(action: str) -> str:
    """The sentence shown when someone other than the owner tries ``action`` ("edit it", "export it", ...)."""
    return f"Only the persona's owner can {action}."


def require_owner(persona: Owned, actor: Actor, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` owns ``persona``. ``action`` completes "Only the persona's
    owner can ...": "edit it", "retire it", "see its memories"."""
    if persona.owner_id != actor.user_id:
        raise PermissionDenied(owner_only_sentence(action))
