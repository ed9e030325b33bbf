"""How a persona's words reach a channel: its channel webhook (its own name and avatar), or, where the bot may not
manage webhooks, the bot's own message with the persona in the embed author. :class:`PersonaSender` is used for chat
(``bot/cogs/conversation.py``) and for the retirement ceremony's farewell (``bot/workflows/ceremony.py``).

- **Webhooks**: one per channel (threads use their parent's, with ``thread=``), created once and kept by a
  :class:`WebhookStore` the caller supplies (the database: :class:`bot.discord_io.webhooks.DatabaseWebhookStore`).
  An existing webhook of ours with the same name is reused rather than piling up new ones. When Discord says the
  webhook is gone (a moderator deleted it), the store forgets it and the message goes through a new one.
- **Mentions**: everything sent or edited carries ``allowed_mentions`` with nothing allowed (``{"parse": []}``), so
  no ``@everyone``, role or user ping can come out of a model.
- **Replies**: :meth:`PersonaSender.send` with ``reply_to`` answers a message: a Discord reply from the fallback,
  and from a webhook (which cannot reply) a small embed linking to it (:func:`reply_embed`).
- **Length**: text is split at Discord's 2,000 characters on sentence boundaries
  (:func:`bot.core.conversation.split_message`), one message per part.
- **Streaming** (:class:`StreamWriter`): the first text is sent as soon as it arrives, the message is then edited
  at most once per ``interval`` (1 second) as tokens arrive, and a final edit puts the complete text; a reply that
  grows past 2,000 characters continues in a new message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import discord

from bot.core.conversation import split_message
from bot.core.personas import display_name

log = logging.getLogger(__name__)

WEBHOOK_NAME = "Persona Hub relay"
NO_MENTIONS = discord.AllowedMentions.none()
EDIT_INTERVAL = 1.0
EMBED_COLOUR = 0x5865F2
MISSING_PERMISSION_REASON = (
    "I cannot manage webhooks in #{channel}, so {name} speaks there through my own messages (its name and avatar "
    "in the message header) instead of under its own name. Give me the Manage Webhooks permission in that channel "
    "to fix this."
)


class WebhookStore(Protocol):
    """Where a channel's webhook is kept between messages and restarts."""

    async def load(self, channel_id: int) -> tuple[int, str] | None:
        """(webhook id, token) of the channel's webhook, or None."""
        ...

    async def save(self, channel_id: int, guild_id: int, webhook_id: int, token: str) -> None: ...

    async def forget(self, channel_id: int, webhook_id: int) -> None: ...


@dataclass(frozen=True)
class PersonaVoice:
    """Who speaks: the name and avatar shown."""

    persona_id: int
    name: str
    avatar_url: str | None = None


SpeakableChannel = discord.TextChannel | discord.Thread


@dataclass
class Outlet:
    """Where one persona's messages go in one channel: a webhook, or the bot's own messages (``fallback``)."""

    channel: SpeakableChannel
    voice: PersonaVoice
    webhook: discord.Webhook | None
    fallback_reason: str | None = None

    @property
    def via_webhook(self) -> bool:
        return self.webhook is not None

    @property
    def thread(self) -> discord.abc.Snowflake | None:
        return self.channel if isinstance(self.channel, discord.Thread) else None


def persona_embed(voice: PersonaVoice, text: str) -> discord.Embed:
    """The fallback's message: the persona as the embed author, its words as the description."""
    embed = discord.Embed(description=text, colour=EMBED_COLOUR)
    embed.set_author(name=voice.name[:256], icon_url=voice.avatar_url or None)
    return embed


def reply_embed(message: discord.PartialMessage) -> discord.Embed:
    """What marks a webhook message as a reply: a link back to ``message``. Discord's Execute Webhook takes no
    ``message_reference`` (developers/resources/webhook.mdx), so a persona speaking through its webhook cannot make a
    Discord reply; the bot's own message (the fallback) is a real reply instead."""
    return discord.Embed(description=f"↪ In reply to [this message]({message.jump_url})", colour=EMBED_COLOUR)


def apology_text() -> str:
    """What a persona says when the model cannot answer (no stack trace, no details: the owner is told why)."""
    return "Sorry, I can't answer right now. Give me a moment and try again."


def parent_of(channel: SpeakableChannel) -> discord.TextChannel | None:
    """The channel that owns the webhook: the channel itself, or a thread's parent."""
    if isinstance(channel, discord.Thread):
        parent = channel.parent
        return parent if isinstance(parent, discord.TextChannel) else None
    return channel


