"""The real bot in tests: :func:`bot_on` starts a PersonaHubBot on a SQLite file, logged in to a sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import PersonaHubBot
from bot.config import load_settings
from bot.sandbox import Sandbox
from tests.fakes.model_server import FakeModelServer


@asynccontextmanager
async def bot_on(
    sandbox: Sandbox,
    path: Path,
    server: FakeModelServer | None = None,
    *,
    scheduler: bool = False,
    **settings: Any,
) -> AsyncIterator[PersonaHubBot]:
    """The real bot on the SQLite file ``path``, logged in to ``sandbox`` and ready; closed (cleanly) on exit.

    ``server``: the fake model server to use (None: the offline responder). ``scheduler``: run the job scheduler.
    Any other keyword is a setting (e.g. ``llm_timeout_seconds=1.5``)."""
    loaded = load_settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        scheduler_enabled=scheduler,
        discord_token=sandbox.token,
        llm_base_url=server.base_url if server is not None else None,
        llm_model="fake-model" if server is not None else None,
        **settings,
    )
    bot = PersonaHubBot(loaded)
    async with bot, sandbox.run_client(bot, timeout=30):
        yield bot
