"""The real PersonaHubBot against the sandbox: it logs in, syncs its commands and answers /about."""

from __future__ import annotations

import pytest

from bot import __version__
from bot.sandbox import Sandbox

pytestmark = pytest.mark.e2e


async def test_real_bot_syncs_commands_and_answers_about(sandbox: Sandbox, running_bot) -> None:
    assert running_bot.is_ready() and running_bot.user.id == sandbox.bot_user.id
    assert "about" in {c["name"] for c in sandbox.commands()}
    # The sharded bot asked the gateway for its shard count, as on Discord.
    assert sandbox.requests("GET", "/gateway/bot")

    h = await sandbox.slash("about")
    answer = await h.message(timeout=10)
    assert answer.ephemeral and answer.message.visible_to == sandbox.alice.id
    embed = answer.embeds[0]
    assert embed["title"] == "Persona Hub"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Version"] == __version__ and fields["Database"] == "SQLite"
    # Nobody else sees an ephemeral answer.
    assert answer.id not in [p.id for p in sandbox.history(as_user=sandbox.bob)]