class PersonaSender:
    """Sends persona messages for one client; keeps each channel's webhook in memory once resolved."""

    def __init__(self, client: discord.Client, store: WebhookStore) -> None:
        self.client = client
        self.store = store
        self._hooks: dict[int, discord.Webhook] = {}

    def known_webhook_ids(self) -> set[int]:
        return {hook.id for hook in self._hooks.values()}

    def remember(self, channel_id: int, webhook_id: int, token: str) -> None:
        """Use this webhook for ``channel_id`` (loaded elsewhere)."""
        self._hooks[channel_id] = discord.Webhook.partial(webhook_id, token, client=self.client)

    async def outlet(self, channel: SpeakableChannel, voice: PersonaVoice) -> Outlet:
        """The way to speak as ``voice`` in ``channel`` (never raises for a missing permission: falls back)."""
        parent = parent_of(channel)
        if parent is None:
            return Outlet(channel, voice, None, "this kind of channel has no webhooks")
        hook = self._hooks.get(parent.id)
        if hook is None:
            stored = await self.store.load(parent.id)
            if stored is not None:
                hook = discord.Webhook.partial(stored[0], stored[1], client=self.client)
                self._hooks[parent.id] = hook
        if hook is None:
            hook = await self._create(parent)
        if hook is None:
            reason = MISSING_PERMISSION_REASON.format(channel=parent.name, name=voice.name)
            return Outlet(channel, voice, None, reason)
        return Outlet(channel, voice, hook)

    async def _create(self, parent: discord.TextChannel) -> discord.Webhook | None:
        me = parent.guild.me
        if me is None or not parent.permissions_for(me).manage_webhooks:
            return None
        try:
            mine = [
                h
                for h in await parent.webhooks()
                if h.name == WEBHOOK_NAME and h.token and h.user is not None and h.user.id == me.id
            ]
            hook = mine[0] if mine else await parent.create_webhook(name=WEBHOOK_NAME, reason="Personas speak here")
        except discord.Forbidden:
            return None
        if hook.token is None:
            return None
        await self.store.save(parent.id, parent.guild.id, hook.id, hook.token)
        hook = discord.Webhook.partial(hook.id, hook.token, client=self.client)
        self._hooks[parent.id] = hook
        return hook

    async def _lost(self, outlet: Outlet) -> Outlet:
        """The webhook is gone: forget it and resolve again (a new webhook, or the fallback)."""
        parent = parent_of(outlet.channel)
        if parent is not None and outlet.webhook is not None:
            self._hooks.pop(parent.id, None)
            await self.store.forget(parent.id, outlet.webhook.id)
        fresh = await self.outlet(outlet.channel, outlet.voice)
        outlet.webhook, outlet.fallback_reason = fresh.webhook, fresh.fallback_reason
        return outlet

    async def send(
        self, outlet: Outlet, text: str, *, reply_to: discord.PartialMessage | None = None
    ) -> discord.Message:
        """One message (at most 2,000 characters) as the persona; ``reply_to``: in reply to that message (see
        :func:`reply_embed`; the author of the message replied to is not pinged)."""
        for attempt in range(2):
            if outlet.webhook is None:
                embed = persona_embed(outlet.voice, text)
                if reply_to is None:
                    return await outlet.channel.send(embed=embed, allowed_mentions=NO_MENTIONS)
                reference = reply_to.to_reference(fail_if_not_exists=False)
                return await outlet.channel.send(embed=embed, allowed_mentions=NO_MENTIONS, reference=reference)
            try:
                return await outlet.webhook.send(
                    text,
                    username=display_name(outlet.voice.name),
                    avatar_url=outlet.voice.avatar_url or discord.utils.MISSING,
                    allowed_mentions=NO_MENTIONS,
                    embed=reply_embed(reply_to) if reply_to is not None else discord.utils.MISSING,
                    thread=outlet.thread or discord.utils.MISSING,
                    wait=True,
                )
            except (discord.NotFound, discord.Forbidden) as error:
                if attempt or not _webhook_gone(error):
                    raise
                await self._lost(outlet)
        raise AssertionError("unreachable")  # pragma: no cover

    async def edit(self, outlet: Outlet, message: discord.Message, text: str) -> bool:
        """Change a message the persona sent (webhook or fallback) to ``text``; False when it cannot be edited
        any more (its webhook or the message is gone)."""
        try:
            if message.webhook_id is None:
                await message.edit(embed=persona_embed(outlet.voice, text), allowed_mentions=NO_MENTIONS)
                return True
            if outlet.webhook is None or message.webhook_id != outlet.webhook.id:
                return False
            await outlet.webhook.edit_message(
                message.id,
                content=text,
                allowed_mentions=NO_MENTIONS,
                thread=outlet.thread or discord.utils.MISSING,
            )
            return True
        except (discord.NotFound, discord.Forbidden):
            return False

    async def replace(self, outlet: Outlet, message_ids: Sequence[int], text: str, *, via_webhook: bool) -> list[int]:
        """Another take: the reply whose messages are ``message_ids`` (in order; sent through the webhook when
        ``via_webhook``) says ``text`` now. Each part is **edited in place**, so the reply keeps its place in the
        conversation, the replies that point at it and its reactions; parts the new text needs beyond the old ones
        are sent after them, and old parts it no longer needs are deleted. When a part cannot be edited any more
        (its webhook was replaced since, or the message is gone) the whole text is sent anew and the old parts are
        deleted where the bot may. Returns the reply's message ids now, in order."""
        parts = split_message(text)
        kept: list[int] = []
        for index, part in enumerate(parts[: len(message_ids)]):
            if not await self._edit_id(outlet, message_ids[index], part, via_webhook=via_webhook):
                sent = [(await self.send(outlet, piece)).id for piece in parts]
                await self._delete_ids(outlet, message_ids, via_webhook=via_webhook)
                return sent
            kept.append(message_ids[index])
        for part in parts[len(message_ids) :]:
            kept.append((await self.send(outlet, part)).id)
        await self._delete_ids(outlet, message_ids[len(parts) :], via_webhook=via_webhook)
        return kept

    async def _edit_id(self, outlet: Outlet, message_id: int, text: str, *, via_webhook: bool) -> bool:
        try:
            if not via_webhook:
                message = outlet.channel.get_partial_message(message_id)
                await message.edit(embed=persona_embed(outlet.voice, text), allowed_mentions=NO_MENTIONS)
                return True
            if outlet.webhook is None:
                return False
            await outlet.webhook.edit_message(
                message_id, content=text, allowed_mentions=NO_MENTIONS, thread=outlet.thread or discord.utils.MISSING
            )
            return True
        except (discord.NotFound, discord.Forbidden):
            return False

    async def _delete_ids(self, outlet: Outlet, message_ids: Sequence[int], *, via_webhook: bool) -> None:
        """Delete the messages through whoever sent them, else as the bot (which needs Manage Messages)."""
        for message_id in message_ids:
            try:
                if via_webhook and outlet.webhook is not None:
                    await outlet.webhook.delete_message(message_id, thread=outlet.thread or discord.utils.MISSING)
                else:
                    await outlet.channel.get_partial_message(message_id).delete()
            except discord.HTTPException:
                try:
                    await outlet.channel.get_partial_message(message_id).delete()
                except discord.HTTPException:
                    log.info("an old take's message %s could not be deleted", message_id)

    async def say(self, outlet: Outlet, text: str) -> list[discord.Message]:
        """The whole text as the persona, split at Discord's limit on sentence boundaries."""
        return [await self.send(outlet, part) for part in split_message(text)]


