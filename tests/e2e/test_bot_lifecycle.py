"""The real bot's life against the sandbox: it syncs its command tree only when the tree changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import PersonaHubBot
from bot.config import load_settings
from bot.sandbox import Sandbox

pytestmark = pytest.mark.e2e


async def _start_and_stop(sandbox: Sandbox, settings) -> PersonaHubBot:
    bot = PersonaHubBot(settings)
    async with bot, sandbox.run_client(bot, timeout=30):
        assert bot.is_ready()
    return bot


async def test_commands_are_synced_once_and_again_only_after_a_change(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db", scheduler_enabled=False, discord_token=sandbox.token
    )

    def bulk_overwrites() -> int:
        return len([r for r in sandbox.requests("PUT") if r.path.endswith("/commands")])

    await _start_and_stop(sandbox, settings)
    assert bulk_overwrites() == 1
    assert "about" in {c["name"] for c in sandbox.commands()}

    await _start_and_stop(sandbox, settings)  # same tree: Discord already has it
    assert bulk_overwrites() == 1

    # When what Discord has differs from the local tree, the bot syncs again.
    for command in list(sandbox.commands()):
        if command["name"] == "about":
            command["description"] = "an older description"
    changed = bulk_overwrites()
    await _start_and_stop(sandbox, settings)
    assert bulk_overwrites() == changed + 1


async def test_dev_guild_sync_goes_to_that_guild_only(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        scheduler_enabled=False,
        discord_token=sandbox.token,
        dev_guild_id=sandbox.guild.id,
    )
    await _start_and_stop(sandbox, settings)
    puts = [r.path for r in sandbox.requests("PUT") if r.path.endswith("/commands")]
    assert puts and all(f"/guilds/{sandbox.guild.id}/commands" in p for p in puts)
    assert "about" in {c["name"] for c in sandbox.commands(guild=sandbox.guild)}
    assert "about" not in {c["name"] for c in sandbox.commands()}
