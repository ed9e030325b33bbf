"""Domain operations on interactions: start one as a user would (``INTERACTION_CREATE``), look one up by token,
and answer one (the callback types 4-9, deferred "thinking" placeholders and filling them)."""

from __future__ import annotations

import asyncio
import base64
import secrets
from typing import Any

from bot.sandbox.server.http import (
    ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_WEBHOOK,
    ApiError,
)
from bot.sandbox.server.messaging import MessagingServer
from bot.sandbox.server.validation import FormErrors
from bot.sandbox.server.validation.callbacks import check_callback
from bot.sandbox.server.validation.layouts import IS_COMPONENTS_V2
from bot.sandbox.server.validation.modals import check_modal
from bot.sandbox.state import (
    ATTACHMENT_SIZE_LIMIT,
    Attachment,
    Channel,
    Interaction,
    Message,
    User,
    channel_json,
    entitlement_json,
    member_json,
    message_json,
    user_json,
)

# What a channel in an interaction's ``data.resolved`` carries (receiving-and-responding.mdx, "Resolved Data
# Structure"): a partial channel; threads add ``thread_metadata``.
RESOLVED_CHANNEL_FIELDS = frozenset(
    "id name type permissions last_message_id last_pin_timestamp nsfw parent_id guild_id flags rate_limit_per_user "
    "topic position thread_metadata".split()
)
# Members there are partial: no ``user``, ``deaf`` or ``mute``.
RESOLVED_MEMBER_DROPPED = frozenset({"user", "deaf", "mute"})


