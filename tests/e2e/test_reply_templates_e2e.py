"""Reply templates end to end (issue 15, item 7): the real bot against the sandbox, models through the fake
OpenAI-compatible server. A template over the budget is refused by ``/behavior add``; one stored before the budget
silences no persona in the channel; a template is compiled once, not per message."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.db import models
from bot.sandbox import Sandbox
from bot.templating.behavior_templates import compilations
from tests.e2e.test_behaviors_e2e import add, behavior_count
from tests.e2e.test_conversation_e2e import answer_from, persona_in
from tests.fakes.model_server import FakeModelServer, reply
from tests.support.bots import bot_on

pytestmark = pytest.mark.e2e

FILTER_CHAIN = "{{ persona" + "|upper" * 160 + " }}"  # 973 characters: stalled the bot ~2 s per matching message
NESTED_NOTS = "{{ " + "not " * 240 + "persona }}"  # passed /behavior add, then silenced the channel


@pytest.mark.parametrize("template", [FILTER_CHAIN, NESTED_NOTS], ids=["filters", "nots"])
async def test_behavior_add_refuses_a_template_over_the_budget_in_a_sentence_and_stores_nothing(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer, template: str
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        handle = await sandbox.slash(
            "behavior add", persona=str(persona_id), name="Loud", trigger="keywords", trigger_value="hello",
            action="reply", action_value=template,
        )  # fmt: skip
        said = await handle.message(timeout=5)
        assert said.ephemeral
        assert said.content.startswith("The reply template is nested too deeply"), said.content
        assert await behavior_count(bot, persona_id) == 0


async def test_a_broken_stored_template_silences_neither_its_persona_nor_another_owners_persona(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    model_server.default = reply("Hello to you too.")
    async with bot_on(sandbox, database_file, model_server) as bot:
        ada = await persona_in(bot, sandbox, "Ada")
        await persona_in(bot, sandbox, "Grace", owner_id=sandbox.bob.id)
        # Stored as a row saved before the budget existed would be (today /behavior add refuses it).
        async with bot.db.transaction() as session:
            row = models.CustomBehavior(
                persona_id=ada, name="Old and broken", trigger_kind="keywords", trigger_config={"words": ["hello"]},
                action_kind="reply", action_config={"template": NESTED_NOTS}, enabled=True,
                created_at=datetime.now(UTC),
            )  # fmt: skip
            session.add(row)
            await session.flush()
            broken = row.id
        with caplog.at_level(logging.INFO):
            sent = await sandbox.send(sandbox.general, "Hello Ada and Grace!")
            from_ada = await answer_from(bot, sandbox, "Ada", after=sent.id)
            from_grace = await answer_from(bot, sandbox, "Grace", after=sent.id)
        assert from_ada.content == from_grace.content == "Hello to you too."
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(f"custom behaviour {broken} of persona {ada} is skipped" in text for text in warnings), warnings
        assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_reply_template_is_compiled_when_added_and_not_again_for_each_message(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        before = compilations()
        said = await add(
            sandbox, persona_id, name="Night", trigger="keywords", trigger_value="goodnight",
            action="reply", action_value="Sleep well, {{ author }}! {{ persona|upper }} keeps watch (e2e).",
        )  # fmt: skip
        assert "Added **Night**" in said
        assert compilations() == before + 1
        last = None
        for _ in range(3):
            await sandbox.send(sandbox.general, "Goodnight Ada")
            last = await answer_from(bot, sandbox, after=last.id if last is not None else None)
            assert last.content == "Sleep well, Alice! ADA keeps watch (e2e)."
        assert compilations() == before + 1
        assert not model_server.requests  # the template answered each time, not the model
