"""The :class:`Sandbox`: the world and the command actions, plus acting as users with messages, reactions,
buttons, selects and modals."""

from __future__ import annotations

from typing import Any

from bot.sandbox.harness.commands import CommandActions
from bot.sandbox.harness.modals import ModalFiller
from bot.sandbox.harness.results import InteractionHandle, Posted, SandboxError, walk_components
from bot.sandbox.server import ApiError
from bot.sandbox.state import (
    Attachment,
    Channel,
    Message,
    P,
    User,
)


class Sandbox(CommandActions):
    """A sandbox server with a default world, and the user-acting API.

    The world: guild "Sandbox" owned by alice, with #general and #personas, humans alice and bob,
    and the bot (a member with a managed role holding the usual bot permissions, not Administrator).
    """

    # ----- acting as users: messages and reactions -----

    def _check_user_perm(self, channel: Channel, user: User, bit: int, what: str) -> None:
        perms = self.state.permissions_in(channel, user.id)
        if not perms & P.VIEW_CHANNEL or not perms & bit:
            raise SandboxError(f"{user.username} cannot {what} in #{channel.name or 'dm'}")

    async def send(
        self,
        channel: Channel | None = None,
        content: str = "",
        *,
        author: User | None = None,
        embeds: list[dict[str, Any]] | None = None,
        files: list[tuple[str, bytes]] | None = None,
        reply_to: Message | Posted | None = None,
    ) -> Message:
        channel = channel or self.general
        author = author or self.alice
        send_bit = P.SEND_MESSAGES_IN_THREADS if channel.is_thread else P.SEND_MESSAGES
        self._check_user_perm(channel, author, send_bit, "send messages")
        body: dict[str, Any] = {"content": content}
        if embeds:
            body["embeds"] = embeds
        if reply_to is not None:
            target = reply_to.message if isinstance(reply_to, Posted) else reply_to
            body["message_reference"] = {"message_id": str(target.id), "channel_id": str(target.channel_id)}
        atts = [self.server.add_attachment(channel.id, name, data) for name, data in files or []]
        try:
            return self.server.create_message(channel, author.id, body, atts)
        except ApiError as e:
            raise SandboxError(f"Discord would refuse this message: {e}") from None

    async def reply(self, message: Message | Posted, content: str, *, author: User | None = None) -> Message:
        target = message.message if isinstance(message, Posted) else message
        return await self.send(self.state.channels[target.channel_id], content, author=author, reply_to=target)

    async def edit(self, message: Message | Posted, content: str) -> Message:
        m = message.message if isinstance(message, Posted) else message
        return self.server.edit_message(m, {"content": content})

    async def delete(self, message: Message | Posted) -> None:
        self.server.delete_message(message.message if isinstance(message, Posted) else message)

    async def react(self, message: Message | Posted, emoji: str, *, user: User | None = None) -> None:
        m = message.message if isinstance(message, Posted) else message
        user = user or self.alice
        self._check_user_perm(self.state.channels[m.channel_id], user, P.READ_MESSAGE_HISTORY, "react")
        self.server.add_reaction(m, user.id, self.server.emoji_key(emoji))

    async def unreact(self, message: Message | Posted, emoji: str, *, user: User | None = None) -> None:
        m = message.message if isinstance(message, Posted) else message
        self.server.remove_reaction(m, (user or self.alice).id, self.server.emoji_key(emoji))

    # ----- acting as users: components and modals -----

    def _visible_message(self, message: Message | Posted, user: User) -> Message:
        m = message.message if isinstance(message, Posted) else message
        m = self.state.messages[m.id]
        if m.deleted or (m.visible_to is not None and m.visible_to != user.id):
            raise SandboxError(f"{user.username} cannot see message {m.id}")
        return m

    async def click(
        self,
        message: Message | Posted,
        *,
        label: str | None = None,
        custom_id: str | None = None,
        emoji: str | None = None,
        index: int | None = None,
        user: User | None = None,
    ) -> InteractionHandle:
        user = user or self.alice
        m = self._visible_message(message, user)
        buttons = [c for c in walk_components(m.components) if c.get("type") == 2]
        if index is not None:
            matches = buttons[index : index + 1]
        else:
            matches = [
                b
                for b in buttons
                if (label is None or b.get("label") == label)
                and (custom_id is None or b.get("custom_id") == custom_id)
                and (emoji is None or (b.get("emoji") or {}).get("name") == emoji)
            ]
        if len(matches) != 1:
            labels = [b.get("label") or (b.get("emoji") or {}).get("name") for b in buttons]
            raise SandboxError(f"{len(matches)} buttons match on message {m.id}; buttons: {labels}")
        b = matches[0]
        if b.get("disabled"):
            raise SandboxError(f"button {b.get('label')!r} is disabled")
        if b.get("style") in (5, 6) or "custom_id" not in b:
            raise SandboxError(f"button {b.get('label')!r} is a link/premium button; it makes no interaction")
        channel = self.state.channels[m.channel_id]
        data = {"custom_id": b["custom_id"], "component_type": 2}
        i = self.server.create_interaction(3, user, channel, data, message=m)
        return InteractionHandle(self, i, user, channel, source=m)

    async def select(
        self,
        message: Message | Posted,
        values: list[Any],
        *,
        custom_id: str | None = None,
        placeholder: str | None = None,
        user: User | None = None,
    ) -> InteractionHandle:
        user = user or self.alice
        m = self._visible_message(message, user)
        selects = [c for c in walk_components(m.components) if c.get("type") in (3, 5, 6, 7, 8)]
        matches = [
            s
            for s in selects
            if (custom_id is None or s.get("custom_id") == custom_id)
            and (placeholder is None or s.get("placeholder") == placeholder)
        ]
        if len(matches) != 1:
            raise SandboxError(
                f"{len(matches)} selects match on message {m.id}; {[s.get('custom_id') for s in selects]}"
            )
        s = matches[0]
        channel = self.state.channels[m.channel_id]
        wire, resolved = self._select_values(s, values, channel)
        data: dict[str, Any] = {"custom_id": s["custom_id"], "component_type": s["type"], "values": wire}
        if resolved:
            data["resolved"] = resolved
        i = self.server.create_interaction(3, user, channel, data, message=m)
        return InteractionHandle(self, i, user, channel, source=m)

    def _select_values(
        self, s: dict[str, Any], values: list[Any], channel: Channel
    ) -> tuple[list[str], dict[str, dict[str, Any]]]:
        if s.get("disabled"):
            raise SandboxError(f"select {s.get('custom_id')!r} is disabled")
        lo, hi = s.get("min_values", 1), s.get("max_values", 1)
        if not lo <= len(values) <= hi:
            raise SandboxError(f"select {s.get('custom_id')!r} takes {lo}..{hi} values, got {len(values)}")
        resolved: dict[str, dict[str, Any]] = {}
        if s["type"] == 3:
            allowed = [o["value"] for o in s.get("options", [])]
            labels = {o["label"]: o["value"] for o in s.get("options", [])}
            wire = [str(labels.get(v, v)) for v in values]
            bad = [v for v in wire if v not in allowed]
            if bad:
                raise SandboxError(f"select {s.get('custom_id')!r} has no option(s) {bad}; options: {allowed}")
            return wire, resolved
        type_for = {5: 6, 6: 8, 8: 7}
        wire = []
        for v in values:
            opt_type = type_for.get(s["type"], 9)
            wire.append(self._option_value({"type": opt_type, "name": s["custom_id"]}, v, resolved, channel))
        return wire, resolved

    async def submit_modal(
        self,
        opened: InteractionHandle,
        values: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        **fields: Any,
    ) -> InteractionHandle:
        """Fill the modal the bot opened in answer to ``opened``: answers by custom_id or label (see
        :mod:`.modals` for what each component takes: text, options, ticks, ``(filename, bytes)`` files)."""
        modal = await opened.modal()
        user = user or opened.user
        channel = opened.channel

        def upload(filename: str, data: bytes) -> Attachment:
            return self.server.add_attachment(channel.id, filename, data)

        filler = ModalFiller(modal, {**(values or {}), **fields}, self._select_values, upload, channel)
        data = filler.build()
        i = self.server.create_interaction(5, user, channel, data, message=opened.source, trigger=opened.interaction)
        return InteractionHandle(self, i, user, channel, source=opened.source)
