"""``/lore add | list | edit | test | remove`` and lore in chat, end to end: the real bot against the sandbox, the
model through the fake OpenAI-compatible server, which records each request."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import models
from bot.sandbox import Sandbox
from tests.e2e.test_conversation_e2e import answer_from, persona_in, system_prompt
from tests.fakes.model_server import FakeModelServer, reply
from tests.support.bots import bot_on

pytestmark = pytest.mark.e2e


async def entries(bot: object) -> int:
    async with bot.db.session() as session:  # type: ignore[attr-defined]
        return int((await session.execute(select(func.count()).select_from(models.LoreEntryRow))).scalar_one())


async def test_a_lore_entry_added_by_command_reaches_the_model(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.default = reply("The dragon? It sleeps.")
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        added = await (
            await sandbox.slash(
                "lore add", scope="persona", persona=str(persona_id), keys="dragon, wyrm",
                content="The dragon Vermithrax sleeps under the mountain.", name="Vermithrax",
            )
        ).message(timeout=5)  # fmt: skip
        assert added.ephemeral and "Added lore entry" in added.content and "Vermithrax" in added.content
        listed = await (await sandbox.slash("lore list", scope="persona", persona=str(persona_id))).message(timeout=5)
        assert "Vermithrax" in listed.embeds[0]["fields"][0]["name"]
        tested = await (
            await sandbox.slash("lore test", scope="persona", persona=str(persona_id), text="Where is the wyrm?")
        ).message(timeout=5)
        assert "Would fire" in tested.content and "wyrm" in tested.content

        await sandbox.send(sandbox.general, "Ada, have you seen the dragon?")
        await answer_from(bot, sandbox)
        assert "Vermithrax sleeps under the mountain" in system_prompt(model_server.requests[-1])

        # Bob cannot touch Alice's persona's lore; a catastrophic pattern is refused; nothing changes.
        refused = await (
            await sandbox.slash("lore add", scope="persona", persona=str(persona_id), keys="x", content="y",
                                as_user=sandbox.bob)
        ).message(timeout=5)  # fmt: skip
        assert refused.ephemeral
        bad = await (
            await sandbox.slash("lore add", scope="persona", persona=str(persona_id), keys="(a+)+$", content="y",
                                regex=True)
        ).message(timeout=5)  # fmt: skip
        assert bad.ephemeral and "refused" in bad.content
        assert await entries(bot) == 1


async def test_server_lore_needs_manage_server(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        said = await (
            await sandbox.slash("lore add", scope="server", keys="elf", content="Elves live here.", as_user=sandbox.bob)
        ).message(timeout=5)
        assert said.ephemeral and "Manage Server" in said.content
        assert await entries(bot) == 0
