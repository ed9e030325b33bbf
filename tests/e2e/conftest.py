"""Sandbox fixtures: a started sandbox, plain discord.py clients against it, and the real bot.

The sandbox runs in the test's own event loop; discord.py is pointed at it for the test's duration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.ext import commands

from bot.app import PersonaHubBot
from bot.config import load_settings
from bot.sandbox import Sandbox
from tests.conftest import _empty_all_tables
from tests.fakes.model_server import FakeModelServer

ClientFactory = Callable[..., Any]


def all_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    return intents


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bot's SQLite file, in a working folder of its own (so no developer's .env is read)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "bot.db"


@pytest.fixture
async def model_server() -> AsyncIterator[FakeModelServer]:
    """The OpenAI-compatible fake model server on loopback."""
    async with FakeModelServer() as server:
        yield server


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A started sandbox: guild "Sandbox" (#general, #personas), humans alice and bob, the bot user."""
    sb = Sandbox()
    await sb.start()
    try:
        yield sb
    finally:
        await sb.stop()


@pytest.fixture
async def discord_client(sandbox: Sandbox) -> AsyncIterator[Callable[..., Any]]:
    """``await discord_client(commands.Bot(...))`` starts a client, waits until it is ready, and closes it later.

    With no argument it makes a ``commands.Bot`` with every intent the sandbox models.
    """
    async with AsyncExitStack() as stack:

        async def start(client: discord.Client | None = None, **kwargs: Any) -> Any:
            if client is None:
                client = commands.Bot(command_prefix="!", intents=all_intents(), **kwargs)
            return await stack.enter_async_context(sandbox.run_client(client))

        yield start


@pytest.fixture
async def running_bot(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    """The real PersonaHubBot with a temporary SQLite database, logged in to the sandbox and ready."""
    from bot.app import PersonaHubBot
    from bot.config import load_settings

    monkeypatch.chdir(tmp_path)  # no developer .env
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        scheduler_enabled=True,
        discord_token=sandbox.token,
    )
    bot = PersonaHubBot(settings)
    async with bot, sandbox.run_client(bot, timeout=30):
        yield bot


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)  # no developer .env
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    else:
        yield request.getfixturevalue("migrated_postgres")


@pytest.fixture
async def bot(sandbox: Sandbox, database_url: str, model_server: FakeModelServer) -> AsyncIterator[PersonaHubBot]:
    """The real bot on ``database_url``, in the sandbox, answering through the fake model server (no scheduler);
    a test file may define its own ``bot``."""
    settings = load_settings(
        database_url=database_url,
        scheduler_enabled=False,
        discord_token=sandbox.token,
        llm_base_url=model_server.base_url,
        llm_model="fake-model",
    )
    client = PersonaHubBot(settings)
    async with client, sandbox.run_client(client, timeout=30):
        try:
            yield client
        finally:
            if client.db.kind == "postgresql":
                await _empty_all_tables(client.db)
