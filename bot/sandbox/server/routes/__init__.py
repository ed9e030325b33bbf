"""The sandbox's REST routes, one module per kind of resource; :func:`route_table` assembles them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.sandbox.server.http import Route
from bot.sandbox.server.routes.channels import ChannelRoutes
from bot.sandbox.server.routes.commands import CommandRoutes
from bot.sandbox.server.routes.entitlements import EntitlementRoutes
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.server.routes.guilds import GuildRoutes
from bot.sandbox.server.routes.interactions import InteractionRoutes
from bot.sandbox.server.routes.messages import MessageRoutes
from bot.sandbox.server.routes.reactions import ReactionRoutes
from bot.sandbox.server.routes.users import UserRoutes
from bot.sandbox.server.routes.webhooks import WebhookRoutes

if TYPE_CHECKING:
    from bot.sandbox.server.app import SandboxServer

GROUPS: tuple[type[RouteGroup], ...] = (
    UserRoutes,
    GuildRoutes,
    ChannelRoutes,
    MessageRoutes,
    ReactionRoutes,
    WebhookRoutes,
    InteractionRoutes,
    CommandRoutes,
    EntitlementRoutes,
)


def route_table(server: SandboxServer) -> list[Route]:
    """Every (method, template, handler) the sandbox serves under ``/api/v10``."""
    return [route for group in GROUPS for route in group(server).table()]
