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


def owner_only_sentence(action: str) -> str:
    """The sentence shown when someone other than the owner tries ``action`` ("edit it", "export it", ...)."""
    return f"Only the persona's owner can {action}."


def require_owner(persona: Owned, actor: Actor, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` owns ``persona``. ``action`` completes "Only the persona's
    owner can ...": "edit it", "retire it", "see its memories"."""
    if persona.owner_id != actor.user_id:
        raise PermissionDenied(owner_only_sentence(action))