def _webhook_gone(error: discord.HTTPException) -> bool:
    # 10015 Unknown Webhook, 50027 Invalid Webhook Token (a deleted and re-made webhook has a new token).
    return error.code in (10015, 50027) or error.status == 404


@dataclass
class StreamWriter:
    """Puts a streamed reply into messages: send the first text, edit at most once per ``interval``, final edit
    with the complete text (:meth:`finish`). ``messages`` are those sent so far, in order."""

    sender: PersonaSender
    outlet: Outlet
    interval: float = EDIT_INTERVAL
    clock: Callable[[], float] = time.monotonic
    text: str = ""
    messages: list[discord.Message] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    edits: int = 0
    _last_flush: float = float("-inf")

    async def feed(self, delta: str) -> None:
        self.text += delta
        if not self.text.strip():
            return
        if not self.messages or self.clock() - self._last_flush >= self.interval:
            await self._sync()

    async def finish(self, suffix: str = "") -> list[discord.Message]:
        """The final edit: the complete text (plus ``suffix``) in every part."""
        if suffix:
            self.text = self.text.rstrip() + suffix
        if self.text.strip():
            await self._sync()
        return self.messages

    async def _sync(self) -> None:
        self._last_flush = self.clock()
        parts = split_message(self.text)
        for index, part in enumerate(parts):
            if index < len(self.messages):
                if self.shown[index] != part:
                    if not await self.sender.edit(self.outlet, self.messages[index], part):
                        log.warning("a streamed message could not be edited (its webhook or message is gone)")
                    self.shown[index] = part
                    self.edits += 1
            else:
                self.messages.append(await self.sender.send(self.outlet, part))
                self.shown.append(part)