class InteractingServer(MessagingServer):
    """The message operations plus the interaction operations."""

    def create_interaction(
        self,
        type: int,
        user: User,
        channel: Channel,
        data: dict[str, Any],
        *,
        message: Message | None = None,
        trigger: Interaction | None = None,
    ) -> Interaction:
        """Starts an interaction as Discord would send it (``trigger``: for a modal submit, the interaction whose
        answer opened the modal)."""
        state = self.state
        data = self._partial_resolved(data, user)
        iid = state.snowflake()
        # Shaped like Discord's: base64 of "interaction:<id>:<secret>", URL-safe, no padding.
        raw = f"interaction:{iid}:{secrets.token_urlsafe(48)}".encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        i = Interaction(
            id=iid,
            token=token,
            type=type,
            user_id=user.id,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            data=data,
            created=asyncio.get_running_loop().time(),
            message_id=message.id if message else None,
            trigger_id=trigger.id if trigger else None,
        )
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": type,
            "data": data,
            "channel_id": str(channel.id),
            "channel": self._interaction_channel_json(channel, user.id),
            "token": token,
            "version": 1,
            "locale": "en-US",
            "app_permissions": str(state.permissions_in(channel, self.bot_user.id)),
            "entitlements": [
                entitlement_json(self.application_id, e) for e in state.find_entitlements(user.id, channel.guild_id)
            ],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if channel.guild_id is not None:
            guild = state.guilds[channel.guild_id]
            member = guild.members[user.id]
            mj = member_json(state, member)
            mj["permissions"] = str(state.permissions_in(channel, user.id))
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                member=mj,
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(user=user_json(user), authorizing_integration_owners={"0": "0"}, context=1)
        if message is not None:
            payload["message"] = message_json(state, message)
        i.payload = payload
        state.interactions[iid] = i
        state.interactions_by_token[token] = i
        self.dispatch("INTERACTION_CREATE", payload, guild_id=channel.guild_id)
        return i

    def _interaction_channel_json(self, channel: Channel, user_id: int) -> dict[str, Any]:
        data = channel_json(self.state, channel)
        if channel.guild_id is not None:
            data["permissions"] = str(self.state.permissions_in(channel, user_id))
        return data

    def interaction_for_token(self, token: str) -> Interaction:
        i = self.state.interactions_by_token.get(token)
        if i is None:
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        if asyncio.get_running_loop().time() - i.created > self.interaction_token_ttl:
            raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        return i

    def _partial_resolved(self, data: dict[str, Any], user: User) -> dict[str, Any]:
        """``data`` with its ``resolved`` objects as partial as Discord sends them: members without ``user``,
        ``deaf`` and ``mute``; channels with the partial fields only, ``permissions`` being the invoking user's."""
        resolved = data.get("resolved")
        if not resolved:
            return data
        out = dict(resolved)
        if "members" in out:
            out["members"] = {
                k: {f: v for f, v in m.items() if f not in RESOLVED_MEMBER_DROPPED} for k, m in out["members"].items()
            }
        if "channels" in out:
            channels = {}
            for cid, c in out["channels"].items():
                partial = {f: v for f, v in c.items() if f in RESOLVED_CHANNEL_FIELDS}
                target = self.state.channels.get(int(cid))
                if target is not None and target.guild_id is not None:
                    partial["permissions"] = str(self.state.permissions_in(target, user.id))
                channels[cid] = partial
            out["channels"] = channels
        return {**data, "resolved": out}

    def interaction_metadata(self, i: Interaction) -> dict[str, Any]:
        """A message's ``interaction_metadata`` (message.mdx, "Message Interaction Metadata Object"): the documented
        fields of the interaction's kind, nothing more."""
        data: dict[str, Any] = {
            "id": str(i.id),
            "type": i.type,
            "user": user_json(self.state.users[i.user_id]),
            "authorizing_integration_owners": i.payload.get("authorizing_integration_owners", {}),
        }
        if i.response_type is not None and i.original_message_id is not None:
            data["original_response_message_id"] = str(i.original_message_id)  # on follow-ups only
        target = i.data.get("target_id")
        if i.type == 2 and target is not None and i.data.get("type") == 2:
            users = (i.data.get("resolved") or {}).get("users") or {}
            data["target_user"] = users.get(str(target))
        elif i.type == 2 and target is not None and i.data.get("type") == 3:
            data["target_message_id"] = str(target)
        elif i.type == 3 and i.message_id is not None:
            data["interacted_message_id"] = str(i.message_id)
        elif i.type == 5 and i.trigger_id in self.state.interactions:
            data["triggering_interaction_metadata"] = self.interaction_metadata(self.state.interactions[i.trigger_id])
        return data

    def interaction_callback(self, i: Interaction, body: dict[str, Any], files: list[Attachment]) -> dict[str, Any]:
        """Answers ``i``; returns the interaction callback response (``with_response``)."""
        loop_now = asyncio.get_running_loop().time()
        if i.response_type is not None:
            raise ApiError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        if loop_now - i.created > self.interaction_deadline:
            i.error = "late"
            self.notify()
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        check_callback(body, i.type, i.data, from_message=i.message_id is not None)
        rtype = int(body["type"])
        data = body.get("data") or {}
        if rtype == 9:
            errors = FormErrors()
            check_modal(data, errors)
            errors.raise_if_any()
        result: dict[str, Any] = {
            "interaction": {
                "id": str(i.id),
                "type": i.type,
                "response_message_loading": rtype == 5,
                "response_message_ephemeral": False,
            }
        }
        # Messages (4, 7) are checked by validate_message inside create_message / edit_message, before any change.
        message = self._answer(i, rtype, data, files, result["interaction"])
        i.response_type = rtype
        i.response_data = data
        result["resource"] = {"type": rtype}
        if message is not None and rtype in (4, 7):
            # The resource's message is there for CHANNEL_MESSAGE_WITH_SOURCE and UPDATE_MESSAGE only.
            result["resource"]["message"] = message_json(self.state, message)
        self.notify()
        return result

    def _answer(
        self, i: Interaction, rtype: int, data: dict[str, Any], files: list[Attachment], said: dict[str, Any]
    ) -> Message | None:
        """Does what callback ``rtype`` does; fills ``said`` (the callback object) with the response message."""
        channel = self.state.channels[i.channel_id]
        if rtype in (4, 5):
            ephemeral = bool(int(data.get("flags") or 0) & 64)
            if rtype == 5:
                # A placeholder ("is thinking..."), filled by the first follow-up or @original edit.
                message = self._create_loading(channel, i, ephemeral)
            else:
                ref = self._command_target(i)
                if ref is not None:
                    data = {
                        **data,
                        "message_reference": {"message_id": ref["message_id"], "fail_if_not_exists": False},
                    }
                message = self.create_message(
                    channel,
                    self.bot_user.id,
                    data,
                    files,
                    application_id=self.application_id,
                    interaction=i,
                    visible_to=i.user_id if ephemeral else None,
                    type=20 if i.type == 2 else 0,
                )
            i.ephemeral = ephemeral
            i.original_message_id = message.id
            i.original_filled = rtype == 4
            said["response_message_id"] = str(message.id)
            said["response_message_ephemeral"] = ephemeral
            return message
        if rtype in (6, 7):
            assert i.message_id is not None  # 6 and 7 need a message (checked by check_callback)
            target = self.state.messages[i.message_id]
            if rtype == 7:
                target = self.edit_message(target, data, files)
                said["response_message_id"] = str(target.id)
            i.original_message_id = i.message_id
            i.original_filled = True
            i.ephemeral = target.ephemeral
            return target
        return None

    def _command_target(self, i: Interaction) -> dict[str, Any] | None:
        """For a message command, a reference to the message it ran on: the original response points to it
        (message.mdx, "Application Command Interaction Metadata Structure", ``target_message_id``)."""
        if i.type != 2 or i.data.get("type") != 3 or i.data.get("target_id") is None:
            return None
        target = self.state.messages.get(int(i.data["target_id"]))
        if target is None or target.deleted:
            return None
        return {
            "type": 0,
            "message_id": str(target.id),
            "channel_id": str(target.channel_id),
            "guild_id": str(target.guild_id) if target.guild_id else None,
        }

    def _create_loading(self, channel: Channel, i: Interaction, ephemeral: bool) -> Message:
        m = Message(
            id=self.state.snowflake(),
            channel_id=channel.id,
            author_id=self.bot_user.id,
            guild_id=channel.guild_id,
            flags=128 | (64 if ephemeral else 0),
            webhook_id=self.application_id,
            application_id=self.application_id,
            visible_to=i.user_id if ephemeral else None,
            type=20 if i.type == 2 else 0,
        )
        m.interaction_metadata = self.interaction_metadata(i)
        m.reference = self._command_target(i)
        self.state.messages[m.id] = m
        channel.message_ids.append(m.id)
        if m.visible_to is None:
            self.dispatch("MESSAGE_CREATE", self.message_event(m), guild_id=channel.guild_id)
        return m

    def fill_deferred(self, i: Interaction, body: dict[str, Any], files: list[Attachment]) -> Message:
        assert i.original_message_id is not None  # a deferred response made the placeholder
        m = self.state.messages[i.original_message_id]
        self.validate_message(body, files)
        m.flags &= ~128
        # The placeholder keeps whether it is ephemeral; a Components V2 body makes it a V2 message.
        m.flags |= int(body.get("flags") or 0) & IS_COMPONENTS_V2
        i.original_filled = True
        body = {k: v for k, v in body.items() if k != "flags"}
        return self.edit_message(m, body, files)
