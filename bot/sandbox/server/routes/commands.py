"""REST routes for application commands, global and per guild: list, bulk overwrite, create, read, edit, delete."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.sandbox.server.http import (
    JSON_KEY,
    UNKNOWN_COMMAND,
    ApiError,
    Route,
    form_error,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup

COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


class CommandRoutes(RouteGroup):
    def table(self) -> list[Route]:
        app = "/applications/{application_id}"
        return [
            ("GET", app + "/commands", self.h_commands),
            ("PUT", app + "/commands", self.h_commands),
            ("POST", app + "/commands", self.h_commands),
            ("GET", app + "/commands/{command_id}", self.h_command),
            ("PATCH", app + "/commands/{command_id}", self.h_command),
            ("DELETE", app + "/commands/{command_id}", self.h_command),
            ("GET", app + "/guilds/{guild_id}/commands", self.h_commands),
            ("PUT", app + "/guilds/{guild_id}/commands", self.h_commands),
            ("POST", app + "/guilds/{guild_id}/commands", self.h_commands),
            ("GET", app + "/guilds/{guild_id}/commands/{command_id}", self.h_command),
            ("PATCH", app + "/guilds/{guild_id}/commands/{command_id}", self.h_command),
            ("DELETE", app + "/guilds/{guild_id}/commands/{command_id}", self.h_command),
        ]

    def _scope(self, request: web.Request) -> int | None:
        self.check_application(request)
        gid = request.match_info.get("guild_id")
        if gid is None:
            return None
        guild = self.guild(request)
        return guild.id

    def _upsert_command(
        self, scope: int | None, data: dict[str, Any], existing: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        name = data.get("name") or ""
        ctype = int(data.get("type") or 1)
        # Slash command names are one lowercase word; user and message commands (context menus) may be any 1-32
        # characters, spaces and capitals included ("Another take"), as Discord allows.
        valid = COMMAND_NAME.match(name) and name == name.lower() if ctype == 1 else 1 <= len(name.strip()) <= 32
        if not valid:
            raise form_error("name", f"Invalid command name {name!r}")
        if ctype == 1 and not 1 <= len(data.get("description") or "") <= 100:
            raise form_error("description", "Must be between 1 and 100 in length.")
        self._validate_options(data.get("options") or [], f"{name}.options")
        old = existing.get(f"{ctype}:{name}")
        cmd = {
            "id": old["id"] if old else str(self.server.state.snowflake()),
            "application_id": str(self.server.application_id),
            "version": str(self.server.state.snowflake()),
            "type": ctype,
            "name": name,
            "name_localizations": data.get("name_localizations"),
            "description": data.get("description") or "",
            "description_localizations": data.get("description_localizations"),
            "options": data.get("options") or [],
            "default_member_permissions": data.get("default_member_permissions"),
            "dm_permission": data.get("dm_permission", True),
            "nsfw": bool(data.get("nsfw", False)),
            "contexts": data.get("contexts"),
            "integration_types": data.get("integration_types") or [0],
        }
        if scope is not None:
            cmd["guild_id"] = str(scope)
        return cmd

    def _validate_options(self, options: list[dict[str, Any]], where: str) -> None:
        if len(options) > 25:
            raise form_error(where, "Must be 25 or fewer in length.")
        seen_optional = False
        for o in options:
            t = int(o.get("type", 0))
            if not 1 <= t <= 11:
                raise form_error(where, f"Unknown option type {t}")
            if not COMMAND_NAME.match(o.get("name") or ""):
                raise form_error(where, f"Invalid option name {o.get('name')!r}")
            if t in (1, 2):
                self._validate_options(o.get("options") or [], f"{where}.{o['name']}.options")
            elif o.get("required"):
                if seen_optional:
                    raise form_error(where, "Required options must be placed before non-required options")
            else:
                seen_optional = True

    async def h_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        table = self.server.state.commands.setdefault(scope, {})
        if request.method == "GET":
            return json_response(list(table.values()))
        body = request[JSON_KEY]
        if request.method == "PUT":
            if not isinstance(body, list):
                raise form_error("_", "Expected a list of commands")
            new: dict[str, dict[str, Any]] = {}
            for data in body:
                cmd = self._upsert_command(scope, data, table)
                new[f"{cmd['type']}:{cmd['name']}"] = cmd
            table.clear()
            table.update(new)
            self.server.notify()
            return json_response(list(table.values()))
        cmd = self._upsert_command(scope, body or {}, table)
        created = f"{cmd['type']}:{cmd['name']}" not in table
        table[f"{cmd['type']}:{cmd['name']}"] = cmd
        self.server.notify()
        return json_response(cmd, 201 if created else 200)

    async def h_command(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        table = self.server.state.commands.setdefault(scope, {})
        cid = request.match_info["command_id"]
        key = next((k for k, v in table.items() if v["id"] == cid), None)
        if key is None:
            raise ApiError(404, UNKNOWN_COMMAND, "Unknown application command")
        if request.method == "GET":
            return json_response(table[key])
        if request.method == "DELETE":
            del table[key]
            self.server.notify()
            return no_content()
        merged = {**table[key], **(request[JSON_KEY] or {})}
        del table[key]
        cmd = self._upsert_command(scope, merged, {key: {"id": cid}})
        table[f"{cmd['type']}:{cmd['name']}"] = cmd
        self.server.notify()
        return json_response(cmd)
