"""Domain operations on messages and reactions: attachments, mention resolution, validation, create / edit /
delete, add / remove a reaction. The REST handlers and the test harness both call these, so what a test does as a
user and what the bot does through discord.py go through one code path (and dispatch the same gateway events)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import unquote

from bot.sandbox.server.core import ServerCore
from bot.sandbox.server.http import EMPTY_MESSAGE, UNKNOWN_EMOJI, ApiError
from bot.sandbox.server.validation.errors import FormErrors
from bot.sandbox.server.validation.layouts import IS_COMPONENTS_V2, text_displays
from bot.sandbox.server.validation.messages import (
    SUPPRESS_EMBEDS,
    Kind,
    check_message,
    check_switch_to_v2,
    settable_flags,
)
from bot.sandbox.state import (
    ATTACHMENT_SIZE_LIMIT,
    Attachment,
    Channel,
    Interaction,
    Message,
    P,
    Webhook,
    emoji_json,
    member_json,
    now,
    user_json,
)
from bot.sandbox.state.content import image_size, normalise_components, normalise_embed, sniff_content_type

MENTION = re.compile(r"<@(!?&?)(\d+)>")
KEYCAP_ASCII = set("0123456789#*")


def looks_like_emoji(text: str) -> bool:
    """Whether ``text`` can be a unicode emoji: a short run of symbols (variation selectors, joiners, keycaps and
    skin tones allowed) with no letters; the sandbox has no emoji table, so this is its approximation."""
    if not text or len(text) > 32:
        return False
    for c in text:
        if (c.isascii() and c not in KEYCAP_ASCII) or unicodedata.category(c).startswith("L"):
            return False
    return any(unicodedata.category(c) == "So" or c in "\ufe0f\u20e3" for c in text)


class MessagingServer(ServerCore):
    """The server core plus the message and reaction operations."""

    def add_attachment(
        self, channel_id: int, filename: str, data: bytes, content_type: str | None = None
    ) -> Attachment:
        """Store an upload. ``content_type`` (what the client declared) is not believed: Discord names the media
        type from the bytes themselves."""
        aid = self.state.snowflake()
        url = f"{self.base_url}/attachments/{channel_id}/{aid}/{filename}"
        kind = sniff_content_type(filename, data)
        att = Attachment(id=aid, filename=filename, data=data, content_type=kind, url=url)
        size = image_size(data, kind)
        if size is not None:
            att.width, att.height = size
        self.attachments[aid] = att
        return att

    def resolve_mentions(self, m: Message, allowed: dict[str, Any] | None, author_perms: int | None = None) -> None:
        users: list[int] = []
        roles: list[int] = []
        text = m.content
        if m.flags & IS_COMPONENTS_V2:  # text displays ping as content does (components/reference.mdx)
            text = "\n".join([text, *text_displays(m.components)])
        for kind, sid in MENTION.findall(text):
            (roles if "&" in kind else users).append(int(sid))
        everyone = "@everyone" in text or "@here" in text
        if allowed is not None:
            parse = allowed.get("parse", [])
            ok_users = {int(u) for u in allowed.get("users", [])}
            ok_roles = {int(r) for r in allowed.get("roles", [])}
            users = [u for u in users if "users" in parse or u in ok_users]
            roles = [r for r in roles if "roles" in parse or r in ok_roles]
            everyone = everyone and "everyone" in parse
        if author_perms is not None and not author_perms & P.MENTION_EVERYONE:
            everyone = False
        if m.reference and m.type == 19 and (allowed is None or allowed.get("replied_user", True)):
            ref = self.state.messages.get(int(m.reference["message_id"]))
            if ref is not None and ref.webhook_id is None:
                users.append(ref.author_id)
        m.mention_ids = list(dict.fromkeys(u for u in users if u in self.state.users))
        m.mention_role_ids = list(dict.fromkeys(r for r in roles if r in self.state.roles))
        m.mention_everyone = everyone

    def interaction_metadata(self, i: Interaction) -> dict[str, Any]:
        """What a message answering ``i`` says about the interaction (``interaction_metadata``)."""
        data: dict[str, Any] = {
            "id": str(i.id),
            "type": i.type,
            "user": user_json(self.state.users[i.user_id]),
            "authorizing_integration_owners": i.payload.get("authorizing_integration_owners", {}),
        }
        if i.type == 2:
            data["name"] = i.data.get("name")
            data["command_type"] = i.data.get("type", 1)
        if i.message_id is not None:
            data["interacted_message_id"] = str(i.message_id)
        return data

    def validate_message(
        self,
        body: dict[str, Any],
        files: list[Attachment],
        *,
        editing: bool = False,
        kind: Kind | None = None,
        message: Message | None = None,
    ) -> None:
        """Refuses ``body`` as Discord would (``validation.messages``): 50035 with every finding, 413 for a file
        over the size limit, 50006 for an empty message. ``message``: the message an edit changes."""
        errors = FormErrors()
        current_flags = message.flags if message is not None else 0
        check_message(body, errors, kind=kind or ("edit" if editing else "message"), current_flags=current_flags)
        if message is not None and not current_flags & IS_COMPONENTS_V2:
            check_switch_to_v2(body, {"content": bool(message.content), "embeds": bool(message.embeds)}, errors)
        errors.raise_if_any()
        for f in files:
            if len(f.data) > ATTACHMENT_SIZE_LIMIT:
                raise ApiError(413, 40005, "Request entity too large")
        content, embeds, comps = body.get("content"), body.get("embeds"), body.get("components")
        if not editing and not (content or embeds or comps or files or body.get("sticker_ids") or body.get("poll")):
            raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")

    def create_message(
        self,
        channel: Channel,
        author_id: int,
        body: dict[str, Any],
        files: list[Attachment] | None = None,
        *,
        webhook: Webhook | None = None,
        application_id: int | None = None,
        interaction: Interaction | None = None,
        visible_to: int | None = None,
        type: int | None = None,
        dispatch: bool = True,
    ) -> Message:
        files = files or []
        kind: Kind = "webhook" if webhook else "interaction" if interaction else "message"
        self.validate_message(body, files, kind=kind)
        reference = body.get("message_reference")
        if reference:
            ref_id = int(reference["message_id"])
            ref = self.state.messages.get(ref_id)
            if ref is None or ref.deleted:
                if reference.get("fail_if_not_exists", True):
                    errors = FormErrors()
                    errors.add(["message_reference"], "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
                    raise errors.error()
                reference = None
            else:
                reference = {
                    "type": int(reference.get("type", 0)),
                    "message_id": str(ref_id),
                    "channel_id": str(ref.channel_id),
                    "guild_id": str(ref.guild_id) if ref.guild_id else None,
                }
        flags = settable_flags(body.get("flags"), kind)
        m = Message(
            id=self.state.snowflake(),
            channel_id=channel.id,
            author_id=author_id,
            guild_id=channel.guild_id,
            content=body.get("content") or "",
            embeds=[normalise_embed(e, files) for e in body.get("embeds") or []],
            components=normalise_components(body.get("components") or [], files),
            attachments=list(files),
            flags=flags,
            tts=bool(body.get("tts")),
            reference=reference,
            allowed_mentions=body.get("allowed_mentions"),
            nonce=body.get("nonce"),
            webhook_id=webhook.id if webhook else (application_id if interaction else None),
            webhook_username=body.get("username") if webhook else None,
            webhook_avatar_url=body.get("avatar_url") if webhook else None,
            application_id=application_id,
            visible_to=visible_to,
        )
        if type is not None:
            m.type = type
        elif reference and reference["type"] == 0:
            m.type = 19
        if interaction is not None:
            m.interaction_metadata = self.interaction_metadata(interaction)
        perms = None if channel.guild_id is None else self.state.permissions_in(channel, author_id)
        self.resolve_mentions(m, m.allowed_mentions, None if webhook or interaction else perms)
        self.state.messages[m.id] = m
        channel.message_ids.append(m.id)
        channel.last_message_id = m.id
        if channel.is_thread:
            channel.thread_members.add(author_id)
        if dispatch and visible_to is None:
            self.dispatch("MESSAGE_CREATE", self.message_event(m), guild_id=channel.guild_id)
        else:
            self.notify()
        return m

    def edit_message(
        self,
        m: Message,
        body: dict[str, Any],
        files: list[Attachment] | None = None,
        *,
        dispatch: bool = True,
    ) -> Message:
        files = files or []
        self.validate_message(body, files, editing=True, message=m)
        if "content" in body:
            m.content = body["content"] or ""
        known = m.attachments + files  # what ``attachment://`` may name: kept files and new ones
        if "embeds" in body:
            m.embeds = [normalise_embed(e, known) for e in body["embeds"] or []]
        if "components" in body:
            m.components = normalise_components(body["components"] or [], known)
        if "flags" in body and body["flags"] is not None:
            # SUPPRESS_EMBEDS can be set and unset, IS_COMPONENTS_V2 only set; other changes are ignored.
            m.flags = (m.flags & ~SUPPRESS_EMBEDS) | settable_flags(body["flags"], "edit")
        if "attachments" in body and body["attachments"] is not None:
            keep = {int(a["id"]) for a in body["attachments"] if "id" in a and str(a["id"]).isdigit()}
            m.attachments = [a for a in m.attachments if a.id in keep]
        m.attachments.extend(files)
        if "allowed_mentions" in body:
            m.allowed_mentions = body["allowed_mentions"]
        self.resolve_mentions(m, m.allowed_mentions)
        m.edited_timestamp = now()
        if dispatch and m.visible_to is None:
            self.dispatch("MESSAGE_UPDATE", self.message_event(m, update=True), guild_id=m.guild_id)
        else:
            self.notify()
        return m

    def delete_message(self, m: Message) -> None:
        m.deleted = True
        data: dict[str, Any] = {"id": str(m.id), "channel_id": str(m.channel_id)}
        if m.guild_id:
            data["guild_id"] = str(m.guild_id)
        if m.visible_to is None:
            self.dispatch("MESSAGE_DELETE", data, guild_id=m.guild_id)
        else:
            self.notify()

    def emoji_key(self, raw: str) -> str:
        """The key of a reaction's emoji: the unicode emoji, or ``name:id`` for a custom one (``a:name:id``
        marks it animated, remembered in :attr:`animated_emoji`)."""
        raw = unquote(raw)
        parts = raw.split(":")
        if len(parts) == 3:
            if parts[0] == "a":
                self.animated_emoji.add(f"{parts[1]}:{parts[2]}")
            return f"{parts[1]}:{parts[2]}"
        return raw

    def require_emoji(self, key: str) -> None:
        """400 10014 Unknown Emoji unless ``key`` is a unicode emoji or a custom ``name:id`` of a guild the bot is
        in (Discord: "The emoji must be URL Encoded or the request will fail with 10014: Unknown Emoji")."""
        name, colon, eid = key.partition(":")
        if colon:
            known = eid.isdigit() and any(
                int(eid) in g.emojis for g in self.state.guilds.values() if self.bot_user.id in g.members
            )
        else:
            known = looks_like_emoji(name)
        if not known:
            raise ApiError(400, UNKNOWN_EMOJI, "Unknown Emoji")

    def reaction_event(self, m: Message, user_id: int, key: str, *, added: bool) -> dict[str, Any]:
        """MESSAGE_REACTION_ADD / _REMOVE (developers/events/gateway-events.mdx): REMOVE has only ``user_id``,
        ``channel_id``, ``message_id``, ``guild_id``, ``emoji``, ``burst`` and ``type``; ADD adds ``member``,
        ``message_author_id`` and ``burst_colors``."""
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(m.channel_id),
            "message_id": str(m.id),
            "emoji": emoji_json(key, key in self.animated_emoji),
            "burst": False,
            "type": 0,
        }
        if m.guild_id:
            data["guild_id"] = str(m.guild_id)
        if not added:
            return data
        data["message_author_id"] = str(m.webhook_id if m.webhook_id and m.application_id is None else m.author_id)
        data["burst_colors"] = []
        if m.guild_id:
            member = self.state.guilds[m.guild_id].members.get(user_id)
            if member is not None:
                data["member"] = member_json(self.state, member)
        return data

    def add_reaction(self, m: Message, user_id: int, key: str) -> bool:
        users = m.reactions.setdefault(key, {})
        if user_id in users:
            return False
        users[user_id] = None
        if key in self.animated_emoji:
            m.animated_reactions.add(key)
        self.dispatch("MESSAGE_REACTION_ADD", self.reaction_event(m, user_id, key, added=True), guild_id=m.guild_id)
        return True

    def remove_reaction(self, m: Message, user_id: int, key: str) -> bool:
        users = m.reactions.get(key, {})
        if user_id not in users:
            return False
        del users[user_id]
        data = self.reaction_event(m, user_id, key, added=False)
        self.dispatch("MESSAGE_REACTION_REMOVE", data, guild_id=m.guild_id)
        return True

    def clear_reactions(self, m: Message, key: str | None = None) -> None:
        """Remove every reaction (MESSAGE_REACTION_REMOVE_ALL: ``channel_id``, ``message_id``, ``guild_id``) or
        every one of ``key`` (MESSAGE_REACTION_REMOVE_EMOJI: the same and ``emoji``)."""
        data: dict[str, Any] = {"channel_id": str(m.channel_id), "message_id": str(m.id)}
        if m.guild_id:
            data["guild_id"] = str(m.guild_id)
        if key is None:
            m.reactions.clear()
            self.dispatch("MESSAGE_REACTION_REMOVE_ALL", data, guild_id=m.guild_id)
            return
        m.reactions.pop(key, None)
        data["emoji"] = emoji_json(key, key in self.animated_emoji)
        self.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", data, guild_id=m.guild_id)
