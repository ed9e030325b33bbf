"""REST routes for SKUs and entitlements: list, create a test entitlement, read, delete, consume."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.server.http import (
    JSON_KEY,
    UNKNOWN_ENTITLEMENT,
    UNKNOWN_GUILD,
    UNKNOWN_USER,
    ApiError,
    Route,
    form_error,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.state import (
    Entitlement,
    entitlement_json,
    now,
    sku_json,
)


class EntitlementRoutes(RouteGroup):
    def table(self) -> list[Route]:
        app = "/applications/{application_id}"
        return [
            ("GET", app + "/skus", self.h_skus),
            ("GET", app + "/entitlements", self.h_entitlements),
            ("POST", app + "/entitlements", self.h_create_entitlement),
            ("GET", app + "/entitlements/{entitlement_id}", self.h_entitlement),
            ("DELETE", app + "/entitlements/{entitlement_id}", self.h_entitlement),
            ("POST", app + "/entitlements/{entitlement_id}/consume", self.h_consume),
        ]

    async def h_skus(self, request: web.Request) -> web.Response:
        self.check_application(request)
        return json_response([sku_json(self.server.application_id, s) for s in self.server.state.skus.values()])

    async def h_entitlements(self, request: web.Request) -> web.Response:
        self.check_application(request)
        q = request.query
        out = sorted(self.server.state.entitlements.values(), key=lambda e: e.id)
        if "user_id" in q:
            out = [e for e in out if e.user_id == int(q["user_id"])]
        if "guild_id" in q:
            out = [e for e in out if e.guild_id == int(q["guild_id"])]
        if q.get("sku_ids"):
            skus = {int(s) for s in q["sku_ids"].split(",")}
            out = [e for e in out if e.sku_id in skus]
        if q.get("exclude_ended", "0") in ("1", "true"):
            out = [e for e in out if not (e.ends_at and e.ends_at <= now())]
        if q.get("exclude_deleted", "1") in ("1", "true"):
            out = [e for e in out if not e.deleted]
        if "before" in q:
            out = [e for e in out if e.id < int(q["before"])]
        if "after" in q:
            out = [e for e in out if e.id > int(q["after"])]
        limit = int(q.get("limit", 100))
        out = out[-limit:] if "before" in q else out[:limit]
        return json_response([entitlement_json(self.server.application_id, e) for e in out])

    async def h_create_entitlement(self, request: web.Request) -> web.Response:
        self.check_application(request)
        body = request[JSON_KEY] or {}
        sku = self.server.state.skus.get(int(body.get("sku_id") or 0))
        if sku is None:
            raise ApiError(404, 10070, "Unknown SKU")
        owner = int(body.get("owner_id") or 0)
        owner_type = int(body.get("owner_type") or 0)
        if owner_type == 1:
            if owner not in self.server.state.guilds:
                raise ApiError(404, UNKNOWN_GUILD, "Unknown Guild")
            e = self.server.make_entitlement(sku, guild_id=owner)
        elif owner_type == 2:
            if owner not in self.server.state.users:
                raise ApiError(404, UNKNOWN_USER, "Unknown User")
            e = self.server.make_entitlement(sku, user_id=owner)
        else:
            raise form_error("owner_type", "Must be 1 (guild) or 2 (user).")
        return json_response(entitlement_json(self.server.application_id, e))

    def _entitlement(self, request: web.Request) -> Entitlement:
        self.check_application(request)
        try:
            return self.server.state.entitlements[int(request.match_info["entitlement_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_ENTITLEMENT, "Unknown Entitlement") from None

    async def h_entitlement(self, request: web.Request) -> web.Response:
        e = self._entitlement(request)
        if request.method == "GET":
            return json_response(entitlement_json(self.server.application_id, e))
        if e.type != 4 or e.deleted:
            raise ApiError(404, UNKNOWN_ENTITLEMENT, "Unknown Entitlement")
        e.deleted = True
        self.server.entitlement_event("ENTITLEMENT_DELETE", e)
        return no_content()

    async def h_consume(self, request: web.Request) -> web.Response:
        e = self._entitlement(request)
        sku = self.server.state.skus.get(e.sku_id)
        if sku is None or sku.type != 3:
            raise ApiError(400, 40074, "Only consumable entitlements can be consumed")
        e.consumed = True
        self.server.entitlement_event("ENTITLEMENT_UPDATE", e)
        return no_content()
