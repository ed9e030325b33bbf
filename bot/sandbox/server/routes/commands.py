"""REST routes for application commands, global and per guild: list, bulk overwrite, create, read, edit, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox.server.http import (
    JSON_KEY,
    UNKNOWN_COMMAND,
    ApiError,
    Route,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.server.validation import FormErrors
from bot.sandbox.server.validation.commands import check_bulk, check_counts, check_permissions_string, check_single


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

    def _command(self, scope: int | None, data: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        """The stored command for a body that passed validation (``old``: the command it replaces)."""
        ctype = int(data.get("type") or 1)
        cmd = {
            "id": old["id"] if old else str(self.server.state.snowflake()),
            "application_id": str(self.server.application_id),
            "version": str(self.server.state.snowflake()),
            "type": ctype,
            "name": data["name"],
            "name_localizations": data.get("name_localizations"),
            # Context menus take no description; Discord gives back "" for them.
            "description": "" if ctype in (2, 3) else data.get("description") or "",
            "description_localizations": data.get("description_localizations"),
            "options": data.get("options") or [],
            # A permission bit set, always a string on the way out (Discord takes a number too).
            "default_member_permissions": check_permissions_string(
                FormErrors(), [], data.get("default_member_permissions")
            ),
            "dm_permission": data.get("dm_permission", True),
            "nsfw": bool(data.get("nsfw", False)),
            "contexts": data.get("contexts"),
            "integration_types": data.get("integration_types") or [0],
        }
        if scope is not None:
            cmd["guild_id"] = str(scope)
        return cmd

    async def h_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        table = self.server.state.commands.setdefault(scope, {})
        if request.method == "GET":
            if request.query.get("with_localizations", "").lower() in ("1", "true"):
                return json_response(list(table.values()))
            locale = _requester_locale(request)
            return json_response([_localized(c, locale) for c in table.values()])
        body = request[JSON_KEY]
        if request.method == "PUT":
            check_bulk(body, guild=scope is not None)
            new: dict[str, dict[str, Any]] = {}
            for data in body:
                key = _key(data)
                new[key] = self._command(scope, data, table.get(key))
            table.clear()
            table.update(new)
            self.server.notify()
            return json_response(list(table.values()))
        body = body or {}
        check_single(body, guild=scope is not None)
        key = _key(body)
        created = key not in table
        if created:
            check_counts(
                [*((c["type"], c["name"]) for c in table.values()), (int(body.get("type") or 1), body["name"])]
            )
        table[key] = self._command(scope, body, table.get(key))
        self.server.notify()
        return json_response(table[key], 201 if created else 200)

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
        # Fields given replace the stored ones; the type stays.
        merged = {**table[key], **(request[JSON_KEY] or {}), "type": table[key]["type"]}
        check_single(merged, guild=scope is not None)
        new_key = _key(merged)
        if new_key != key and new_key in table:
            errors = FormErrors()
            errors.add(["name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
            errors.raise_if_any()
        old = table.pop(key)
        table[new_key] = self._command(scope, merged, old)
        self.server.notify()
        return json_response(table[new_key])


def _key(data: dict[str, Any]) -> str:
    return f"{int(data.get('type') or 1)}:{data['name']}"


# Listing commands gives, unless ``with_localizations`` is set, each field's text in the requester's locale
# (``name_localized`` / ``description_localized``, left out when there is none) instead of the dictionaries
# (application-commands.mdx, "Retrieving localized commands"; the fallbacks from "Locale fallbacks").
LOCALE_FALLBACKS = {"en-US": "en-GB", "en-GB": "en-US", "es-419": "es-ES"}


def _requester_locale(request: web.Request) -> str:
    """``X-Discord-Locale``, else the first ``Accept-Language`` tag, else the user's setting (en-US here)."""
    locale = request.headers.get("X-Discord-Locale") or request.headers.get("Accept-Language", "").split(",")[0]
    return locale.split(";")[0].strip() or "en-US"


def _localized(item: dict[str, Any], locale: str) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in ("name_localizations", "description_localizations")}
    for field in ("name", "description"):
        table = item.get(f"{field}_localizations") or {}
        text = table.get(locale) or table.get(LOCALE_FALLBACKS.get(locale, ""))
        if text is not None:
            out[f"{field}_localized"] = text
    for nested in ("options", "choices"):
        if isinstance(item.get(nested), list):
            out[nested] = [_localized(x, locale) if isinstance(x, dict) else x for x in item[nested]]
    return out
