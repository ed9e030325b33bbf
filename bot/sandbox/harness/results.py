"""What the harness hands back: :class:`Posted` (a message as a user sees it), :class:`InteractionHandle` (an
interaction a user started, with waits for the bot's answer), :class:`SandboxError` and :func:`walk_components`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.sandbox.state import (
    Attachment,
    Channel,
    Interaction,
    Message,
    User,
)

if TYPE_CHECKING:
    from bot.sandbox.harness.world import SandboxWorld


class SandboxError(AssertionError):
    """A test asked for something a Discord user could not do, or a wait timed out."""


@dataclass(frozen=True)
class Posted:
    """A message as a user sees it: who wrote it (webhook name and avatar included) and what it holds."""

    message: Message
    author: str
    author_id: int
    is_bot: bool
    avatar_url: str | None

    @property
    def id(self) -> int:
        return self.message.id

    @property
    def channel_id(self) -> int:
        return self.message.channel_id

    @property
    def content(self) -> str:
        return self.message.content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.embeds

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.message.components

    @property
    def ephemeral(self) -> bool:
        return self.message.ephemeral

    @property
    def webhook_id(self) -> int | None:
        return self.message.webhook_id

    @property
    def attachments(self) -> list[Attachment]:
        return self.message.attachments

    @property
    def reply_to(self) -> int | None:
        ref = self.message.reference
        return int(ref["message_id"]) if ref else None

    @property
    def edited(self) -> bool:
        return self.message.edited_timestamp is not None

    @property
    def loading(self) -> bool:
        return bool(self.message.flags & 128)

    @property
    def is_v2(self) -> bool:
        """Whether the message is laid out with Components V2 (``IS_COMPONENTS_V2``, or components only V2 allows)."""
        return bool(self.message.flags & (1 << 15)) or any(c.get("type") != 1 for c in self.components)

    def texts(self) -> list[str]:
        """The text displays of a V2 message, in reading order (sections and containers walked)."""
        return [c.get("content") or "" for c in walk_components(self.components) if c.get("type") == 10]

    @property
    def text(self) -> str:
        """All the text a user reads: the content, then every text display (one per line)."""
        return "\n".join(t for t in [self.content, *self.texts()] if t)

    def buttons(self) -> list[dict[str, Any]]:
        return [c for c in walk_components(self.components) if c.get("type") == 2]

    def selects(self) -> list[dict[str, Any]]:
        return [c for c in walk_components(self.components) if c.get("type") in (3, 5, 6, 7, 8)]

    def __str__(self) -> str:
        return f"{self.author}: {self.text}"


def walk_components(components: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for c in components:
        yield c
        if "components" in c:
            yield from walk_components(c["components"])
        for key in ("accessory", "component"):
            if isinstance(c.get(key), dict):
                yield from walk_components([c[key]])


@dataclass
class InteractionHandle:
    """One interaction a user started; its waits return what the bot answered."""

    sandbox: SandboxWorld
    interaction: Interaction
    user: User
    channel: Channel
    source: Message | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def response_type(self) -> int | None:
        return self.interaction.response_type

    @property
    def ephemeral(self) -> bool:
        return self.interaction.ephemeral

    async def response(self, timeout: float = 5.0) -> int:
        """Wait for the bot's first callback; returns its type (4, 5, 6, 7, 8 or 9)."""
        i = self.interaction
        await self.sandbox.wait_until(
            lambda: i.response_type is not None or i.error is not None,
            timeout,
            f"a response to interaction {i.id} ({self.describe()})",
        )
        if i.response_type is None:
            raise SandboxError(f"the bot answered interaction {i.id} too late: Discord said 10062 Unknown interaction")
        return i.response_type

    async def message(self, timeout: float = 5.0) -> Posted:
        """The visible answer: the original response once it has content (after a defer: when filled)."""
        i = self.interaction
        srv = self.sandbox.server

        def ready() -> bool:
            if i.original_message_id is not None and i.original_filled and i.response_type in (4, 5, 7):
                return True
            return bool(i.followup_ids)

        await self.sandbox.wait_until(ready, timeout, f"a message answering {self.describe()}")
        mid = i.original_message_id if i.original_filled and i.response_type in (4, 5, 7) else i.followup_ids[0]
        assert mid is not None  # ready() saw an original message or a follow-up
        return self.sandbox.posted(srv.state.messages[mid])

    async def followups(self, count: int = 1, timeout: float = 5.0) -> list[Posted]:
        i = self.interaction
        await self.sandbox.wait_until(
            lambda: len(i.followup_ids) >= count, timeout, f"{count} follow-up(s) to {self.describe()}"
        )
        return [self.sandbox.posted(self.sandbox.server.state.messages[m]) for m in i.followup_ids]

    async def modal(self, timeout: float = 5.0) -> dict[str, Any]:
        if await self.response(timeout) != 9:
            raise SandboxError(f"{self.describe()} answered with type {self.response_type}, not a modal")
        return self.interaction.response_data or {}

    async def choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        if await self.response(timeout) != 8:
            raise SandboxError(f"{self.describe()} answered with type {self.response_type}, not autocomplete")
        return list((self.interaction.response_data or {}).get("choices", []))

    def describe(self) -> str:
        kind = {2: "slash command", 3: "component", 4: "autocomplete", 5: "modal submit"}[self.interaction.type]
        name = self.interaction.data.get("name") or self.interaction.data.get("custom_id")
        return f"{kind} {name!r} by {self.user.username}"
