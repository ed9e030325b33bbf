"""The sandbox's aiohttp application: Discord's REST API v10 under ``/api/v10``, the Gateway, and attachments.

:class:`SandboxServer` is the server core with the domain operations (messages, reactions, interactions;
:mod:`.core`, :mod:`.messaging`, :mod:`.interacting`) that both the REST handlers (:mod:`.routes`) and the test
harness use, so what a test does as a user and what the bot does through discord.py go through one code path.
"""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.server.http import API_PREFIX
from bot.sandbox.server.interacting import InteractingServer
from bot.sandbox.server.middleware import api_middleware, unknown_route
from bot.sandbox.server.routes import route_table


class SandboxServer(InteractingServer):
    """State + gateway + REST. ``await start()`` binds 127.0.0.1 on ``port`` (0: any free port)."""

    def __init__(self, *, token: str = "sandbox-token", bot_name: str = "Persona Hub") -> None:
        super().__init__(token=token, bot_name=bot_name)
        self.routes: list[tuple[str, str]] = []
        self.app = self._build_app()

    # ----- lifecycle -----

    async def start(self, port: int = 0) -> None:
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, port, reuse_address=True)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        for c in list(self.gateway.connections):
            await c.ws.close(code=1001, message=b"sandbox shutting down")
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    # ----- app construction -----

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[api_middleware(self)], client_max_size=64 * 1024 * 1024)
        r = app.router
        r.add_get("/gateway", self.gateway.handle)
        r.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._get_attachment)
        for method, template, handler in route_table(self):
            r.add_route(method, API_PREFIX + template, handler, name=None)
            self.routes.append((method, template))
        r.add_route("*", API_PREFIX + "/{tail:.*}", unknown_route)
        return app

    async def _get_attachment(self, request: web.Request) -> web.Response:
        try:
            a = self.attachments[int(request.match_info["attachment_id"])]
        except (KeyError, ValueError):
            raise web.HTTPNotFound() from None
        return web.Response(body=a.data, headers={"Content-Type": a.content_type or "application/octet-stream"})
