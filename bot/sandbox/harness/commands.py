"""Acting as users with application commands: find the synced command, check a user may see it, and build the
interaction's options (with the ``resolved`` users, members, roles, channels and attachments) as Discord would."""

from __future__ import annotations

from typing import Any

from bot.sandbox.harness.results import InteractionHandle, Posted, SandboxError
from bot.sandbox.harness.world import SandboxWorld
from bot.sandbox.state import (
    Channel,
    Message,
    Role,
    User,
    attachment_json,
    channel_json,
    member_json,
    message_json,
    role_json,
    user_json,
)


class CommandActions(SandboxWorld):
    """The world plus ``slash``, ``message_command`` and ``autocomplete``."""

    def _find_command(self, name: str, channel: Channel) -> dict[str, Any]:
        tables = []
        if channel.guild_id is not None:
            tables.append(self.state.commands.get(channel.guild_id, {}))
        tables.append(self.state.commands.get(None, {}))
        for table in tables:
            cmd = table.get(f"1:{name}")
            if cmd is not None:
                return cmd
        known = sorted({c["name"] for t in tables for c in t.values() if c["type"] == 1})
        raise SandboxError(f"no slash command /{name} is synced here; known: {known}")

    def _check_command_visible(self, cmd: dict[str, Any], user: User, channel: Channel) -> None:
        required = cmd.get("default_member_permissions")
        if channel.guild_id is None:
            contexts = cmd.get("contexts")
            if (contexts is not None and 1 not in contexts) or cmd.get("dm_permission") is False:
                raise SandboxError(f"/{cmd['name']} is not available in DMs")
            return
        if required is not None:
            perms = self.state.permissions_in(channel, user.id)
            if perms & int(required) != int(required):
                raise SandboxError(f"{user.username} lacks the permissions /{cmd['name']} requires")

    def _resolve_path(
        self, command: str, channel: Channel
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """-> (command, option definitions of the leaf, data options list to fill, data root options)."""
        words = command.strip().lstrip("/").split()
        if not words:
            raise SandboxError("empty command")
        cmd = self._find_command(words[0], channel)
        defs: list[dict[str, Any]] = cmd.get("options") or []
        root: list[dict[str, Any]] = []
        target = root
        for word in words[1:]:
            sub = next((o for o in defs if o["name"] == word and o["type"] in (1, 2)), None)
            if sub is None:
                subs = [o["name"] for o in defs if o["type"] in (1, 2)]
                raise SandboxError(f"/{command}: no subcommand {word!r}; choices: {subs}")
            entry: dict[str, Any] = {"type": sub["type"], "name": word, "options": []}
            target.append(entry)
            target = entry["options"]
            defs = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in defs):
            subs = [o["name"] for o in defs if o["type"] in (1, 2)]
            raise SandboxError(f"/{command} needs a subcommand: {subs}")
        return cmd, defs, target, root

    def _option_value(
        self, opt: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]], channel: Channel
    ) -> Any:
        t, name = opt["type"], opt["name"]
        choices = opt.get("choices")
        if t == 3:
            value = str(value)
            if choices and value not in [c["value"] for c in choices]:
                raise SandboxError(f"option {name}: {value!r} is not one of {[c['value'] for c in choices]}")
            if len(value) < opt.get("min_length", 0) or len(value) > opt.get("max_length", 6000):
                raise SandboxError(f"option {name}: length {len(value)} out of range")
            return value
        if t in (4, 10):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise SandboxError(f"option {name} needs a number, not {value!r}")
            try:
                value = int(value) if t == 4 else float(value)
            except ValueError:
                raise SandboxError(f"option {name} needs a number, not {value!r}") from None
            if t == 4 and not -(2**53) < value < 2**53:
                raise SandboxError(f"option {name}: integer out of range")
            if ("min_value" in opt and value < opt["min_value"]) or ("max_value" in opt and value > opt["max_value"]):
                raise SandboxError(f"option {name}: {value} out of range")
            if choices and value not in [c["value"] for c in choices]:
                raise SandboxError(f"option {name}: {value!r} is not one of the choices")
            return value
        if t == 5:
            if not isinstance(value, bool):
                raise SandboxError(f"option {name} needs True/False")
            return value
        if t in (6, 9) and isinstance(value, User):
            resolved.setdefault("users", {})[str(value.id)] = user_json(value)
            if channel.guild_id is not None and value.id in self.guild.members:
                mj = member_json(self.state, self.state.guilds[channel.guild_id].members[value.id], with_user=False)
                mj["permissions"] = str(self.state.permissions_in(channel, value.id))
                resolved.setdefault("members", {})[str(value.id)] = mj
            return str(value.id)
        if t in (8, 9) and isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = role_json(value)
            return str(value.id)
        if t == 7 and isinstance(value, Channel):
            types = opt.get("channel_types")
            if types and value.type not in types:
                raise SandboxError(f"option {name}: channel type {value.type} not allowed ({types})")
            cj = channel_json(self.state, value)
            cj["permissions"] = str(self.state.permissions_in(value, self.bot_user.id))
            resolved.setdefault("channels", {})[str(value.id)] = cj
            return str(value.id)
        if t == 11 and isinstance(value, tuple):
            filename, data = value
            att = self.server.add_attachment(channel.id, filename, data)
            resolved.setdefault("attachments", {})[str(att.id)] = attachment_json(att)
            return str(att.id)
        raise SandboxError(f"option {name} (type {t}) cannot take {value!r}")

    def _build_options(
        self,
        command: str,
        defs: list[dict[str, Any]],
        given: dict[str, Any],
        channel: Channel,
        *,
        focused: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        by_name = {o["name"]: o for o in defs}
        unknown = set(given) - set(by_name)
        if unknown:
            raise SandboxError(f"/{command} has no option(s) {sorted(unknown)}; options: {sorted(by_name)}")
        resolved: dict[str, dict[str, Any]] = {}
        out = []
        for o in defs:
            if o["name"] == focused:
                out.append(
                    {
                        "type": o["type"],
                        "name": o["name"],
                        "value": str(given.get(o["name"], "")),
                        "focused": True,
                    }
                )
                continue
            if o["name"] not in given:
                if o.get("required") and focused is None:
                    raise SandboxError(f"/{command} needs option {o['name']!r}")
                continue
            value = self._option_value(o, given[o["name"]], resolved, channel)
            out.append({"type": o["type"], "name": o["name"], "value": value})
        return out, resolved

    async def slash(
        self,
        command: str,
        *,
        as_user: User | None = None,
        in_channel: Channel | None = None,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> InteractionHandle:
        """Run ``/command sub`` with options as keywords (``options=`` for any name, e.g. "user")."""
        user = as_user or self.alice
        channel = in_channel or self.general
        cmd, defs, target, root = self._resolve_path(command, channel)
        self._check_command_visible(cmd, user, channel)
        built, resolved = self._build_options(command, defs, {**(options or {}), **kwargs}, channel)
        target.extend(built)
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": root}
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        i = self.server.create_interaction(2, user, channel, data)
        return InteractionHandle(self, i, user, channel)

    async def message_command(
        self,
        name: str,
        message: Message | Posted,
        *,
        as_user: User | None = None,
    ) -> InteractionHandle:
        """Run the message command (context menu, Apps > ``name``) on ``message``, as Discord does: type 3, the
        message as ``target_id`` and in ``resolved.messages``."""
        user = as_user or self.alice
        m = self.state.messages[message.id]
        channel = self.state.channels[m.channel_id]
        if m.deleted or (m.visible_to is not None and m.visible_to != user.id):
            raise SandboxError(f"{user.username} cannot see message {m.id}")
        cmd = self._find_typed_command(3, name, channel)
        self._check_command_visible(cmd, user, channel)
        data: dict[str, Any] = {
            "id": cmd["id"],
            "name": cmd["name"],
            "type": 3,
            "target_id": str(m.id),
            "resolved": {"messages": {str(m.id): message_json(self.state, m)}},
        }
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        i = self.server.create_interaction(2, user, channel, data)
        return InteractionHandle(self, i, user, channel, source=m)

    def _find_typed_command(self, type_: int, name: str, channel: Channel) -> dict[str, Any]:
        tables = [self.state.commands.get(channel.guild_id, {})] if channel.guild_id is not None else []
        tables.append(self.state.commands.get(None, {}))
        for table in tables:
            cmd = table.get(f"{type_}:{name}")
            if cmd is not None:
                return cmd
        known = sorted({c["name"] for t in tables for c in t.values() if c["type"] == type_})
        raise SandboxError(f"no command {name!r} of type {type_} is synced here; known: {known}")

    async def autocomplete(
        self,
        command: str,
        focused: str,
        value: str = "",
        *,
        as_user: User | None = None,
        in_channel: Channel | None = None,
        options: dict[str, Any] | None = None,
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Type ``value`` into option ``focused``; returns the choices the bot offered."""
        user = as_user or self.alice
        channel = in_channel or self.general
        cmd, defs, target, root = self._resolve_path(command, channel)
        opt = next((o for o in defs if o["name"] == focused), None)
        if opt is None or not opt.get("autocomplete"):
            raise SandboxError(f"/{command} option {focused!r} does not autocomplete")
        given = {**(options or {}), **kwargs, focused: value}
        built, resolved = self._build_options(command, defs, given, channel, focused=focused)
        target.extend(built)
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": root}
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        i = self.server.create_interaction(4, user, channel, data)
        return await InteractionHandle(self, i, user, channel).choices(timeout)
